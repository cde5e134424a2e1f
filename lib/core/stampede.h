// Stampede protection above the Backend interface: the four parameters
// every backend accepts, lease tokens, and the early-refresh (XFetch)
// election. The per-key atomic steps are each backend's (Backend::lease_*);
// waiting, electing and timing the computes are here, once.
#pragma once

#include <cstdint>

#include "config.h"

namespace unicache {

struct StampedeSettings {
    int64_t lease_ttl_ms = 10000;   // a crashed holder blocks a key this long at most
    int64_t lock_timeout_ms = 5000; // a waiter waits this long, then computes itself
    int64_t stale_ttl_ms = 0;       // serve the old value this long after expiry
    double early_refresh = 0;       // XFetch's beta; 0: off

    // Fills keep a stale copy or a compute time only when asked to.
    bool keep_meta() const { return stale_ttl_ms > 0 || early_refresh > 0; }

    // Takes lease_ttl, lock_timeout, stale_ttl and early_refresh from params
    // (CACHE_EINVAL naming the parameter for a bad value).
    static StampedeSettings take(Params &params);
};

// A random token for one lease: never 0, unlike any other process's or
// thread's (the kernel's random bytes, so a forked child does not repeat
// its parent's).
uint64_t new_lease_token();

// XFetch (Vattani, Chierichetti and Lowenstein, VLDB 2015): recompute when
// now - compute * beta * ln(u) >= expiry, u uniform in (0, 1] (taken from
// the token's bits). Never with an unknown compute time or expiry.
bool xfetch_elects(int64_t fresh_left_ms, int64_t compute_ms, double beta, uint64_t random_bits);

} // namespace unicache
