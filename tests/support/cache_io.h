// Small helpers every test binary may share (libgit2's backend_helpers):
// string reads and writes through the C API, and opening with a status.
#pragma once

#include <string>

#include "unicache.h"

namespace unicache_test {

inline std::string get_string(cache_t *c, const std::string &k, int *rc_out = nullptr)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_get(c, k.data(), k.size(), &b);
    if (rc_out)
        *rc_out = rc;
    std::string out = rc == CACHE_OK ? std::string(static_cast<char *>(b.data), b.size) : "";
    cache_buf_free(&b);
    return out;
}

inline int set_string(cache_t *c, const std::string &k, const std::string &v,
                      cache_int64 ttl = CACHE_TTL_NONE)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), ttl);
}

// Opens uri; *message gets cache_last_error() on failure. The handle is
// closed unless out is given.
inline int open_with_status(const std::string &uri, std::string *message = nullptr,
                            cache_t **out = nullptr)
{
    cache_t *c = nullptr;
    int rc = cache_open(uri.c_str(), &c);
    if (message)
        *message = rc == CACHE_OK ? "" : cache_last_error();
    if (out)
        *out = c;
    else
        cache_close(c);
    return rc;
}

inline std::string stats_of(cache_t *c)
{
    cache_buf j = {nullptr, 0};
    if (cache_stats_json(c, &j) != CACHE_OK)
        return "";
    std::string s(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    return s;
}

} // namespace unicache_test
