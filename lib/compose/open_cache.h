// The open step: configuration -> registry -> factories -> a tree of
// backends, handed to the core. Above the backends and the core; the C API
// is its only caller.
#pragma once

#include <memory>
#include <string>

#include "core/cache.h"
#include "core/config.h"
#include "unicache.h"

namespace unicache {

// Parses uri (or JSON), applies opts (may be NULL), opens the backends.
std::unique_ptr<Cache> open_cache(const std::string &text, const cache_options *opts);

// The backend config describes (a tiered one for "tiered" and "tiered+..."),
// every parameter validated before anything connects. config.prefix is the
// whole cache's prefix.
std::unique_ptr<Backend> open_backend(Config &config);

// Tiers (tiered_open.cpp): config.scheme is "tiered" or "tiered+<scheme>".
std::unique_ptr<Backend> open_tiered(Config &config);

} // namespace unicache
