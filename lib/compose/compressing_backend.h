// CompressingBackend: compression above the Backend interface, so every
// backend (and a tiered cache as a whole) gets it once. It wraps every
// opened cache, compress=none included: a handle that does not compress
// still reads the frames another handle wrote (compose/value_codec.h).
// Counters are never compressed: incr and friends pass straight through,
// and their values are short decimal text that is never a frame.
#pragma once

#include <memory>

#include "compose/value_codec.h"
#include "core/backend.h"

namespace unicache {

class CompressingBackend final : public Backend {
public:
    CompressingBackend(std::unique_ptr<Backend> inner, CodecSettings settings);

    const char *name() const override { return inner_->name(); }

    void set(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool get(Bytes key, OwnedBuffer *out) override;
    bool get_into(Bytes key, void *dst, size_t capacity, size_t *size) override;
    bool del(Bytes key) override { return inner_->del(key); }
    bool exists(Bytes key) override { return inner_->exists(key); }
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override
    {
        return inner_->incr(key, delta, ttl_ms_if_new);
    }
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override
    {
        return inner_->incr_existing(key, delta, result);
    }
    bool touch(Bytes key, int64_t ttl_ms) override { return inner_->touch(key, ttl_ms); }
    bool ttl(Bytes key, int64_t *remaining_ms) override { return inner_->ttl(key, remaining_ms); }

    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override;
    void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                     int *statuses) override;
    void set_entry(Bytes key, Bytes value, const EntryMeta &meta) override;

    void clear(Bytes prefix) override { inner_->clear(prefix); }

    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override;
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override;
    size_t del_many(const Bytes *keys, size_t n) override { return inner_->del_many(keys, n); }

    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override
    {
        inner_->keys(pattern, limit, out);
    }
    size_t delete_pattern(const GlobPattern &pattern) override
    {
        return inner_->delete_pattern(pattern);
    }
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override
    {
        return inner_->invalidate_tags(tags, n);
    }
    // Leases pass through; their values are framed like any other.
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override
    {
        return inner_->lease_set(key, token, encode(value), fill);
    }
    void lease_release(Bytes key, uint64_t token) override { inner_->lease_release(key, token); }
    void lease_wait(Bytes key, int64_t wait_ms) override { inner_->lease_wait(key, wait_ms); }

    bool watch_changes(ChangeListener *listener) override
    {
        return inner_->watch_changes(listener);
    }

    void ping() override { inner_->ping(); }
    std::string info() override;
    BackendStats stats(Bytes prefix) override { return inner_->stats(prefix); }
    void add_stats(Bytes prefix, StatsPart &part) override;

private:
    // What to store for value, valid until the next call on this thread.
    Bytes encode(Bytes value);
    void decode_all(OwnedBuffer *values, const int *statuses, size_t n);
    // get_into of a frame, or of a value longer than capacity.
    [[gnu::noinline]] bool get_into_slow(Bytes key, void *dst, size_t capacity, size_t stored,
                                         size_t *size);

    std::unique_ptr<Backend> inner_;
    CodecSettings settings_;
};

} // namespace unicache
