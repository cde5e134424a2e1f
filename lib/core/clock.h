// Time sources. TTL bookkeeping uses the monotonic clock so that a wall-clock
// step never expires or revives entries; expire_at converts once from wall time.
#pragma once

#include <cstdint>
#include <time.h>

namespace unicache {

inline int64_t monotonic_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// For deadlines finer than a millisecond (a loopback round trip is ~20 us).
inline int64_t monotonic_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline int64_t wall_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

} // namespace unicache
