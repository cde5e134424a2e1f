// The extern "C" surface of stampede protection: cache_lease_*,
// cache_buf_alloc and cache_fetch, a thin loop over the lease calls.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "capi/checks.h"
#include "capi/guard.h"
#include "unicache.h"

using unicache::Bytes;
using unicache::guard;
using unicache::Lease;
using unicache::OwnedBuffer;
using unicache::capi::as_bytes;
using unicache::capi::invalid;

namespace {

Lease from_c(const cache_lease &l)
{
    return Lease{uint64_t(l.token_), uint64_t(l.check_), l.started_};
}

void to_c(const Lease &l, cache_lease *out)
{
    out->token_ = cache_int64(l.token);
    out->check_ = cache_int64(l.check);
    out->started_ = l.started_ns;
}

// The statuses a compute may return besides CACHE_OK: the library's own
// errors. Anything else is a bug in the callback, reported as such.
bool known_error(int status)
{
    return status <= CACHE_EINVAL && status >= CACHE_ELEASE;
}

// What a compute left in *value, taken over; CACHE_EINVAL for a shape
// cache_buf_alloc never gives.
int adopt(cache_buf *value)
{
    if (value->data == nullptr && value->size != 0) {
        value->size = 0;
        return invalid("cache_fetch: compute returned CACHE_OK with value.data NULL and "
                       "value.size not 0");
    }
    return CACHE_OK;
}

} // namespace

extern "C" {

CACHE_EXTERN(void) cache_lease_init(cache_lease *lease)
{
    if (lease) {
        cache_lease init = CACHE_LEASE_INIT;
        *lease = init;
    }
}

CACHE_EXTERN(int) cache_lease_held(const cache_lease *lease)
{
    return lease && lease->token_ != 0 ? 1 : 0;
}

CACHE_EXTERN(int)
cache_lease_get(cache_t *c, const void *key, size_t key_len, unsigned flags, cache_buf *value,
                cache_lease *lease)
{
    if (value) {
        value->data = nullptr;
        value->size = 0;
    }
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!value)
        return invalid("value buffer pointer is NULL");
    if (!lease)
        return invalid("lease pointer is NULL");
    if (flags & ~CACHE_LEASE_NOWAIT)
        return invalid("cache_lease_get: unknown flag bits; the known flag is "
                       "CACHE_LEASE_NOWAIT");
    return guard(c, [&] {
        Lease l = from_c(*lease);
        OwnedBuffer buf;
        int rc =
            c->impl->lease_get(as_bytes(key, key_len), (flags & CACHE_LEASE_NOWAIT) != 0, &buf, &l);
        to_c(l, lease);
        if (rc == CACHE_OK || rc == CACHE_STALE)
            buf.release_to(value);
        return rc;
    });
}

CACHE_EXTERN(int)
cache_lease_set(cache_t *c, const void *key, size_t key_len, cache_lease *lease, const void *value,
                size_t value_len, cache_int64 ttl_ms)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!lease)
        return invalid("lease pointer is NULL");
    if (!value && value_len)
        return invalid("value pointer is NULL but value_len is not 0");
    return guard(c, [&] {
        Lease l = from_c(*lease);
        c->impl->check_lease(as_bytes(key, key_len), l);
        to_c(Lease{}, lease); // ended whatever happens from here on
        if (c->impl->lease_set(as_bytes(key, key_len), &l, as_bytes(value, value_len), ttl_ms))
            return CACHE_OK;
        unicache::set_last_error(CACHE_ELEASE,
                                 "the lease was lost (the key was deleted or set since it was "
                                 "granted, or it expired and another caller took it over): "
                                 "nothing was stored");
        return CACHE_ELEASE;
    });
}

