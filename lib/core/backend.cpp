#include "backend.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "clock.h"
#include "error.h"
#include "value_codec.h"

namespace unicache {

bool Backend::get_into(Bytes key, void *dst, size_t capacity, size_t *size)
{
    OwnedBuffer buf;
    if (!get(key, &buf))
        return false;
    copy_stored(buf.view(), dst, capacity, size);
    return true;
}

void Backend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    for (size_t i = 0; i < n; i++)
        statuses[i] = get(keys[i], &values[i]) ? CACHE_OK : CACHE_MISS;
}

void Backend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    for (size_t i = 0; i < n; i++)
        set(keys[i], values[i], ttl_ms);
}

size_t Backend::del_many(const Bytes *keys, size_t n)
{
    size_t removed = 0;
    for (size_t i = 0; i < n; i++)
        removed += del(keys[i]) ? 1 : 0;
    return removed;
}

bool Backend::incr_existing(Bytes, int64_t, int64_t *)
{
    fail(CACHE_ENOTSUP,
         std::string("the ") + name() + " backend cannot increment only existing counters");
}

bool Backend::get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    OwnedBuffer value;
    if (!get(key, &value))
        return false;
    int64_t remaining = 0;
    EntryMeta m;
    // Gone between the two calls: it was a hit, and its lifetime was over.
    if (!ttl(key, &remaining))
        remaining = 1;
    m.expires_at_ms = remaining < 0 ? 0 : wall_ms() + remaining;
    *out = std::move(value);
    *meta = m;
    return true;
}

void Backend::get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                          int *statuses)
{
    for (size_t i = 0; i < n; i++)
        statuses[i] = get_entry(keys[i], &values[i], &metas[i]) ? CACHE_OK : CACHE_MISS;
}

void Backend::set_entry(Bytes key, Bytes value, const EntryMeta &meta)
{
    if (meta.expires_at_ms == 0) {
        set(key, value, 0);
        return;
    }
    int64_t left = meta.expires_at_ms - wall_ms();
    if (left <= 0) {
        del(key);
        return;
    }
    set(key, value, left);
}

void Backend::keys(const GlobPattern &, size_t, std::vector<std::string> *)
{
    fail(CACHE_ENOTSUP, std::string("the ") + name() + " backend cannot list keys");
}

size_t Backend::delete_pattern(const GlobPattern &pattern)
{
    std::vector<std::string> found;
    keys(pattern, 0, &found);
    std::vector<Bytes> views(found.begin(), found.end());
    return del_many(views.data(), views.size());
}

void Backend::set_tagged(Bytes, Bytes, int64_t, const Bytes *, size_t)
{
    fail(CACHE_ENOTSUP, std::string("the ") + name() + " backend does not support tags");
}

size_t Backend::invalidate_tags(const Bytes *, size_t)
{
    fail(CACHE_ENOTSUP, std::string("the ") + name() + " backend does not support tags");
}

void Backend::lease_get(Bytes, const LeaseRequest &, LeaseReply *)
{
    fail(CACHE_ENOTSUP, std::string("the ") + name() + " backend has no leases");
}

bool Backend::lease_set(Bytes, uint64_t, Bytes, const LeaseFill &)
{
    fail(CACHE_ENOTSUP, std::string("the ") + name() + " backend has no leases");
}

void Backend::lease_release(Bytes, uint64_t)
{
    fail(CACHE_ENOTSUP, std::string("the ") + name() + " backend has no leases");
}

void Backend::lease_wait(Bytes, int64_t wait_ms)
{
    if (wait_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
}

void write_backend_part(Backend &backend, Bytes prefix, StatsPart &part)
{
    BackendStats b = backend.stats(prefix);
    part.text("backend", backend.name());
    part.count("evictions", b.evictions);
    part.count("expirations", b.expirations);
    part.count("size", b.size);
    part.count("memory_bytes", b.memory_bytes);
    backend.add_stats(prefix, part);
}

} // namespace unicache
