// The argument checks every extern "C" entry point shares (capi.cpp,
// lease_capi.cpp): a documented CACHE_EINVAL with a message, never a crash.
#pragma once

#include <cstddef>

#include "capi/guard.h"
#include "core/bytes.h"
#include "unicache.h"

namespace unicache {
namespace capi {

inline int invalid(const char *message)
{
    set_last_error(CACHE_EINVAL, message);
    return CACHE_EINVAL;
}

// NULL data is allowed only with length 0 (then it reads as "").
inline bool bytes_ok(const void *p, size_t n)
{
    return p != nullptr || n == 0;
}

inline Bytes as_bytes(const void *p, size_t n)
{
    return Bytes(p ? static_cast<const char *>(p) : "", n);
}

inline void reset(cache_buf *b)
{
    if (b) {
        b->data = nullptr;
        b->size = 0;
    }
}

} // namespace capi
} // namespace unicache

#define CHECK_HANDLE(c)                                                                            \
    do {                                                                                           \
        if (!(c))                                                                                  \
            return unicache::capi::invalid("cache handle is NULL");                                \
    } while (0)
#define CHECK_KEY(k, n)                                                                            \
    do {                                                                                           \
        if (!(k))                                                                                  \
            return unicache::capi::invalid("key pointer is NULL");                                 \
    } while (0)
