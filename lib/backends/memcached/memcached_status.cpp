#include "memcached_status.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace unicache {

bool memcached_is_error(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_NOTFOUND:
    case MEMCACHED_END:
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
    case MEMCACHED_STORED:
    case MEMCACHED_DELETED:
    case MEMCACHED_BUFFERED:
        return false;
    default:
        return true;
    }
}

bool memcached_auth_refused(const memcached_st *mc)
{
    const char *m = memcached_last_error_message(mc);
    return m && (std::strstr(m, "unauthenticated") || std::strstr(m, "authentication failure"));
}

int memcached_status(const memcached_st *mc, memcached_return_t rc)
{
    // An mget that reached only some servers reports the real cause as the
    // last error.
    if ((rc == MEMCACHED_SOME_ERRORS || rc == MEMCACHED_FAILURE) && mc &&
        memcached_is_error(memcached_last_error(mc)))
        rc = memcached_last_error(mc);
    switch (rc) {
    case MEMCACHED_CLIENT_ERROR:
        // memcached -Y answers every command on a connection that has not
        // logged in with "CLIENT_ERROR unauthenticated", and a refused
        // login with "CLIENT_ERROR authentication failure".
        if (mc && memcached_auth_refused(mc))
            return CACHE_EAUTH;
        return CACHE_EIO;
    case MEMCACHED_TIMEOUT:
        return CACHE_ETIMEOUT;
    case MEMCACHED_E2BIG:
        return CACHE_ETOOBIG;
    case MEMCACHED_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
        return CACHE_ENOMEM;
    case MEMCACHED_AUTH_PROBLEM:
    case MEMCACHED_AUTH_FAILURE:
    case MEMCACHED_AUTH_CONTINUE:
        return CACHE_EAUTH;
    case MEMCACHED_ERRNO:
        if (mc && (memcached_last_error_errno(mc) == ETIMEDOUT ||
                   memcached_last_error_errno(mc) == EAGAIN))
            return CACHE_ETIMEOUT;
        return CACHE_EUNAVAILABLE;
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
    case MEMCACHED_CONNECTION_BIND_FAILURE:
    case MEMCACHED_HOST_LOOKUP_FAILURE:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_FAIL_UNIX_SOCKET:
    case MEMCACHED_SOME_ERRORS:
    case MEMCACHED_FAILURE:
        return CACHE_EUNAVAILABLE;
    default:
        return CACHE_EIO;
    }
}

std::string memcached_detail(const memcached_st *mc, memcached_return_t rc)
{
    std::string text;
    if (mc && memcached_last_error(mc) != MEMCACHED_SUCCESS)
        text = memcached_last_error_message(mc);
    if (text.empty())
        return memcached_strerror(mc, rc);
    // "(0x55d0c1a0) CONNECTION FAILURE(Connection refused),  host: h:p -> file.cc:12"
    if (text.size() > 2 && text[0] == '(') {
        size_t close = text.find(") ");
        if (close != std::string::npos)
            text.erase(0, close + 2);
    }
    size_t arrow = text.rfind(" -> ");
    if (arrow != std::string::npos)
        text.erase(arrow);
    size_t spaces;
    while ((spaces = text.find("  ")) != std::string::npos)
        text.erase(spaces, 1);
    return text;
}

void fail_memcached(const memcached_st *mc, memcached_return_t rc, const std::string &what)
{
    fail(memcached_status(mc, rc), "memcached " + what + " failed: " + memcached_detail(mc, rc));
}

} // namespace unicache
