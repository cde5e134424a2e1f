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
// Values are 100 bytes (redis-benchmark -d 100), every get is a hit. Each
// configuration runs `rounds` times, interleaved with the others so that a
// burst of load from another process hurts every column alike; the table
// reports the best round of each.
//
// Usage: redis_bench [requests per measurement, default 30000] [rounds, default 7]
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
using unicache_bench::seconds_since;

constexpr size_t kValueSize = 100;
constexpr size_t kKeys = 1000;
constexpr size_t kBatch = 100;

// Runs redis-benchmark and returns requests per second by test name ("GET").
std::map<std::string, double> redis_benchmark(int port, const std::string &args)
{
    std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(port) + " " + args +
                      " -d " + std::to_string(kValueSize) + " --csv 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    if (!p)
        throw std::runtime_error("cannot run redis-benchmark");
    std::map<std::string, double> out;
    char line[1024];
    while (std::fgets(line, sizeof line, p)) {
        // "GET","345423.16","0.273",...
        if (line[0] != '"' || std::strncmp(line, "\"test\"", 6) == 0)
            continue;
        char *name_end = std::strchr(line + 1, '"');
        if (!name_end || std::strncmp(name_end, "\",\"", 3) != 0)
            continue;
        std::string name(line + 1, name_end);
        out[name] = std::strtod(name_end + 3, nullptr);
    }
    int status = pclose(p);
    if (status != 0 || out.empty())
        throw std::runtime_error("redis-benchmark failed: " + cmd);
    return out;
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
template <typename A, typename B>
std::pair<double, double> paired(size_t n, A &&a, B &&b)
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

struct Best {
    double value = 0;
    void add(double v) { value = std::max(value, v); }
};

void row(const char *what, double anchor, double ours, const char *target)
{
    std::printf("| %-44s | %12.0f | %12.0f | %5.2fx | %-6s |\n", what, anchor, ours, ours / anchor,
                target);
}

} // namespace

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 30000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
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

    Best rb_set, rb_get, rb_get100, rb_get2, uc_set, uc_get, uc_batch, uc_get1, uc_get2, hr_set,
        hr_get;
    std::string nstr = std::to_string(n);
    for (int r = 0; r < rounds; r++) {
        auto p1 = redis_benchmark(port, "-c 1 -P 1 -t get,set -n " + nstr);
        rb_set.add(p1["SET"]);
        rb_get.add(p1["GET"]);
        // Bare hiredis runs interleaved with unicache, as the reference for
        // what the library itself adds.
        auto set_rates = paired(
            n, [&](size_t i) { unicache_set_one(one, keys[i % kKeys], value); },
            [&](size_t i) { hiredis_one(bare, keys[i % kKeys], &value); });
        uc_set.add(set_rates.first);
        hr_set.add(set_rates.second);
        auto get_rates = paired(
            n, [&](size_t i) { unicache_get_one(one, keys[i % kKeys]); },
            [&](size_t i) { hiredis_one(bare, keys[i % kKeys], nullptr); });
        uc_get.add(get_rates.first);
        hr_get.add(get_rates.second);
        rb_get100.add(redis_benchmark(port, "-c 1 -P 100 -t get -n " + std::to_string(n * 20))["GET"]);
        uc_batch.add(unicache_get_many(one, keys, n * 20));
        rb_get2.add(redis_benchmark(port, "-c 2 -P 1 -t get -n " + nstr)["GET"]);
        auto scaling = unicache_get_scaling(shared, keys, n);
        uc_get1.add(scaling.first);
        uc_get2.add(scaling.second);
    }

    std::printf("\nRedis backend vs redis-benchmark, same redis-server (127.0.0.1:%d), same run;\n"
                "%zu requests per measurement, %zu-byte values, best of %d interleaved rounds,\n"
                "%u hardware threads shared by server, client and anything else running.\n\n",
                port, n, kValueSize, rounds, std::thread::hardware_concurrency());
    std::printf("| %-44s | %12s | %12s | %6s | %-6s |\n", "operation (per second)",
                "redis-bench", "unicache", "ratio", "target");
    std::printf("|%s|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(8, '-').c_str(),
                std::string(8, '-').c_str());
    row("set, 1 connection, 1 in flight (-c 1 -P 1)", rb_set.value, uc_set.value, ">=0.9");
    row("get, 1 connection, 1 in flight (-c 1 -P 1)", rb_get.value, uc_get.value, ">=0.9");
    row("batch get, keys/s (-P 100 vs get_many 100)", rb_get100.value, uc_batch.value, ">=0.9");
    row("get, 2 threads, one handle (-c 2 -P 1)", rb_get2.value, uc_get2.value, "report");
    std::printf("\nscaling of cache_get from 1 to 2 threads on one handle (alternating blocks "
                "of 2000 calls): %.0f -> %.0f (%.2fx)\n",
                uc_get1.value, uc_get2.value, uc_get2.value / uc_get1.value);
    std::printf("bare hiredis redisCommandArgv, interleaved with the unicache calls: set %.0f, "
                "get %.0f (unicache/hiredis: set %.2fx, get %.2fx)\n",
                hr_set.value, hr_get.value, uc_set.value / hr_set.value,
                uc_get.value / hr_get.value);

    redisFree(bare);
    check(cache_clear(one), "cache_clear");
    cache_close(shared);
    cache_close(one);
    return 0;
}
