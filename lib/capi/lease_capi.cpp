// The extern "C" surface of stampede protection: cache_lease_*,
// cache_buf_alloc and cache_fetch, a thin loop over the lease calls.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "capi/checks.h"
#include "capi/guard.h"
#include "core/expiry.h"
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

// The settings one call runs with: the cache's, with opts' fields over
// them. CACHE_EINVAL names the field that is out of its range.
int settings_for(cache_t *c, const cache_fetch_options *opts, unicache::StampedeSettings *out)
{
    *out = c->impl->stampede();
    if (!opts)
        return CACHE_OK;
    if (opts->version == 0 || opts->version > CACHE_FETCH_OPTIONS_VERSION)
        return invalid("cache_fetch_options.version is not a version this library knows; "
                       "initialise options with CACHE_FETCH_OPTIONS_INIT or "
                       "cache_fetch_options_init()");
    struct Field {
        cache_int64 value;
        int64_t min;
        int64_t *into;
        const char *message;
    } fields[] = {
        {opts->lease_ttl_ms, 1, &out->lease_ttl_ms,
         "cache_fetch_options.lease_ttl_ms must be CACHE_FETCH_KEEP (-1) or 1 to "
         "2305843009213693951 (INT64_MAX / 4)"},
        {opts->lock_timeout_ms, 0, &out->lock_timeout_ms,
         "cache_fetch_options.lock_timeout_ms must be CACHE_FETCH_KEEP (-1) or 0 to "
         "2305843009213693951 (INT64_MAX / 4)"},
        {opts->stale_ttl_ms, 0, &out->stale_ttl_ms,
         "cache_fetch_options.stale_ttl_ms must be CACHE_FETCH_KEEP (-1) or 0 to "
         "2305843009213693951 (INT64_MAX / 4)"},
    };
    for (const Field &f : fields) {
        if (f.value == CACHE_FETCH_KEEP)
            continue;
        if (f.value < f.min || f.value > unicache::kMaxTtlMs)
            return invalid(f.message);
        *f.into = f.value;
    }
    double beta = opts->early_refresh;
    if (beta != beta || beta > 100)
        return invalid("cache_fetch_options.early_refresh must be negative (keep the cache's), "
                       "or 0 (off) to 100; it is NaN or above 100");
    if (beta >= 0)
        out->early_refresh = beta;
    return CACHE_OK;
}

} // namespace

extern "C" {

CACHE_EXTERN(int) cache_fetch_options_init(cache_fetch_options *opts, unsigned version)
{
    if (!opts)
        return invalid("options pointer is NULL");
    if (version == 0 || version > CACHE_FETCH_OPTIONS_VERSION)
        return invalid("unknown cache_fetch_options version");
    cache_fetch_options init = CACHE_FETCH_OPTIONS_INIT;
    init.version = version;
    *opts = init;
    return CACHE_OK;
}

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
    return cache_lease_get_ext(c, key, key_len, flags, nullptr, value, lease);
}

