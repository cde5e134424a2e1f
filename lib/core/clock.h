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

inline int64_t wall_ms()
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

} // namespace unicache
