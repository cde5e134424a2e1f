// The extern "C" surface: argument checks, then one call into the core.
// Everything that can throw runs inside guard().
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "capi/checks.h"
#include "capi/guard.h"
#include "compose/open_cache.h"
#include "unicache.h"

using unicache::Bytes;
using unicache::guard;
using unicache::OwnedBuffer;
using unicache::capi::as_bytes;
using unicache::capi::bytes_ok;
using unicache::capi::invalid;
using unicache::capi::reset;

namespace {

// The items of one batch call, on the stack up to kOnStack of them. On the
// heap, a 100-key batch asks for over 1 KB at once, which makes glibc merge
// its fast bins first; every small allocation after that (a value per hit)
// then takes its slow path: ~150 instructions per key of cache_get_many
// when the caller frees the values between batches (callgrind,
// bench/memcached_bench).
template <typename T> class Batch {
public:
    explicit Batch(size_t n) : n_(n)
    {
        if (n > kOnStack) {
            heap_.reset(new T[n]());
            p_ = heap_.get();
        } else {
            T *p = reinterpret_cast<T *>(local_);
            std::uninitialized_value_construct_n(p, n);
            p_ = std::launder(p);
        }
    }
    ~Batch()
    {
        if (!heap_)
            std::destroy_n(p_, n_);
    }
    Batch(const Batch &) = delete;
    Batch &operator=(const Batch &) = delete;
    T *data() { return p_; }
    T &operator[](size_t i) { return p_[i]; }

private:
    static constexpr size_t kOnStack = 128;
    alignas(T) unsigned char local_[kOnStack * sizeof(T)];
    std::unique_ptr<T[]> heap_;
    size_t n_;
    T *p_;
};

// Views of the caller's slices; CACHE_EINVAL for NULL data with a length.
struct Slices : Batch<Bytes> {
    Slices(const cache_slice *s, size_t n) : Batch<Bytes>(n)
    {
        for (size_t i = 0; i < n; i++) {
            if (!bytes_ok(s[i].data, s[i].size))
                unicache::fail(CACHE_EINVAL, "item " + std::to_string(i) + " has NULL data");
            (*this)[i] = as_bytes(s[i].data, s[i].size);
        }
    }
};

// The calls that hand the caller a text the core builds (statistics,
// backend information): *out is {NULL, 0} unless CACHE_OK.
template <typename Make> int text_out(cache_t *c, cache_buf *out, const char *what, Make make)
{
    reset(out);
    if (!c)
        return invalid("cache handle is NULL");
    if (!out)
        return invalid((std::string(what) + " buffer pointer is NULL").c_str());
    return guard(c, [&] {
        OwnedBuffer b;
        b.assign(make());
        b.release_to(out);
        return CACHE_OK;
    });
}

} // namespace

