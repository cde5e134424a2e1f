// The one place where C++ exceptions become status codes. Every extern "C"
// function runs its body through guard(), which records the message for
// cache_last_error() and never lets an exception cross the C boundary.
#pragma once

#include <new>
#include <string>

#include "capi/in_flight.h"
#include "core/cache.h"
#include "core/error.h"
#include "core/log.h"

struct cache {
    std::unique_ptr<unicache::Cache> impl;
    unicache::InFlight in_flight; // cache_close waits for the calls it counts
};

namespace unicache {

void set_last_error(int status, const char *message);
void clear_last_error();

template <typename Body> int guard_call(cache_t *handle, Body &&body) noexcept
{
    InFlightCall in_flight(handle ? &handle->in_flight : nullptr);
    int status;
    try {
        status = body();
        return status;
    } catch (const std::bad_alloc &) {
        status = CACHE_ENOMEM;
        set_last_error(status, "out of memory");
    } catch (const Error &e) {
        status = e.status();
        set_last_error(status, e.what());
    } catch (const std::exception &e) {
        status = CACHE_EINTERNAL;
        set_last_error(status, (std::string("internal error: ") + e.what()).c_str());
    } catch (...) {
        status = CACHE_EINTERNAL;
        set_last_error(status, "internal error: unknown exception");
    }
    if (handle && handle->impl)
        handle->impl->count_error();
    return status;
}

// Runs body, then hands the log lines it produced to the log handler: here
// no lock of the library is held and the call no longer counts as in
// flight, so a handler may call anything (cache_close of this handle too).
template <typename Body> int guard(cache_t *handle, Body &&body) noexcept
{
    int status = guard_call(handle, body);
    deliver_log();
    return status;
}

} // namespace unicache
