// The entries sqlite_worker writes, so that the test that starts it can
// check them byte for byte.
#pragma once

#include <string>

namespace unicache_test {

inline std::string worker_key(long i)
{
    return "entry:" + std::to_string(i);
}

// Sizes from 1 byte to ~2 KB, every 97th 20 KB (overflow pages), with
// bytes that depend on i so a torn or misplaced write cannot match.
inline std::string expected_value(long i)
{
    size_t len = i % 97 == 0 ? 20000 : size_t(1 + (i * 37) % 2000);
    std::string v(len, '\0');
    for (size_t j = 0; j < len; j++)
        v[j] = char((i * 131 + long(j) * 7) & 0xff);
    return v;
}

} // namespace unicache_test
