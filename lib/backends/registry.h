// The table of backends by URI scheme. Adding a backend: one folder under
// lib/backends/, one line in registry.cpp, one backend.cmake fragment.
#pragma once

#include <string>

#include "core/backend.h"

namespace unicache {

// Returns the factory for scheme. Throws CACHE_EINVAL for an unknown scheme
// (listing the known ones) and CACHE_ENOTSUP for one this build left out.
BackendFactory find_backend(const std::string &scheme);

} // namespace unicache
