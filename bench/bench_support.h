// Small helpers every benchmark uses: a clock, elapsed seconds, a check that
// stops the benchmark with unicache's own message on a failed call, the
// paired rounds every comparison is reported from, the load average, and
// redis-benchmark's CSV output read back.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "unicache.h"

namespace unicache_bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline void check(int rc, const char *what)
{
    if (rc != CACHE_OK) {
        std::fprintf(stderr, "%s failed: %s (%s)\n", what, cache_strerror(rc), cache_last_error());
        std::exit(1);
    }
}

// Keys per second of cache_get_many in batches of `batch` consecutive keys
// (wrapping over `keys`), for about n keys; every key must be a hit.
inline double get_many_rate(cache_t *c, const std::vector<std::string> &keys, size_t n,
                            size_t batch)
{
    std::vector<cache_slice> slices;
    for (const auto &k : keys)
        slices.push_back({k.data(), k.size()});
    std::vector<cache_buf> values(batch);
    std::vector<int> statuses(batch);
    size_t batches = n / batch;
    auto t0 = Clock::now();
    for (size_t i = 0; i < batches; i++) {
        const cache_slice *first = slices.data() + (i * batch) % (keys.size() - batch + 1);
        check(cache_get_many(c, first, batch, values.data(), statuses.data()), "cache_get_many");
        for (size_t j = 0; j < batch; j++) {
            check(statuses[j], "cache_get_many (a miss)");
            cache_buf_free(&values[j]);
        }
    }
    return double(batches * batch) / seconds_since(t0);
}

// The median of v (the mean of the middle two for an even count; 0 if empty).
inline double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The rounds of one paired measurement (ours, theirs, ours, ...): each
// side's rate and their ratio per round.
struct Paired {
    std::vector<double> ours, theirs, ratios;
    void add(double our_rate, double their_rate)
    {
        ours.push_back(our_rate);
        theirs.push_back(their_rate);
        ratios.push_back(our_rate / their_rate);
    }
};

// One table row: what, their median rate, ours, the median of the per-round
// ratios, their range, and the target; what is padded to `width`.
inline void paired_row(int width, const char *what, const Paired &p, const char *target)
{
    std::printf("| %-*s | %12.0f | %12.0f | %5.2fx | %5.2f-%.2fx | %-6s |\n", width, what,
                median(p.theirs), median(p.ours), median(p.ratios),
                *std::min_element(p.ratios.begin(), p.ratios.end()),
                *std::max_element(p.ratios.begin(), p.ratios.end()), target);
}

// "l1 l5 l15", or "unknown".
inline std::string load_average()
{
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3)
        return "unknown";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f %.2f %.2f", l[0], l[1], l[2]);
    return buf;
}

// Runs a redis-benchmark command line with --csv and returns requests per
// second by test name ("GET"); throws if it fails or prints no result.
inline std::map<std::string, double> redis_benchmark_csv(const std::string &cmd)
{
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
        out[std::string(line + 1, name_end)] = std::strtod(name_end + 3, nullptr);
    }
    int status = pclose(p);
    if (status != 0 || out.empty())
        throw std::runtime_error("redis-benchmark failed: " + cmd);
    return out;
}

} // namespace unicache_bench