CACHE_EXTERN(int)
cache_lease_get_ext(cache_t *c, const void *key, size_t key_len, unsigned flags,
                    const cache_fetch_options *opts, cache_buf *value, cache_lease *lease)
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
    unicache::StampedeSettings settings;
    if (int bad = settings_for(c, opts, &settings))
        return bad;
    return guard(c, [&] {
        Lease l = from_c(*lease);
        OwnedBuffer buf;
        int rc = c->impl->lease_get(as_bytes(key, key_len), (flags & CACHE_LEASE_NOWAIT) != 0, &buf,
                                    &l, settings);
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
    return cache_lease_set_ext(c, key, key_len, lease, value, value_len, ttl_ms, nullptr);
}

CACHE_EXTERN(int)
cache_lease_set_ext(cache_t *c, const void *key, size_t key_len, cache_lease *lease,
                    const void *value, size_t value_len, cache_int64 ttl_ms,
                    const cache_fetch_options *opts)
{
    return cache_lease_set_tagged(c, key, key_len, lease, value, value_len, ttl_ms, nullptr, 0,
                                  opts);
}

CACHE_EXTERN(int)
cache_lease_set_tagged(cache_t *c, const void *key, size_t key_len, cache_lease *lease,
                       const void *value, size_t value_len, cache_int64 ttl_ms,
                       const cache_slice *tags, size_t ntags, const cache_fetch_options *opts)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!lease)
        return invalid("lease pointer is NULL");
    if (!value && value_len)
        return invalid("value pointer is NULL but value_len is not 0");
    if (ntags && !tags)
        return invalid("tags is NULL but ntags is not 0");
    // Every tag is checked before the lease is touched: a bad one leaves it held.
    for (size_t i = 0; i < ntags; i++) {
        if (!tags[i].data && tags[i].size)
            return invalid(("tag " + std::to_string(i) + " has NULL data").c_str());
        if (tags[i].size == 0 || tags[i].size > CACHE_KEY_MAX)
            return invalid(("tag " + std::to_string(i) +
                            " must be 1 to CACHE_KEY_MAX (65536) "
                            "bytes long")
                               .c_str());
    }
    unicache::StampedeSettings settings;
    if (int bad = settings_for(c, opts, &settings))
        return bad;
    return guard(c, [&] {
        std::vector<Bytes> named(ntags);
        for (size_t i = 0; i < ntags; i++)
            named[i] = as_bytes(tags[i].data, tags[i].size);
        Lease l = from_c(*lease);
        c->impl->check_lease(as_bytes(key, key_len), l);
        to_c(Lease{}, lease); // ended whatever happens from here on
        if (c->impl->lease_set(as_bytes(key, key_len), &l, as_bytes(value, value_len), ttl_ms,
                               settings, named.data(), ntags))
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
    return cache_fetch_ext(c, key, key_len, compute, ctx, ttl_ms, nullptr, value);
}

CACHE_EXTERN(int)
cache_fetch_ext(cache_t *c, const void *key, size_t key_len, cache_compute_fn compute, void *ctx,
                cache_int64 ttl_ms, const cache_fetch_options *opts, cache_buf *value)
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
    // Without opts (cache_fetch) the hit below reads the cache's setting
    // in place: no copy of the settings on the hit path.
    unicache::StampedeSettings settings;
    if (opts) {
        if (int bad = settings_for(c, opts, &settings))
            return bad;
    }
    double beta = opts ? settings.early_refresh : c->impl->stampede().early_refresh;
    // Declared first so that it ends last: the timer below touches the
    // handle when it ends, and cache_close may free it once this is gone.
    std::optional<unicache::InFlightCall> in_flight;
    // "fetch" in the latency histograms: the whole call after a miss, the
    // compute included (a hit below is timed once, as the get it is).
    std::optional<unicache::Cache::OpTimer> timer;
    // A hit costs what cache_get costs when nothing needs the entry's
    // metadata (no early refresh): no lease is asked for. Its miss is not
    // counted: the lease read below counts the caller's one miss.
    if (beta <= 0) {
        int rc = guard(c, [&] {
            OwnedBuffer buf;
            if (!c->impl->get_uncounted_miss(as_bytes(key, key_len), &buf))
                return CACHE_MISS;
            buf.release_to(value);
            return CACHE_OK;
        });
        if (rc != CACHE_MISS)
            return rc;
    }
    // From here cache_close waits for the whole fetch, the compute
    // included: the lease calls after it use the handle.
    in_flight.emplace(&c->in_flight);
    timer.emplace(*c->impl, unicache::Op::fetch);
    cache_lease lease = CACHE_LEASE_INIT;
    cache_buf old = {nullptr, 0};
    int got = cache_lease_get_ext(c, key, key_len, 0, opts, &old, &lease);
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
        int set = cache_lease_set_ext(c, key, key_len, &lease, fresh.data, fresh.size, ttl, opts);
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
