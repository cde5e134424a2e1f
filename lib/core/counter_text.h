// Counters are signed 64-bit integers stored as ASCII decimal ("-2"), the
// same bytes on every backend. These helpers parse, add and format them.
#pragma once

#include <cstdint>
#include <string>

#include "bytes.h"
#include "error.h"

namespace unicache {

// Strict: optional '-', then one or more digits, nothing else (-?[0-9]+).
// Leading zeros of any length are accepted ("007", "0000...01"); what must
// fit is the value. Throws CACHE_ENAN.
inline int64_t parse_counter(Bytes text)
{
    size_t i = 0;
    bool neg = false;
    if (!text.empty() && text[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i >= text.size())
        fail(CACHE_ENAN,
             "stored value is not a decimal integer (" + std::to_string(text.size()) + " bytes)");
    uint64_t v = 0;
    size_t significant = 0; // digits from the first non-zero one
    for (; i < text.size(); i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < '0' || c > '9')
            fail(CACHE_ENAN, "stored value is not a decimal integer");
        if (significant || c != '0')
            significant++;
        // 19 digits always fit in uint64_t; a 20th cannot fit in int64_t.
        if (significant > 19)
            fail(CACHE_ENAN, "stored value is outside the signed 64-bit range");
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