CACHE_EXTERN(int)
cache_lease_release(cache_t *c, const void *key, size_t key_len, cache_lease *lease)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!lease)
        return invalid("lease pointer is NULL");
    return guard(c, [&] {
        Lease l = from_c(*lease);
        c->impl->check_lease(as_bytes(key, key_len), l);
        to_c(Lease{}, lease);
        c->impl->lease_release(as_bytes(key, key_len), &l);
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_buf_alloc(cache_buf *buf, size_t size)
{
    if (!buf)
        return invalid("buffer pointer is NULL");
    buf->data = nullptr;
    buf->size = 0;
    if (size > SIZE_MAX / 2) {
        unicache::set_last_error(CACHE_ETOOBIG, ("cache_buf_alloc: " + std::to_string(size) +
                                                 " bytes is more than any backend stores")
                                                    .c_str());
        return CACHE_ETOOBIG;
    }
    if (size == 0)
        return CACHE_OK;
    void *p = std::malloc(size + 1);
    if (!p) {
        unicache::set_last_error(
            CACHE_ENOMEM,
            ("cache_buf_alloc: out of memory for " + std::to_string(size) + " bytes").c_str());
        return CACHE_ENOMEM;
    }
    static_cast<char *>(p)[size] = '\0';
    buf->data = p;
    buf->size = size;
    return CACHE_OK;
}

CACHE_EXTERN(int)
cache_fetch(cache_t *c, const void *key, size_t key_len, cache_compute_fn compute, void *ctx,
            cache_int64 ttl_ms, cache_buf *value)
{
    if (value) {
        value->data = nullptr;
        value->size = 0;
    }
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!compute)
        return invalid("compute callback is NULL");
    if (!value)
        return invalid("value buffer pointer is NULL");
    if (ttl_ms < CACHE_TTL_DEFAULT)
        return invalid("cache_fetch: TTL is negative; use CACHE_TTL_DEFAULT (-1) or "
                       "CACHE_TTL_NONE (0)");
    // "fetch" in the latency histograms: the whole call, compute included.
    std::optional<unicache::Cache::OpTimer> timer;
    if (c->impl)
        timer.emplace(*c->impl, unicache::Op::fetch);
    // A hit costs what cache_get costs when nothing needs the entry's
    // metadata (no early refresh): no lease is asked for.
    if (c->impl && c->impl->stampede().early_refresh <= 0) {
        int rc = cache_get(c, key, key_len, value);
        if (rc != CACHE_MISS)
            return rc;
    }
    // From here cache_close waits for the whole fetch, the compute
    // included: the lease calls after it use the handle.
    unicache::InFlightCall in_flight(&c->in_flight);
    cache_lease lease = CACHE_LEASE_INIT;
    cache_buf old = {nullptr, 0};
    int got = cache_lease_get(c, key, key_len, 0, &old, &lease);
    if (got < 0 || !cache_lease_held(&lease)) {
        // A hit, a stale value someone else refreshes, an error, or a
        // miss after lock_timeout: then compute without storing.
        if (got != CACHE_MISS) {
            *value = old;
            return got;
        }
    }
    cache_buf fresh = {nullptr, 0};
    cache_int64 ttl = ttl_ms;
    int rc = compute(ctx, key, key_len, &fresh, &ttl);
    if (rc == CACHE_OK)
        rc = adopt(&fresh);
    else if (!known_error(rc)) {
        std::string m = "cache_fetch: compute returned " + std::to_string(rc) +
                        ", which is neither CACHE_OK nor a negative CACHE_E* status";
        cache_buf_free(&fresh);
        rc = invalid(m.c_str());
    }
    if (rc == CACHE_OK && ttl < CACHE_TTL_DEFAULT) {
        cache_buf_free(&fresh);
        rc = invalid("cache_fetch: compute set a negative TTL; use CACHE_TTL_DEFAULT (-1), "
                     "CACHE_TTL_NONE (0) or a positive ms count");
    }
    if (rc != CACHE_OK) {
        cache_buf_free(&fresh);
        if (cache_lease_held(&lease)) {
            std::string keep = cache_last_error();
            int saved = rc;
            cache_lease_release(c, key, key_len, &lease);
            unicache::set_last_error(saved, keep.c_str());
        }
        // A failed early refresh still has a fresh value to give.
        if (got == CACHE_OK) {
            *value = old;
            return CACHE_OK;
        }
        cache_buf_free(&old);
        return rc;
    }
    cache_buf_free(&old);
    if (cache_lease_held(&lease)) {
        int set = cache_lease_set(c, key, key_len, &lease, fresh.data, fresh.size, ttl);
        // Lost (a delete during the compute): returned, not stored.
        if (set != CACHE_OK && set != CACHE_ELEASE) {
            cache_buf_free(&fresh);
            return set;
        }
    }
    *value = fresh;
    return CACHE_OK;
}

} // extern "C"
