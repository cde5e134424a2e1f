// Coherence lag: how long after a foreign write the listener of a watching
// backend (what a tier's L1 drops its copy on) hears of it, p50 and p99,
// beside the anchor of one round trip of that write itself; and what the
// SQLite change log costs a writer.
//
//   redis:  a RedisBackend with watch_changes() (client tracking, BCAST,
//           its own redis-server on loopback); a plain hiredis client, as
//           redis-cli would be, SETs a key under the prefix. Lag is from
//           just before the SET is sent to changed(key) in the listener;
//           "after ack" is from the writer's +OK to changed(key), the
//           window in which a reader could still see its old copy after the
//           writer was told it is done (negative: the invalidation came
//           first). Anchor: the SET's own round trip.
//   sqlite: two handles on one file; one watches (change_poll_ms 10, the
//           default, and 1), the other sets at random points of the poll
//           period. Lag from the set's return to changed(key).
//   sqlite set cost: set throughput on a file with the change log (some
//           process watches) against one without, in paired interleaved
//           rounds, median of the per-round ratios.
//
// Usage: coherence_lag [samples, default 2000] [rounds, default 7]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <hiredis.h>

#include "backends/factories.h"
#include "core/config.h"
#include "support/server_process.h"

namespace {

using Clock = std::chrono::steady_clock;

double us_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double, std::micro>(b - a).count();
}

void print_load()
{
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) == 3)
        std::printf("load average: %.2f %.2f %.2f (%u cores)\n", load[0], load[1], load[2],
                    std::thread::hardware_concurrency());
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t i = size_t(p * double(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

// Records when it hears of `want`.
class LagListener : public unicache::ChangeListener {
public:
    void expect(const std::string &key)
    {
        std::lock_guard<std::mutex> lock(mu_);
        want_ = key;
        heard_ = false;
    }
    // The time changed(want) arrived; false after timeout.
    bool wait(Clock::time_point *at, std::chrono::milliseconds timeout)
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, timeout, [&] { return heard_; }))
            return false;
        *at = at_;
        return true;
    }
    void changed(unicache::Bytes key) override
    {
        auto now = Clock::now();
        std::lock_guard<std::mutex> lock(mu_);
        if (!heard_ && key == want_) {
            heard_ = true;
            at_ = now;
            cv_.notify_all();
        }
    }
    void changed_all() override {}
    void notifications_live(bool live) override { live_ = live; }
    bool live() const { return live_; }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::string want_;
    bool heard_ = false;
    Clock::time_point at_;
    std::atomic<bool> live_{false};
};

std::unique_ptr<unicache::Backend> open_backend(const std::string &uri, const std::string &prefix)
{
    unicache::Config c = unicache::Config::parse(uri);
    c.prefix = prefix;
    auto b =
        c.scheme == "redis" ? unicache::make_redis_backend(c) : unicache::make_sqlite_backend(c);
    c.params.finish(c.scheme);
    return b;
}

void report(const char *what, const std::vector<double> &us, size_t missed)
{
    std::printf("  %-34s p50 %8.3f ms   p99 %8.3f ms   max %8.3f ms   (%zu samples, %zu missed)\n",
                what, percentile(us, 0.5) / 1000, percentile(us, 0.99) / 1000,
                percentile(us, 1.0) / 1000, us.size(), missed);
}

void redis_lag(size_t samples)
{
    unicache_test::ServerProcess server = unicache_test::ServerProcess::redis();
    server.start();
    std::string uri = "redis://127.0.0.1:" + std::to_string(server.port());
    LagListener l;
    auto b = open_backend(uri, "lag:");
    if (!b->watch_changes(&l) || !l.live()) {
        std::fprintf(stderr, "redis: watch_changes failed\n");
        std::exit(1);
    }
    redisContext *w = redisConnect("127.0.0.1", server.port());
    if (!w || w->err) {
        std::fprintf(stderr, "redis: cannot connect the writer\n");
        std::exit(1);
    }
    std::vector<double> lag, after_ack, round_trip;
    size_t missed = 0;
    for (size_t i = 0; i < samples; i++) {
        std::string key = "lag:k" + std::to_string(i % 64);
        std::string value = std::to_string(i);
        l.expect(key);
        auto t0 = Clock::now();
        auto *r = static_cast<redisReply *>(
            redisCommand(w, "SET %b %b", key.data(), key.size(), value.data(), value.size()));
        auto t1 = Clock::now();
        freeReplyObject(r);
        Clock::time_point heard;
        if (!l.wait(&heard, std::chrono::milliseconds(1000))) {
            missed++;
            continue;
        }
        lag.push_back(us_between(t0, heard));
        after_ack.push_back(us_between(t1, heard));
        round_trip.push_back(us_between(t0, t1));
    }
    redisFree(w);
    std::printf("redis (client tracking, RESP2, loopback):\n");
    report("lag, write sent -> L1 told", lag, missed);
    report("lag, write acked -> L1 told", after_ack, missed);
    report("anchor: the SET's own round trip", round_trip, 0);
}

