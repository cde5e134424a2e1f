// Redis backend throughput beside redis-benchmark, against the same
// redis-server in the same run (the anchor), plus bare hiredis calls
// (interleaved with the unicache calls in blocks of 500) for reference:
//
//   set / get, one connection, one request in flight:
//       redis-benchmark -c 1 -P 1 -t get,set   vs  cache_set / cache_get
//   batch get, keys per second:
//       redis-benchmark -c 1 -P 100 -t get     vs  cache_get_many of 100 keys
//   2 threads sharing one handle (get):
//       redis-benchmark -c 2 -P 1 -t get       vs  cache_get from 2 threads
//
// Both sides send the same requests: 16-byte keys over 1,000 distinct keys
// (redis-benchmark -r 1000 writes "key:000000000123"), 100-byte values
// (-d 100), every get a hit. Rounds are paired and interleaved (ours then
// theirs, theirs then ours, ...), so that a burst of load from another
// process hurts both sides of a pair alike; the table gives the median over
// the rounds of (our rate / their rate), and each side's median rate. The
// load average is printed before and after.
//
// Usage: redis_bench [requests per measurement, default 30000] [rounds, default 9]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <hiredis.h>

#include "bench_support.h"
#include "support/server_process.h"
#include "unicache.h"

namespace {

using unicache_bench::check;
using unicache_bench::Clock;
using unicache_bench::load_average;
using unicache_bench::Paired;
using unicache_bench::seconds_since;

void row(const char *what, const Paired &p, const char *target)
{
    unicache_bench::paired_row(44, what, p, target);
}

constexpr size_t kValueSize = 100;
constexpr size_t kKeys = 1000;
constexpr size_t kBatch = 100;

// Runs redis-benchmark and returns requests per second by test name ("GET").
std::map<std::string, double> redis_benchmark(int port, const std::string &args)
{
    std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " " + args +
                      " -r " + std::to_string(kKeys) + " -d " + std::to_string(kValueSize) +
                      " --csv 2>&1";
    return unicache_bench::redis_benchmark_csv(cmd);
}

std::vector<std::string> make_keys()
{
    std::vector<std::string> keys;
    char buf[32];
    for (size_t i = 0; i < kKeys; i++) {
        std::snprintf(buf, sizeof buf, "bench:key:%06zu", i); // 16 bytes
        keys.emplace_back(buf);
    }
    return keys;
}

void unicache_set_one(cache_t *c, const std::string &k, const std::string &v)
{
    check(cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE), "cache_set");
}

void unicache_get_one(cache_t *c, const std::string &k)
{
    cache_buf b = {nullptr, 0};
    check(cache_get(c, k.data(), k.size(), &b), "cache_get");
    cache_buf_free(&b);
}

void hiredis_one(redisContext *ctx, const std::string &k, const std::string *v)
{
    const char *argv[3] = {v ? "SET" : "GET", k.data(), v ? v->data() : nullptr};
    size_t lens[3] = {3, k.size(), v ? v->size() : 0};
    auto *r = static_cast<redisReply *>(redisCommandArgv(ctx, v ? 3 : 2, argv, lens));
    if (!r || r->type == REDIS_REPLY_ERROR) {
        std::fprintf(stderr, "hiredis failed\n");
        std::exit(1);
    }
    freeReplyObject(r);
}

// n calls of a and n of b, alternating in blocks of 500 so that both see
// the same machine; returns the two rates (calls per second).
template <typename A, typename B> std::pair<double, double> paired(size_t n, A &&a, B &&b)
{
    double ta = 0, tb = 0;
    for (size_t done = 0; done < n;) {
        size_t m = std::min<size_t>(500, n - done);
        auto t0 = Clock::now();
        for (size_t i = 0; i < m; i++)
            a(done + i);
        ta += seconds_since(t0);
        t0 = Clock::now();
        for (size_t i = 0; i < m; i++)
            b(done + i);
        tb += seconds_since(t0);
        done += m;
    }
    return {double(n) / ta, double(n) / tb};
}

double unicache_get(cache_t *c, const std::vector<std::string> &keys, size_t n, size_t offset)
{
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; i++)
        unicache_get_one(c, keys[(i + offset) % kKeys]);
    return double(n) / seconds_since(t0);
}

double unicache_get_many(cache_t *c, const std::vector<std::string> &keys, size_t n)
{
    return unicache_bench::get_many_rate(c, keys, n, kBatch);
}

