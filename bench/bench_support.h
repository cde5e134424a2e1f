// Small helpers every benchmark uses: a clock, elapsed seconds, and a check
// that stops the benchmark with unicache's own message on a failed call.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>

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

} // namespace unicache_bench
