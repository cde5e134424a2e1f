// A tiered cache beside its anchors, in one run, paired interleaved rounds:
//
//  1. L1 hit: cache_get on {"tiers": [memory://, redis://]} for keys that are
//     all in L1, against cache_get on a plain memory:// holding the same
//     keys (the issue's target: >= 0.8x).
//  2. Zipf(0.99) reads over 100k keys with an L1 of 10% of them
//     (memory://?max_items=10000) in front of redis://, against plain
//     redis:// (target: >= 5x), and the L1 hit ratio of the tiered side.
//
// Each round runs ours then theirs (alternating which goes first) for a
// fixed time; the result is the median of the per-round ratios, so a burst
// of load from another process lands on both. The load average is printed.
// redis-server is started here (tests/support/server_process.h) on a free
// loopback port. Keys are 12 bytes, values 100 bytes. Single thread.
//
// usage: tiers_bench [--rounds N] [--seconds S]   (S: per side per round)
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "support/server_process.h"

using namespace unicache_bench;

namespace {

std::string key_of(size_t i)
{
    char b[32];
    std::snprintf(b, sizeof b, "key:%08zu", i);
    return b;
}

// Zipf(s) ranks 0..n-1 by inverse-CDF lookup on a precomputed table.
class Zipf {
public:
    Zipf(size_t n, double s, uint64_t seed) : cdf_(n), rng_(seed)
    {
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            cdf_[i] = (sum += 1.0 / std::pow(double(i + 1), s));
        for (auto &c : cdf_)
            c /= sum;
    }
    size_t next()
    {
        double u = std::uniform_real_distribution<double>(0, 1)(rng_);
        return size_t(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
    }

private:
    std::vector<double> cdf_;
    std::mt19937_64 rng_;
};

cache_t *open_or_die(const std::string &uri)
{
    cache_t *c = nullptr;
    check(cache_open(uri.c_str(), &c), uri.c_str());
    return c;
}

// Gets per second over `seconds`, keys drawn from `order` (cycled).
double get_rate(cache_t *c, const std::vector<std::string> &keys, const std::vector<size_t> &order,
                double seconds, size_t *cursor)
{
    size_t done = 0;
    auto t0 = Clock::now();
    while (true) {
        for (int i = 0; i < 256; i++) {
            const std::string &k = keys[order[(*cursor)++ % order.size()]];
            cache_buf b = {nullptr, 0};
            int rc = cache_get(c, k.data(), k.size(), &b);
            if (rc != CACHE_OK && rc != CACHE_MISS)
                check(rc, "cache_get");
            cache_buf_free(&b);
        }
        done += 256;
        double s = seconds_since(t0);
        if (s >= seconds)
            return double(done) / s;
    }
}

double stat_number(cache_t *c, const char *field)
{
    cache_buf j = {nullptr, 0};
    check(cache_stats_json(c, &j), "cache_stats_json");
    std::string s(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    size_t at = s.find(std::string("\"") + field + "\":");
    return at == std::string::npos ? -1 : std::atof(s.c_str() + at + std::strlen(field) + 3);
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = 7;
    double seconds = 0.3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rounds"))
            rounds = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seconds"))
            seconds = std::atof(argv[i + 1]);
    }
    unicache_test::ServerProcess redis = unicache_test::ServerProcess::redis();
    redis.start();
    std::string l2 = "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0";
    const std::string value(100, 'v');

    // 1. L1 hits: 10k keys, all resident in both.
    const size_t hot = 10000;
    std::vector<std::string> keys;
    for (size_t i = 0; i < 100000; i++)
        keys.push_back(key_of(i));
    cache_t *tiered = open_or_die(R"({"tiers": ["memory://?max_items=20000", ")" + l2 + R"("]})");
    cache_t *memory = open_or_die("memory://?max_items=20000");
    for (size_t i = 0; i < hot; i++) {
        check(cache_set(tiered, keys[i].data(), keys[i].size(), value.data(), value.size(), 0),
              "set");
        check(cache_set(memory, keys[i].data(), keys[i].size(), value.data(), value.size(), 0),
              "set");
    }
    std::vector<size_t> uniform(1 << 16);
    std::mt19937_64 rng(42);
    for (auto &u : uniform)
        u = rng() % hot;
    size_t cur_a = 0, cur_b = 0;
    get_rate(tiered, keys, uniform, 0.2, &cur_a); // fills L1 (a write dropped the copies)
    std::vector<double> r1, ours1, theirs1;
    for (int r = 0; r < rounds; r++) {
        double a, b;
        if (r % 2) {
            b = get_rate(memory, keys, uniform, seconds, &cur_b);
            a = get_rate(tiered, keys, uniform, seconds, &cur_a);
        } else {
            a = get_rate(tiered, keys, uniform, seconds, &cur_a);
            b = get_rate(memory, keys, uniform, seconds, &cur_b);
        }
        ours1.push_back(a);
        theirs1.push_back(b);
        r1.push_back(a / b);
    }
    cache_close(tiered);
    cache_close(memory);

    // 2. Zipf(0.99) over 100k keys, L1 of 10k (10%).
    cache_t *plain = open_or_die(l2);
    cache_clear(plain);
    std::vector<cache_slice> ks, vs;
    for (auto &k : keys) {
        ks.push_back({k.data(), k.size()});
        vs.push_back({value.data(), value.size()});
    }
    for (size_t i = 0; i < keys.size(); i += 1000)
        check(cache_set_many(plain, ks.data() + i, vs.data() + i, 1000, 0), "set_many");
    tiered = open_or_die(R"({"tiers": ["memory://?max_items=10000", ")" + l2 + R"("]})");
    // A random ranking of the keys, so popular keys are not neighbours.
    std::vector<size_t> rank(keys.size());
    for (size_t i = 0; i < rank.size(); i++)
        rank[i] = i;
    std::shuffle(rank.begin(), rank.end(), rng);
    Zipf zipf(keys.size(), 0.99, 7);
    std::vector<size_t> zorder(1 << 20);
    for (auto &z : zorder)
        z = rank[zipf.next()];
    cur_a = cur_b = 0;
    get_rate(tiered, keys, zorder, 1.0, &cur_a); // warm L1
    // Every key is in Redis, so every get hits; an L1 miss promotes once:
    // L1 hit ratio = 1 - promotions / gets.
    double hits0 = stat_number(tiered, "hits");
    double promos0 = stat_number(tiered, "promotions");
    std::vector<double> r2, ours2, theirs2;
    for (int r = 0; r < rounds; r++) {
        double a, b;
        if (r % 2) {
            b = get_rate(plain, keys, zorder, seconds, &cur_b);
            a = get_rate(tiered, keys, zorder, seconds, &cur_a);
        } else {
            a = get_rate(tiered, keys, zorder, seconds, &cur_a);
            b = get_rate(plain, keys, zorder, seconds, &cur_b);
        }
        ours2.push_back(a);
        theirs2.push_back(b);
        r2.push_back(a / b);
    }
    double gets = stat_number(tiered, "hits") - hits0;
    double promos = stat_number(tiered, "promotions") - promos0;
    double l1_ratio = gets > 0 ? 1.0 - promos / gets : 0;
    cache_close(tiered);
    cache_clear(plain);
    cache_close(plain);

    double load[3] = {0, 0, 0};
    if (FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        std::fclose(f);
    }
    std::printf("tiers_bench: %d paired interleaved rounds of %.2f s per side, single thread, "
                "12-byte keys, 100-byte values; medians of per-round ratios\n",
                rounds, seconds);
    std::printf("load average: %.2f %.2f %.2f\n\n", load[0], load[1], load[2]);
    std::printf("%-44s %14s %14s %8s %8s\n", "workload", "tiered Mget/s", "anchor Mget/s", "ratio",
                "target");
    std::printf("%-44s %14.3f %14.3f %7.2fx %8s\n", "L1 hit (10k keys) vs plain memory://",
                median(ours1) / 1e6, median(theirs1) / 1e6, median(r1), ">=0.8x");
    std::printf("%-44s %14.3f %14.3f %7.2fx %8s\n", "Zipf(0.99) 100k keys, L1 10% vs redis://",
                median(ours2) / 1e6, median(theirs2) / 1e6, median(r2), ">=5x");
    std::printf("L1 hit ratio (Zipf, L1 = 10%% of keys): %.3f\n", l1_ratio);
    return 0;
}