// cache_get on one shared handle from 1 thread, then from 2 threads, in
// alternating blocks so that both see the same machine; returns both rates.
std::pair<double, double> unicache_get_scaling(cache_t *c, const std::vector<std::string> &keys,
                                               size_t n)
{
    const size_t block = 2000;
    double t1 = 0, t2 = 0;
    for (size_t done = 0; done < n; done += block) {
        auto t0 = Clock::now();
        unicache_get(c, keys, block, done);
        t1 += seconds_since(t0);
        t0 = Clock::now();
        std::thread other([&] { unicache_get(c, keys, block / 2, done + 7919); });
        unicache_get(c, keys, block / 2, done);
        other.join();
        t2 += seconds_since(t0);
    }
    size_t total = (n + block - 1) / block * block;
    return {double(total) / t1, double(total) / t2};
}

} // namespace

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 30000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 9;
    if (n < kBatch || rounds < 1) {
        std::fprintf(stderr, "usage: redis_bench [requests >= 100] [rounds >= 1]\n");
        return 2;
    }
    unicache_test::ServerProcess server = unicache_test::ServerProcess::redis();
    server.start();
    int port = server.port();
    std::string uri = "redis://127.0.0.1:" + std::to_string(port);

    cache_t *one = nullptr; // one connection: one request in flight
    check(cache_open((uri + "?pool_size=1").c_str(), &one), "cache_open");
    cache_t *shared = nullptr; // default pool: one connection per thread
    check(cache_open(uri.c_str(), &shared), "cache_open");
    redisContext *bare = redisConnect("127.0.0.1", port);
    if (!bare || bare->err) {
        std::fprintf(stderr, "hiredis cannot connect\n");
        return 1;
    }

    std::vector<std::string> keys = make_keys();
    std::string value(kValueSize, 'v');
    for (const auto &k : keys)
        unicache_set_one(one, k, value); // every get below is a hit

    std::string before = load_average();
    Paired set1, get1, batch, get2, hr_set, hr_get, scaling;
    std::string nstr = std::to_string(n);
    for (int r = 0; r < rounds; r++) {
        bool ours_first = r % 2 == 0;
        std::map<std::string, double> rb;
        double our_set = 0, our_get = 0;
        auto run_ours = [&] {
            auto t0 = Clock::now();
            for (size_t i = 0; i < n; i++)
                unicache_set_one(one, keys[i % kKeys], value);
            our_set = double(n) / seconds_since(t0);
            our_get = unicache_get(one, keys, n, 0);
        };
        auto run_theirs = [&] { rb = redis_benchmark(port, "-c 1 -P 1 -t set,get -n " + nstr); };
        if (ours_first) {
            run_ours();
            run_theirs();
        } else {
            run_theirs();
            run_ours();
        }
        set1.add(our_set, rb["SET"]);
        get1.add(our_get, rb["GET"]);

        double our_batch = 0, their_batch = 0;
        auto batch_ours = [&] { our_batch = unicache_get_many(one, keys, n * 20); };
        auto batch_theirs = [&] {
            their_batch =
                redis_benchmark(port, "-c 1 -P 100 -t get -n " + std::to_string(n * 20))["GET"];
        };
        double our_two = 0, their_two = 0;
        std::pair<double, double> sc;
        auto two_ours = [&] {
            sc = unicache_get_scaling(shared, keys, n);
            our_two = sc.second;
        };
        auto two_theirs = [&] {
            their_two = redis_benchmark(port, "-c 2 -P 1 -t get -n " + nstr)["GET"];
        };
        if (ours_first) {
            batch_ours();
            batch_theirs();
            two_ours();
            two_theirs();
        } else {
            batch_theirs();
            batch_ours();
            two_theirs();
            two_ours();
        }
        batch.add(our_batch, their_batch);
        get2.add(our_two, their_two);
        scaling.add(sc.second, sc.first);

        // Bare hiredis, interleaved with unicache in blocks of 500 calls: the
        // reference for what the library itself adds.
        auto set_rates = paired(
            n, [&](size_t i) { unicache_set_one(one, keys[i % kKeys], value); },
            [&](size_t i) { hiredis_one(bare, keys[i % kKeys], &value); });
        hr_set.add(set_rates.first, set_rates.second);
        auto get_rates = paired(
            n, [&](size_t i) { unicache_get_one(one, keys[i % kKeys]); },
            [&](size_t i) { hiredis_one(bare, keys[i % kKeys], nullptr); });
        hr_get.add(get_rates.first, get_rates.second);
    }

    std::printf("\nRedis backend vs redis-benchmark, same redis-server (127.0.0.1:%d), same run;\n"
                "%zu requests per measurement, 16-byte keys (1,000), %zu-byte values, %d paired\n"
                "interleaved rounds; %u hardware threads shared by server, client and anything\n"
                "else running. Load average before: %s, after: %s.\n\n",
                port, n, kValueSize, rounds, std::thread::hardware_concurrency(), before.c_str(),
                load_average().c_str());
    std::printf("| %-44s | %12s | %12s | %6s | %11s | %-6s |\n", "operation (per second, medians)",
                "redis-bench", "unicache", "ratio", "range", "target");
    std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(8, '-').c_str(),
                std::string(13, '-').c_str(), std::string(8, '-').c_str());
    row("set, 1 connection, 1 in flight (-c 1 -P 1)", set1, ">=1.0");
    row("get, 1 connection, 1 in flight (-c 1 -P 1)", get1, ">=1.0");
    row("batch get, keys/s (-P 100 vs get_many 100)", batch, ">=0.9");
    row("get, 2 threads, one handle (-c 2 -P 1)", get2, "report");
    std::printf("\nscaling of cache_get from 1 to 2 threads on one handle (alternating blocks "
                "of 2000 calls): %.0f -> %.0f (median %.2fx)\n",
                unicache_bench::median(scaling.theirs), unicache_bench::median(scaling.ours),
                unicache_bench::median(scaling.ratios));
    std::printf("bare hiredis redisCommandArgv, interleaved with the unicache calls: set %.0f, "
                "get %.0f (unicache/hiredis, median of rounds: set %.2fx, get %.2fx)\n",
                unicache_bench::median(hr_set.theirs), unicache_bench::median(hr_get.theirs),
                unicache_bench::median(hr_set.ratios), unicache_bench::median(hr_get.ratios));

    redisFree(bare);
    check(cache_clear(one), "cache_clear");
    cache_close(shared);
    cache_close(one);
    return 0;
}
