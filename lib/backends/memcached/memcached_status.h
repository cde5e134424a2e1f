// Turning libmemcached results into unicache statuses and messages.
#pragma once

#include <libmemcached/memcached.h>

#include <string>

namespace unicache {

// Whether mc's last error is memcached -Y refusing the connection
// ("unauthenticated": no login yet; "authentication failure": a wrong one).
bool memcached_auth_refused(const memcached_st *mc);

// The unicache status for a failed libmemcached call.
int memcached_status(const memcached_st *mc, memcached_return_t rc);

// libmemcached's description of the last error on mc (it names the server),
// without the pointer and source location it adds for its own debugging.
std::string memcached_detail(const memcached_st *mc, memcached_return_t rc);

// Throws unicache::Error: "memcached <what> failed: <detail>".
[[noreturn]] void fail_memcached(const memcached_st *mc, memcached_return_t rc,
                                 const std::string &what);

// True for the results that mean "this call failed", as opposed to an answer
// such as NOTFOUND, NOTSTORED or DATA_EXISTS.
bool memcached_is_error(memcached_return_t rc);

} // namespace unicache
