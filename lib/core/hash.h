// A fast 64-bit hash for keys (wyhash-style multiply-fold mixing). Used to
// pick a shard and as the table hash, so it is computed once per call.
#pragma once

#include <cstdint>
#include <cstring>

namespace unicache {

namespace detail {
inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return uint64_t(r) ^ uint64_t(r >> 64);
}
inline uint64_t read64(const unsigned char *p)
{
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
} // namespace detail

inline uint64_t hash_bytes(const void *data, size_t n)
{
    const unsigned char *p = static_cast<const unsigned char *>(data);
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t(n) * 0xa0761d6478bd642full);
    while (n > 16) {
        h = detail::mix(detail::read64(p) ^ 0xe7037ed1a0b428dbull, detail::read64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    // The same values as the byte copies below, from whole-word loads that
    // overlap inside the key (a variable-length memcpy is a call or a byte
    // loop; this runs for every key of every call). Memcached's server
    // choice depends on these values, so they must never change.
    if (n > 8) {
        a = detail::read64(p);
        b = detail::read64(p + n - 8) >> (8 * (16 - n));
    } else if (n >= 4) {
        uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        a = uint64_t(lo) | (uint64_t(hi) << (8 * (n - 4)));
    } else if (n > 0) {
        a = uint64_t(p[0]) | (uint64_t(p[n / 2]) << (8 * (n / 2))) |
            (uint64_t(p[n - 1]) << (8 * (n - 1)));
    }
#else
    if (n > 8) {
        a = detail::read64(p);
        std::memcpy(&b, p + 8, n - 8);
    } else {
        std::memcpy(&a, p, n);
    }
#endif
    return detail::mix(h ^ a ^ 0x8ebc6af09c88c6e3ull, b ^ 0x589965cc75374cc3ull);
}

} // namespace unicache
