// Cache's half of stampede protection: the waiting, the early-refresh
// election and the compute timing, above every backend's Backend::lease_*.
#include <algorithm>
#include <string>

#include "core/cache.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/hash.h"

namespace unicache {

namespace {

// Between two looks at a held lease: 1 ms, doubling to 50 ms. A waiter
// sees the value at most 50 ms after it lands (in-process backends wake
// it at once), and a herd of 32 waiters costs the backend ~20 reads/s
// each once backed off.
constexpr int64_t kFirstBackoffMs = 1;
constexpr int64_t kMaxBackoffMs = 50;

} // namespace

uint64_t Cache::lease_check(Bytes full) const
{
    uint64_t h = hash_bytes(full.data(), full.size());
    return detail::mix(h ^ uint64_t(reinterpret_cast<uintptr_t>(this)), 0x9E3779B97F4A7C15ull) | 1;
}

void Cache::check_lease(Bytes key, const Lease &lease) const
{
    if (lease.token == 0)
        fail(CACHE_EINVAL, "the lease is not held: it was never granted, or "
                           "cache_lease_set / cache_lease_release already ended it");
    if (lease.check != lease_check(full_key(key)))
        fail(CACHE_EINVAL, "the lease was granted for another key or another cache handle");
}

int Cache::lease_get(Bytes key, bool nowait, OwnedBuffer *out, Lease *lease,
                     const StampedeSettings &settings)
{
    OpTimer timer(*this, Op::lease_get);
    if (lease->token != 0)
        fail(CACHE_EINVAL, "the lease already holds a lease: cache_lease_set or "
                           "cache_lease_release it first");
    std::string k(full_key(key)); // full_key's scratch does not survive the waits
    LeaseRequest req;
    req.token = new_lease_token();
    req.lease_ttl_ms = settings.lease_ttl_ms;
    req.want_meta = settings.early_refresh > 0;
    req.stale_extend_ms = settings.stale_ttl_ms;
    int64_t deadline = monotonic_ms() + settings.lock_timeout_ms;
    int64_t backoff = kFirstBackoffMs;
    bool elected = false;
    for (;;) {
        LeaseReply r;
        backend_->lease_get(k, req, &r);
        if (r.state == LeaseState::hit && !r.granted && !elected &&
            xfetch_elects(r.fresh_left_ms, r.compute_ms, settings.early_refresh, req.token)) {
            // Ask again for the lease alone; whoever asked first has it.
            elected = true;
            req.early = true;
            continue;
        }
        switch (r.state) {
        case LeaseState::hit:
        case LeaseState::stale:
            counters_.add(timer.slot(), Counter::hits);
            if (r.granted)
                *lease = Lease{r.token ? r.token : req.token, lease_check(k), monotonic_ns()};
            unframe(&r.value);
            *out = std::move(r.value);
            return r.state == LeaseState::hit ? CACHE_OK : CACHE_STALE;
        case LeaseState::granted:
            counters_.add(timer.slot(), Counter::misses);
            *lease = Lease{r.token ? r.token : req.token, lease_check(k), monotonic_ns()};
            return CACHE_MISS;
        case LeaseState::busy:
            break;
        }
        if (nowait)
            return CACHE_WAIT;
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) {
            counters_.add(timer.slot(), Counter::misses);
            return CACHE_MISS; // no lease: compute without storing
        }
        backend_->lease_wait(k, std::min(backoff, left));
        backoff = std::min(backoff * 2, kMaxBackoffMs);
    }
}

bool Cache::lease_set(Bytes key, Lease *lease, Bytes value, int64_t ttl_ms,
                      const StampedeSettings &settings, const Bytes *tags, size_t ntags)
{
    OpTimer timer(*this, Op::lease_set);
    check_lease(key, *lease);
    Lease held = *lease;
    *lease = Lease{};
    std::string k(full_key(key));
    LeaseFill fill;
    KeyBatch named;
    try {
        fill.ttl_ms = resolve_ttl(ttl_ms);
        if (ntags) {
            full_tags(tags, ntags, &named);
            fill.tags = named.data();
            fill.ntags = ntags;
        }
    } catch (...) {
        // Ended whatever happens: nobody else may wait on a bad TTL.
        try {
            backend_->lease_release(k, held.token);
        } catch (...) {
        }
        throw;
    }
    fill.stale_ttl_ms = settings.stale_ttl_ms;
    fill.keep_meta = settings.keep_meta();
    fill.compute_ms = std::max<int64_t>(0, (monotonic_ns() - held.started_ns) / 1000000);
    bool stored = backend_->lease_set(k, held.token, stored_form(value), fill);
    if (stored)
        counters_.add(timer.slot(), Counter::sets);
    return stored;
}

void Cache::lease_release(Bytes key, Lease *lease)
{
    check_lease(key, *lease);
    uint64_t token = lease->token;
    *lease = Lease{};
    backend_->lease_release(full_key(key), token);
}

void Cache::set_with_meta(Bytes full, Bytes value, int64_t ttl)
{
    LeaseFill fill;
    fill.ttl_ms = ttl;
    fill.stale_ttl_ms = stampede_.stale_ttl_ms;
    fill.keep_meta = true;
    backend_->lease_set(full, 0, value, fill);
}

} // namespace unicache
