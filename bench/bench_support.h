// Small helpers every benchmark uses: a clock, elapsed seconds, and a check
// that stops the benchmark with unicache's own message on a failed call.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
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

} // namespace unicache_bench
