// Errors inside the library: one exception type carrying a unicache status.
// The C layer (capi/) turns it into the status code and cache_last_error().
#pragma once

#include <stdexcept>
#include <string>

#include "unicache.h"

namespace unicache {

class Error : public std::runtime_error {
public:
    Error(int status, const std::string &message) : std::runtime_error(message), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

[[noreturn]] inline void fail(int status, const std::string &message)
{
    throw Error(status, message);
}

} // namespace unicache