void sqlite_lag(size_t samples, int poll_ms, const std::string &dir)
{
    std::string path = dir + "/coherence-lag-" + std::to_string(getpid()) + ".db";
    LagListener l;
    {
        auto watcher =
            open_backend("sqlite://" + path + "?change_poll_ms=" + std::to_string(poll_ms), "");
        auto writer = open_backend("sqlite://" + path, "");
        watcher->watch_changes(&l);
        std::vector<double> lag;
        size_t missed = 0;
        for (size_t i = 0; i < samples; i++) {
            std::string key = "k" + std::to_string(i % 64);
            // Writes land at random points of the poll period, as foreign
            // writes do (right after a poll, every write would wait it all).
            std::this_thread::sleep_for(std::chrono::microseconds(std::rand() % (poll_ms * 1000)));
            l.expect(key);
            writer->set(key, std::to_string(i), 0);
            auto t1 = Clock::now();
            Clock::time_point heard;
            if (!l.wait(&heard, std::chrono::milliseconds(1000))) {
                missed++;
                continue;
            }
            lag.push_back(us_between(t1, heard));
        }
        char what[64];
        std::snprintf(what, sizeof what, "lag, set returned -> told (poll %d)", poll_ms);
        report(what, lag, missed);
    }
    for (const char *ext : {"", "-wal", "-shm"})
        std::remove((path + ext).c_str());
}

double set_rate(unicache::Backend &b, size_t n, size_t round)
{
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; i++) {
        std::string key = "bench:key:" + std::to_string((i * 7919) % 10000);
        std::string value(100, char('a' + (round + i) % 26));
        value.replace(0, std::to_string(i).size(), std::to_string(i));
        b.set(key, value, 0);
    }
    return double(n) / std::chrono::duration<double>(Clock::now() - t0).count();
}

void sqlite_set_cost(size_t rounds, const std::string &dir)
{
    std::string base = dir + "/coherence-cost-" + std::to_string(getpid());
    std::string plain = base + "-plain.db", logged = base + "-logged.db";
    LagListener l;
    {
        auto p = open_backend("sqlite://" + plain, "");
        auto w = open_backend("sqlite://" + logged, "");
        auto watcher = open_backend("sqlite://" + logged, "");
        watcher->watch_changes(&l); // creates the log and its triggers
        const size_t n = 20000;
        set_rate(*p, n, 0); // warm both files to 10000 rows
        set_rate(*w, n, 0);
        std::vector<double> ratios, rp, rw;
        for (size_t r = 1; r <= rounds; r++) {
            double a, b;
            if (r % 2) {
                a = set_rate(*p, n, r);
                b = set_rate(*w, n, r);
            } else {
                b = set_rate(*w, n, r);
                a = set_rate(*p, n, r);
            }
            rp.push_back(a);
            rw.push_back(b);
            ratios.push_back(b / a);
            if (std::getenv("COHERENCE_LAG_ROUNDS"))
                std::printf("  round %zu: without %.0f with %.0f\n", r, a, b);
        }
        std::printf("sqlite set throughput, 100-byte overwrites, synchronous=normal, %zu rounds:\n",
                    rounds);
        std::printf("  without change log  %10.0f sets/s (median)\n", percentile(rp, 0.5));
        std::printf("  with change log     %10.0f sets/s (median)\n", percentile(rw, 0.5));
        std::printf("  with / without      %10.3f (median of per-round ratios)\n",
                    percentile(ratios, 0.5));
    }
    for (const std::string &f : {plain, logged})
        for (const char *ext : {"", "-wal", "-shm"})
            std::remove((f + ext).c_str());
}

} // namespace

int main(int argc, char **argv)
{
    size_t samples = argc > 1 ? size_t(std::atol(argv[1])) : 2000;
    size_t rounds = argc > 2 ? size_t(std::atol(argv[2])) : 7;
    const char *tmp = std::getenv("TMPDIR");
    std::string dir = tmp && *tmp ? tmp : "/tmp";
    print_load();
    redis_lag(samples);
    std::printf("sqlite (change log, two handles on one file):\n");
    sqlite_lag(samples / 4, 10, dir);
    sqlite_lag(samples / 4, 1, dir);
    sqlite_set_cost(rounds, dir);
    print_load();
    return 0;
}
