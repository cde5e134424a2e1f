// stampede_bench: what stampede protection buys and what it costs (issue 13).
//
// 1. A herd: 32 threads of one process want one key with a 1 s TTL and a
//    100 ms compute, for 3.2 s (three fills), on sqlite, redis, memcached
//    and a tiered cache (memory over redis), in
//    four modes: no protection (get, compute, set), leases (cache_fetch),
//    leases + stale-while-revalidate (stale_ttl=5000) and XFetch
//    (early_refresh=1). Printed: computations per expiry, and p50/p99/max
//    caller latency after the first fill (a waiter's wake-up delay shows in
//    max - 100 ms). Anchor: no protection, about 32 computes per expiry;
//    target: at least 30x fewer with leases.
// 2. A cache_fetch hit against a cache_get hit of the same key on the same
//    handle, single thread: paired interleaved rounds (fetch, get, fetch,
//    ...), the median of the per-round ratios. Target: at most 1.1x.
//
//   stampede_bench [--rounds N] [--seconds S] [--herd-ms MS]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "bench_support.h"
#include "support/server_process.h"
#include "unicache.h"

using namespace unicache_bench;

namespace {

constexpr int kThreads = 32;
constexpr int kTtlMs = 1000;
constexpr int kComputeMs = 100;

int64_t now_us()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
        .count();
}

std::atomic<int> g_computes{0};
std::atomic<int64_t> g_first_fill{0};

int compute(void *, const void *, size_t, cache_buf *value, cache_int64 *)
{
    g_computes++;
    std::this_thread::sleep_for(std::chrono::milliseconds(kComputeMs));
    int64_t zero = 0;
    g_first_fill.compare_exchange_strong(zero, now_us());
    if (cache_buf_alloc(value, 100) != CACHE_OK)
        return CACHE_ENOMEM;
    std::memset(value->data, 'v', 100);
    return CACHE_OK;
}

cache_t *open_or_die(const std::string &uri)
{
    cache_t *c = nullptr;
    check(cache_open(uri.c_str(), &c), uri.c_str());
    return c;
}

struct HerdRow {
    double per_expiry = 0;
    double p50 = 0, p99 = 0, max = 0; // ms
};