extern "C" {

CACHE_EXTERN(int) cache_options_init(cache_options *opts, unsigned version)
{
    if (!opts)
        return invalid("options pointer is NULL");
    if (version == 0 || version > CACHE_OPTIONS_VERSION)
        return invalid("unknown cache_options version");
    cache_options init = CACHE_OPTIONS_INIT;
    init.version = version;
    *opts = init;
    return CACHE_OK;
}

CACHE_EXTERN(int) cache_open_ext(const char *uri, const cache_options *opts, cache_t **out)
{
    if (!out)
        return invalid("out pointer is NULL");
    *out = nullptr;
    if (opts && (opts->version == 0 || opts->version > CACHE_OPTIONS_VERSION))
        return invalid("cache_options.version is not a version this library knows; "
                       "initialise options with CACHE_OPTIONS_INIT or cache_options_init()");
    if (opts && opts->prefix == nullptr && opts->prefix_len != 0)
        return invalid("cache_options.prefix is NULL but prefix_len is not 0");
    return guard(nullptr, [&] {
        std::string text;
        if (uri && *uri) {
            text = uri;
        } else {
            const char *env = std::getenv("UNICACHE_URL");
            text = env && *env ? env : "memory://";
        }
        std::unique_ptr<cache> handle(new cache());
        handle->impl = unicache::open_cache(text, opts);
        *out = handle.release();
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_open(const char *uri, cache_t **out)
{
    return cache_open_ext(uri, nullptr, out);
}

CACHE_EXTERN(void) cache_close(cache_t *c)
{
    if (!c)
        return;
    c->in_flight.wait_idle();
    try {
        delete c;
    } catch (...) {
        // Destructors do not throw; nothing may cross into C regardless.
    }
    unicache::deliver_log();
}

CACHE_EXTERN(int) cache_set_log_handler(cache_log_fn fn, void *ctx, int min_level)
{
    if (min_level > CACHE_LOG_DEBUG)
        return invalid("min_level is above CACHE_LOG_DEBUG (4)");
    unicache::set_log_handler(fn, ctx, min_level);
    return CACHE_OK;
}

CACHE_EXTERN(void) cache_buf_free(cache_buf *buf)
{
    if (!buf)
        return;
    // Every cache_buf the library fills holds size + 1 bytes (a NUL after
    // the value), or less: release_buffer also asks malloc.
    unicache::release_buffer(buf->data, buf->size + 1);
    reset(buf);
}

CACHE_EXTERN(void) cache_buf_array_free(cache_buf_array *arr)
{
    if (!arr)
        return;
    for (size_t i = 0; arr->items && i < arr->count; i++)
        std::free(arr->items[i].data);
    std::free(arr->items);
    arr->items = nullptr;
    arr->count = 0;
}

CACHE_EXTERN(int)
cache_set(cache_t *c, const void *key, size_t key_len, const void *value, size_t value_len,
          cache_int64 ttl_ms)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!bytes_ok(value, value_len))
        return invalid("value pointer is NULL but value_len is not 0");
    return guard(c, [&] {
        c->impl->set(as_bytes(key, key_len), as_bytes(value, value_len), ttl_ms);
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_add(cache_t *c, const void *key, size_t key_len, const void *value, size_t value_len,
          cache_int64 ttl_ms)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!bytes_ok(value, value_len))
        return invalid("value pointer is NULL but value_len is not 0");
    return guard(c, [&] {
        return c->impl->add(as_bytes(key, key_len), as_bytes(value, value_len), ttl_ms)
                   ? CACHE_OK
                   : CACHE_MISS;
    });
}

CACHE_EXTERN(int) cache_get(cache_t *c, const void *key, size_t key_len, cache_buf *value)
{
    reset(value);
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!value)
        return invalid("value buffer pointer is NULL");
    return guard(c, [&] {
        OwnedBuffer buf;
        if (!c->impl->get(as_bytes(key, key_len), &buf))
            return CACHE_MISS;
        buf.release_to(value);
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_get_into(cache_t *c, const void *key, size_t key_len, void *dst, size_t capacity,
               size_t *size)
{
    if (size)
        *size = 0;
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!size)
        return invalid("size pointer is NULL");
    if (!dst && capacity)
        return invalid("dst is NULL but capacity is not 0");
    return guard(c, [&] {
        size_t n = 0;
        if (!c->impl->get_into(as_bytes(key, key_len), dst, capacity, &n))
            return CACHE_MISS;
        *size = n;
        if (n <= capacity)
            return CACHE_OK;
        unicache::set_last_error(CACHE_ETOOBIG,
                                 ("the value is " + std::to_string(n) +
                                  " bytes; the buffer holds " + std::to_string(capacity))
                                     .c_str());
        return CACHE_ETOOBIG;
    });
}

CACHE_EXTERN(int) cache_delete(cache_t *c, const void *key, size_t key_len)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    return guard(c, [&] { return c->impl->del(as_bytes(key, key_len)) ? CACHE_OK : CACHE_MISS; });
}

CACHE_EXTERN(int) cache_exists(cache_t *c, const void *key, size_t key_len)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    return guard(c,
                 [&] { return c->impl->exists(as_bytes(key, key_len)) ? CACHE_OK : CACHE_MISS; });
}

CACHE_EXTERN(int)
cache_incr(cache_t *c, const void *key, size_t key_len, cache_int64 delta, cache_int64 *result)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    return guard(c, [&] {
        int64_t v = c->impl->incr(as_bytes(key, key_len), delta);
        if (result)
            *result = v;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_decr(cache_t *c, const void *key, size_t key_len, cache_int64 delta, cache_int64 *result)
{
    if (delta == INT64_MIN) {
        unicache::set_last_error(CACHE_ERANGE, "decrement by INT64_MIN cannot be negated");
        return CACHE_ERANGE;
    }
    return cache_incr(c, key, key_len, -delta, result);
}

CACHE_EXTERN(int)
cache_incr_ext(cache_t *c, const void *key, size_t key_len, cache_int64 delta,
               cache_int64 ttl_ms_if_new, unsigned flags, cache_int64 *result)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (flags & ~CACHE_INCR_EXISTING)
        return invalid("cache_incr_ext: unknown flag bits; the known flag is "
                       "CACHE_INCR_EXISTING");
    return guard(c, [&] {
        int64_t v = 0;
        if (!c->impl->incr_ext(as_bytes(key, key_len), delta, ttl_ms_if_new,
                               (flags & CACHE_INCR_EXISTING) != 0, &v))
            return CACHE_MISS;
        if (result)
            *result = v;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_touch(cache_t *c, const void *key, size_t key_len, cache_int64 ttl_ms)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    return guard(
        c, [&] { return c->impl->touch(as_bytes(key, key_len), ttl_ms) ? CACHE_OK : CACHE_MISS; });
}

CACHE_EXTERN(int)
cache_expire_at(cache_t *c, const void *key, size_t key_len, cache_int64 unix_ms)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    return guard(c, [&] {
        return c->impl->expire_at(as_bytes(key, key_len), unix_ms) ? CACHE_OK : CACHE_MISS;
    });
}

CACHE_EXTERN(int) cache_ttl(cache_t *c, const void *key, size_t key_len, cache_int64 *ttl_ms)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!ttl_ms)
        return invalid("ttl_ms pointer is NULL");
    return guard(c, [&] {
        int64_t remaining = 0;
        if (!c->impl->ttl(as_bytes(key, key_len), &remaining))
            return CACHE_MISS;
        *ttl_ms = remaining;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_get_many(cache_t *c, const cache_slice *keys, size_t n, cache_buf *values, int *statuses)
{
    for (size_t i = 0; values && i < n; i++)
        reset(&values[i]);
    CHECK_HANDLE(c);
    if (n == 0)
        return CACHE_OK;
    if (!keys || !values || !statuses)
        return invalid("keys, values and statuses must not be NULL when n > 0");
    return guard(c, [&] {
        Slices k(keys, n);
        Batch<OwnedBuffer> bufs(n);
        c->impl->get_many(k.data(), n, bufs.data(), statuses);
        for (size_t i = 0; i < n; i++)
            bufs[i].release_to(&values[i]);
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_set_many(cache_t *c, const cache_slice *keys, const cache_slice *values, size_t n,
               cache_int64 ttl_ms)
{
    CHECK_HANDLE(c);
    if (n == 0)
        return CACHE_OK;
    if (!keys || !values)
        return invalid("keys and values must not be NULL when n > 0");
    return guard(c, [&] {
        Slices k(keys, n);
        Slices v(values, n);
        c->impl->set_many(k.data(), v.data(), n, ttl_ms);
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_delete_many(cache_t *c, const cache_slice *keys, size_t n, size_t *deleted)
{
    if (deleted)
        *deleted = 0;
    CHECK_HANDLE(c);
    if (n == 0)
        return CACHE_OK;
    if (!keys)
        return invalid("keys must not be NULL when n > 0");
    return guard(c, [&] {
        Slices k(keys, n);
        size_t removed = c->impl->del_many(k.data(), n);
        if (deleted)
            *deleted = removed;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_keys(cache_t *c, const void *pattern, size_t pattern_len, size_t limit, cache_buf_array *keys)
{
    if (keys) {
        keys->items = nullptr;
        keys->count = 0;
    }
    CHECK_HANDLE(c);
    if (!keys)
        return invalid("keys output pointer is NULL");
    if (!bytes_ok(pattern, pattern_len))
        return invalid("pattern pointer is NULL but pattern_len is not 0");
    return guard(c, [&] {
        std::vector<std::string> found;
        c->impl->keys(as_bytes(pattern, pattern_len), limit, &found);
        if (found.empty())
            return CACHE_OK;
        cache_buf *items = static_cast<cache_buf *>(std::calloc(found.size(), sizeof(cache_buf)));
        if (!items)
            throw std::bad_alloc();
        cache_buf_array arr = {items, 0};
        try {
            for (const auto &k : found) {
                OwnedBuffer b;
                b.assign(k);
                b.release_to(&items[arr.count++]);
            }
        } catch (...) {
            cache_buf_array_free(&arr);
            throw;
        }
        *keys = arr;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_delete_pattern(cache_t *c, const void *pattern, size_t pattern_len, size_t *deleted)
{
    if (deleted)
        *deleted = 0;
    CHECK_HANDLE(c);
    if (!bytes_ok(pattern, pattern_len))
        return invalid("pattern pointer is NULL but pattern_len is not 0");
    return guard(c, [&] {
        size_t removed = c->impl->delete_pattern(as_bytes(pattern, pattern_len));
        if (deleted)
            *deleted = removed;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_clear(cache_t *c)
{
    CHECK_HANDLE(c);
    return guard(c, [&] {
        c->impl->clear();
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_set_tagged(cache_t *c, const void *key, size_t key_len, const void *value, size_t value_len,
                 cache_int64 ttl_ms, const cache_slice *tags, size_t ntags)
{
    CHECK_HANDLE(c);
    CHECK_KEY(key, key_len);
    if (!bytes_ok(value, value_len))
        return invalid("value pointer is NULL but value_len is not 0");
    if (ntags && !tags)
        return invalid("tags is NULL but ntags is not 0");
    return guard(c, [&] {
        Slices t(tags, ntags);
        c->impl->set_tagged(as_bytes(key, key_len), as_bytes(value, value_len), ttl_ms, t.data(),
                            ntags);
        return CACHE_OK;
    });
}

CACHE_EXTERN(int)
cache_invalidate_tags(cache_t *c, const cache_slice *tags, size_t n, size_t *invalidated)
{
    if (invalidated)
        *invalidated = 0;
    CHECK_HANDLE(c);
    if (n && !tags)
        return invalid("tags is NULL but n is not 0");
    return guard(c, [&] {
        Slices t(tags, n);
        size_t removed = c->impl->invalidate_tags(t.data(), n);
        if (invalidated)
            *invalidated = removed;
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_ping(cache_t *c)
{
    CHECK_HANDLE(c);
    return guard(c, [&] {
        c->impl->ping();
        return CACHE_OK;
    });
}

CACHE_EXTERN(int) cache_stats_json(cache_t *c, cache_buf *json)
{
    return text_out(c, json, "json", [c] { return c->impl->stats_json(); });
}

CACHE_EXTERN(int) cache_stats_prometheus(cache_t *c, cache_buf *text)
{
    return text_out(c, text, "text", [c] { return c->impl->stats_prometheus(); });
}

CACHE_EXTERN(int) cache_backend_info(cache_t *c, cache_buf *text)
{
    return text_out(c, text, "text", [c] { return c->impl->info(); });
}

CACHE_EXTERN(const char *) cache_backend_name(cache_t *c)
{
    if (!c) {
        invalid("cache handle is NULL");
        return "";
    }
    unicache::InFlightCall in_flight(&c->in_flight);
    return c->impl->backend().name();
}

} // extern "C"
