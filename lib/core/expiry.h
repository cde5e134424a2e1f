// Deadline arithmetic for TTLs. The core caps every TTL at kMaxTtlMs, so a
// backend adding one to a clock cannot overflow today; these helpers make
// that true by construction (they saturate), so a deadline computed from a
// huge TTL is "far future", never a negative number that reads as expired.
#pragma once

#include <cstdint>

namespace unicache {

// The longest TTL the contract accepts, per call or as a default:
// INT64_MAX / 4 ms, about 73 million years. Documented in unicache.h.
constexpr int64_t kMaxTtlMs = INT64_MAX / 4;

// now + ttl_ms, saturated to the int64 range.
inline int64_t deadline_after(int64_t now, int64_t ttl_ms)
{
    int64_t out;
    if (__builtin_add_overflow(now, ttl_ms, &out))
        return ttl_ms > 0 ? INT64_MAX : INT64_MIN;
    return out;
}

// deadline - now, saturated to the int64 range.
inline int64_t ms_until(int64_t deadline, int64_t now)
{
    int64_t out;
    if (__builtin_sub_overflow(deadline, now, &out))
        return deadline > now ? INT64_MAX : INT64_MIN;
    return out;
}

} // namespace unicache
