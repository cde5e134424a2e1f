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

// Phase one of open_backend alone: every parameter of config (of every
// tier and the fallback, for a tiered one) checked, nothing connected or
// opened. Throws what open_backend throws for a bad configuration. A
// composite runs it on all its parts before it opens the first, so that a
// typo in its last part is CACHE_EINVAL at once, not after the first
// part's connection attempts.
void check_backend(Config config);

// Tiers (tiered_open.cpp): config.scheme is "tiered" or "tiered+<scheme>".
std::unique_ptr<Backend> open_tiered(Config &config);
void check_tiered(Config &config);

} // namespace unicache