HerdRow herd(const std::string &uri, bool protect, int run_ms)
{
    cache_t *c = open_or_die(uri);
    cache_clear(c);
    g_computes = 0;
    g_first_fill = 0;
    std::vector<std::vector<int64_t>> lat(kThreads);
    int64_t start = now_us();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; t++)
        ts.emplace_back([&, t] {
            while (now_us() - start < int64_t(run_ms) * 1000) {
                int64_t t0 = now_us();
                cache_buf b = {nullptr, 0};
                if (protect) {
                    cache_fetch(c, "hot", 3, compute, nullptr, kTtlMs, &b);
                } else if (cache_get(c, "hot", 3, &b) == CACHE_MISS) {
                    cache_buf v = {nullptr, 0};
                    cache_int64 ttl = kTtlMs;
                    if (compute(nullptr, "hot", 3, &v, &ttl) == CACHE_OK)
                        cache_set(c, "hot", 3, v.data, v.size, kTtlMs);
                    cache_buf_free(&v);
                }
                cache_buf_free(&b);
                int64_t first = g_first_fill.load();
                if (first && t0 > first)
                    lat[t].push_back(now_us() - t0);
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
    for (auto &t : ts)
        t.join();
    cache_clear(c);
    cache_close(c);
    std::vector<int64_t> all;
    for (auto &v : lat)
        all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    HerdRow r;
    int fills = run_ms / (kTtlMs + kComputeMs) + 1;
    r.per_expiry = double(g_computes.load()) / fills;
    if (!all.empty()) {
        r.p50 = all[all.size() / 2] / 1000.0;
        r.p99 = all[size_t(all.size() * 0.99)] / 1000.0;
        r.max = all.back() / 1000.0;
    }
    return r;
}

// Hits per second for about `seconds`, fetch or get.
double hit_rate(cache_t *c, bool fetch, double seconds)
{
    size_t done = 0;
    auto t0 = Clock::now();
    for (;;) {
        for (int i = 0; i < 256; i++) {
            cache_buf b = {nullptr, 0};
            int rc = fetch ? cache_fetch(c, "hit", 3, compute, nullptr, 0, &b)
                           : cache_get(c, "hit", 3, &b);
            if (rc != CACHE_OK)
                check(rc, fetch ? "cache_fetch" : "cache_get");
            cache_buf_free(&b);
        }
        done += 256;
        double s = seconds_since(t0);
        if (s >= seconds)
            return double(done) / s;
    }
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = 7, herd_ms = 3200;
    double seconds = 0.3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seconds"))
            seconds = std::atof(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--herd-ms"))
            herd_ms = std::atoi(argv[i + 1]);
    }
    unicache_test::ServerProcess redis = unicache_test::ServerProcess::redis();
    redis.start();
    std::string redis_uri = "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0";
    unicache_test::ServerProcess memcached = unicache_test::ServerProcess::memcached();
    memcached.start();
    std::string memcached_uri = "memcached://127.0.0.1:" + std::to_string(memcached.port());
    char dir[] = "/tmp/unicache-stampede-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    std::string sqlite_uri = std::string("sqlite://") + dir + "/bench.db";
    struct Backend {
        const char *name;
        std::string uri; // with a '?' or ready for one
        bool json;
    };
    std::vector<Backend> backends = {
        {"sqlite", sqlite_uri, false},
        {"redis", redis_uri, false},
        {"memcached", memcached_uri, false},
        {"tiered", R"({"tiers": ["memory://", ")" + redis_uri + R"("], "l1_ttl": 30000)", true},
    };
    struct Mode {
        const char *name;
        bool protect;
        const char *param; // "" or name=value
    };
    const Mode modes[] = {{"no protection", false, ""},
                          {"leases", true, ""},
                          {"leases + stale_ttl", true, "stale_ttl=5000"},
                          {"XFetch (beta 1)", true, "early_refresh=1"}};

    std::printf("stampede_bench: %d threads, one key, TTL %d ms, compute %d ms, %d ms per run\n",
                kThreads, kTtlMs, kComputeMs, herd_ms);
    std::printf("%-9s %-20s %16s %10s %10s %10s\n", "backend", "mode", "computes/expiry", "p50 ms",
                "p99 ms", "max ms");
    for (const Backend &b : backends) {
        double anchor = 0;
        for (const Mode &m : modes) {
            std::string uri = b.uri;
            if (b.json) {
                if (*m.param) {
                    std::string p(m.param);
                    size_t eq = p.find('=');
                    uri += ", \"" + p.substr(0, eq) + "\": " + p.substr(eq + 1);
                }
                uri += "}";
            } else if (*m.param) {
                uri += std::string(uri.find('?') == std::string::npos ? "?" : "&") + m.param;
            }
            HerdRow r = herd(uri, m.protect, herd_ms);
            if (!m.protect)
                anchor = r.per_expiry;
            std::printf("%-9s %-20s %16.1f %10.2f %10.2f %10.2f", b.name, m.name, r.per_expiry,
                        r.p50, r.p99, r.max);
            if (m.protect && r.per_expiry > 0)
                std::printf("   %.0fx fewer", anchor / r.per_expiry);
            std::printf("\n");
            std::fflush(stdout);
        }
    }

    // cache_fetch hit vs cache_get hit.
    std::printf("\ncache_fetch hit vs cache_get hit, same key and handle, single thread, %d "
                "paired rounds of %.2f s per side (median of per-round ratios; target <= 1.1x)\n",
                rounds, seconds);
    std::printf("%-10s %14s %14s %8s\n", "backend", "fetch Mhit/s", "get Mhit/s", "ratio");
    for (const std::string &uri : {std::string("memory://"), redis_uri, memcached_uri}) {
        cache_t *c = open_or_die(uri);
        check(cache_set(c, "hit", 3, std::string(100, 'v').data(), 100, 0), "cache_set");
        std::vector<double> fetches, gets, ratios;
        for (int i = 0; i < rounds; i++) {
            double f = hit_rate(c, true, seconds);
            double g = hit_rate(c, false, seconds);
            fetches.push_back(f);
            gets.push_back(g);
            ratios.push_back(g / f); // time per fetch hit / time per get hit
        }
        std::printf("%-10s %14.3f %14.3f %7.3fx\n", uri.substr(0, uri.find(':')).c_str(),
                    median(fetches) / 1e6, median(gets) / 1e6, median(ratios));
        cache_delete(c, "hit", 3);
        cache_close(c);
    }
    double load[3] = {0, 0, 0};
    if (FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        std::fclose(f);
    }
    std::printf("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    std::string rm = std::string("rm -rf '") + dir + "'";
    if (std::system(rm.c_str()) != 0)
        return 1;
    return 0;
}
