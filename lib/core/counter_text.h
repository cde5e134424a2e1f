// Counters are signed 64-bit integers stored as ASCII decimal ("-2"), the
// same bytes on every backend. These helpers parse, add and format them.
#pragma once

#include <cstdint>
#include <string>

#include "bytes.h"
#include "error.h"

namespace unicache {

// Strict: optional '-', then 1-19 digits, nothing else. Throws CACHE_ENAN.
inline int64_t parse_counter(Bytes text)
{
    size_t i = 0;
    bool neg = false;
    if (!text.empty() && text[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i >= text.size() || text.size() - i > 19)
        fail(CACHE_ENAN, "stored value is not a decimal integer (" +
                             std::to_string(text.size()) + " bytes)");
    uint64_t v = 0;
    for (; i < text.size(); i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < '0' || c > '9')
            fail(CACHE_ENAN, "stored value is not a decimal integer");
        v = v * 10 + (c - '0');
    }
    if (neg ? v > uint64_t(INT64_MAX) + 1 : v > uint64_t(INT64_MAX))
        fail(CACHE_ENAN, "stored value is outside the signed 64-bit range");
    return neg ? int64_t(0 - v) : int64_t(v);
}

inline int64_t add_counter(int64_t current, int64_t delta)
{
    int64_t out;
    if (__builtin_add_overflow(current, delta, &out))
        fail(CACHE_ERANGE, "counter " + std::to_string(current) + " + " + std::to_string(delta) +
                               " overflows a signed 64-bit integer");
    return out;
}

// Writes the decimal text into buf (at least 21 bytes); returns its length.
inline size_t format_counter(int64_t v, char *buf)
{
    char tmp[21];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - uint64_t(v) : uint64_t(v);
    do {
        tmp[n++] = char('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

} // namespace unicache
