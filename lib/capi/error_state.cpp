// Thread-local last-error text and the static status descriptions.
#include <string>

#include "capi/guard.h"

namespace unicache {

namespace {
thread_local std::string t_last_error;
}

void set_last_error(int status, const char *message)
{
    try {
        t_last_error.assign(cache_strerror(status));
        t_last_error.append(": ");
        t_last_error.append(message);
    } catch (...) {
        // Out of memory while recording an error: keep whatever fits.
    }
}

void clear_last_error()
{
    t_last_error.clear();
}

} // namespace unicache

extern "C" {

CACHE_EXTERN(const char *) cache_last_error(void)
{
    return unicache::t_last_error.c_str();
}

CACHE_EXTERN(const char *) cache_strerror(int status)
{
    switch (status) {
    case CACHE_OK:
        return "success";
    case CACHE_MISS:
        return "not found";
    case CACHE_STALE:
        return "stale value";
    case CACHE_WAIT:
        return "another caller holds the lease";
    case CACHE_EINVAL:
        return "invalid argument";
    case CACHE_ENOMEM:
        return "out of memory";
    case CACHE_EUNAVAILABLE:
        return "backend unavailable";
    case CACHE_ETIMEOUT:
        return "timed out";
    case CACHE_ENOTSUP:
        return "not supported";
    case CACHE_ETOOBIG:
        return "too big";
    case CACHE_ENAN:
        return "not a number";
    case CACHE_EIO:
        return "I/O error";
    case CACHE_ECORRUPT:
        return "corrupt or foreign store";
    case CACHE_EVERSION:
        return "store written by a newer version";
    case CACHE_EAUTH:
        return "authentication failed";
    case CACHE_ERANGE:
        return "out of range";
    case CACHE_EINTERNAL:
        return "internal error";
    case CACHE_ELEASE:
        return "lease lost";
    default:
        return "unknown status";
    }
}

CACHE_EXTERN(const char *) cache_version(void)
{
    return CACHE_VERSION_STRING;
}

} // extern "C"
