// Cache: what every backend gets once, above the Backend interface: argument
// rules, key prefix, default TTL and operation statistics. It is handed a
// ready Backend (lib/compose builds it from the configuration), so the core
// never knows which backends exist.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "clock.h"
#include "counters.h"
#include "latency.h"
#include "op.h"
#include "stampede.h"
#include "unicache.h"
#include "value_codec.h"

struct cJSON;

namespace unicache {

// Throws CACHE_EINVAL / CACHE_ETOOBIG for keys the contract rejects. Inline:
// it runs on every call, and only the failure needs to build a message.
[[noreturn]] void reject_key(Bytes key, const char *what);
inline void check_key(Bytes key, const char *what = "key")
{
    if (key.empty() || key.size() > CACHE_KEY_MAX)
        reject_key(key, what);
}

// What the open step decided for the whole cache.
struct CacheSettings {
    // What goes before every key: prefix + '|' (prefix_mode=namespace), the
    // prefix alone (prefix_mode=raw), or nothing without a prefix.
    std::string prefix;
    int64_t default_ttl_ms = 0;
    std::string display_uri; // for statistics; never holds a password
    StampedeSettings stampede;
    CodecSettings codec; // compress=, compress_threshold=, max_decompressed=
    int64_t slow_ms = 0; // log operations slower than this (0: never)
    bool latency = true; // keep latency histograms (latency=off: not)
    int64_t latency_sample = LatencyHistograms::kDefaultSamplePeriod; // time 1 call in N
};

// A lease as the C API's cache_lease holds it (core/cache_lease.cpp).
struct Lease {
    uint64_t token = 0;     // 0: none held
    uint64_t check = 0;     // the handle and full key it was granted for
    int64_t started_ns = 0; // monotonic, when granted: the compute's start
};

class Cache {
public:
    Cache(std::unique_ptr<Backend> backend, CacheSettings settings);

    void set(Bytes key, Bytes value, int64_t ttl_ms);
    bool add(Bytes key, Bytes value, int64_t ttl_ms);
    bool get(Bytes key, OwnedBuffer *out);
    // Backend::get_into; a hit that fits counts as a hit, one that does not
    // fit counts as nothing (the caller retries with a larger buffer).
    bool get_into(Bytes key, void *dst, size_t capacity, size_t *size);
    bool del(Bytes key);
    bool exists(Bytes key);
    int64_t incr(Bytes key, int64_t delta);
    // ttl_ms_if_new as set()'s ttl_ms. Returns false when must_exist and
    // the key is absent (then *result is untouched).
    bool incr_ext(Bytes key, int64_t delta, int64_t ttl_ms_if_new, bool must_exist,
                  int64_t *result);
    bool touch(Bytes key, int64_t ttl_ms);
    bool expire_at(Bytes key, int64_t unix_ms);
    bool ttl(Bytes key, int64_t *remaining_ms);

    // Stampede protection (cache_lease.cpp). lease_get returns CACHE_OK,
    // CACHE_STALE, CACHE_MISS or (nowait only) CACHE_WAIT, waiting up to
    // lock_timeout for another holder otherwise; *lease is granted or left
    // empty as cache_lease_get documents. lease_set returns false when the
    // lease was lost; it and lease_release end *lease. Both throw
    // CACHE_EINVAL for a lease not held or granted for another key/handle.
    // settings: the cache's (stampede()) or one call's (cache_fetch_options);
    // lease_get reads lease_ttl, lock_timeout and early_refresh from them,
    // lease_set stale_ttl and early_refresh (the stale window and the kept
    // compute time belong to the value written).
    int lease_get(Bytes key, bool nowait, OwnedBuffer *out, Lease *lease,
                  const StampedeSettings &settings);
    // tags (ntags of them, may be NULL when 0): attached as set_tagged does.
    bool lease_set(Bytes key, Lease *lease, Bytes value, int64_t ttl_ms,
                   const StampedeSettings &settings, const Bytes *tags = nullptr, size_t ntags = 0);
    int lease_get(Bytes key, bool nowait, OwnedBuffer *out, Lease *lease)
    {
        return lease_get(key, nowait, out, lease, stampede_);
    }
    bool lease_set(Bytes key, Lease *lease, Bytes value, int64_t ttl_ms)
    {
        return lease_set(key, lease, value, ttl_ms, stampede_);
    }
    // get() that counts a hit but not a miss: cache_fetch's first look,
    // whose miss the lease read after it counts (one miss per caller).
    bool get_uncounted_miss(Bytes key, OwnedBuffer *out);
    void lease_release(Bytes key, Lease *lease);
    // The lease check of lease_set/lease_release alone (throws CACHE_EINVAL).
    void check_lease(Bytes key, const Lease &lease) const;
    const StampedeSettings &stampede() const { return stampede_; }

    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses);
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms);
    size_t del_many(const Bytes *keys, size_t n);

    void keys(Bytes pattern, size_t limit, std::vector<std::string> *out);
    size_t delete_pattern(Bytes pattern);
    void clear();

    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags, size_t ntags);
    size_t invalidate_tags(const Bytes *tags, size_t n);

    void ping();
    std::string info();
    std::string stats_json();
    // The same statistics in the Prometheus text format (core/prometheus.h).
    std::string stats_prometheus();

    void count_error() { counters_.add(Counter::errors); }

    const std::string &prefix() const { return prefix_; }
    Backend &backend() { return *backend_; }

private:
public:
    // Times one operation: its latency histogram, and the slow-operation
    // log when slow_ms is set.
    // The calling thread's counter slot is looked up here once and shared
    // with the operation's counters (slot()). Always inline: out of line,
    // the timer lives on the stack and its destructor is a call per
    // operation (+4% on a memory:// hit).
    class OpTimer {
    public:
        __attribute__((always_inline)) OpTimer(const Cache &cache, Op op) : cache_(cache), op_(op)
        {
            ThreadSlot &t = this_thread_slot();
            call_.slot = t.slot();
            if (cache.latency_)
                call_ = cache.latency_->begin(t);
            if (__builtin_expect(cache.slow_ns_ != 0, 0))
                start_ns_ = monotonic_ns();
        }
        __attribute__((always_inline)) ~OpTimer()
        {
            if (cache_.latency_)
                cache_.latency_->end(op_, call_);
            if (__builtin_expect(start_ns_ != 0, 0))
                cache_.finished(op_, monotonic_ns() - start_ns_);
        }
        OpTimer(const OpTimer &) = delete;
        OpTimer &operator=(const OpTimer &) = delete;
        unsigned slot() const { return call_.slot; }

    private:
        const Cache &cache_;
        Op op_;
        LatencyHistograms::Call call_{0, 0};
        int64_t start_ns_ = 0;
    };
    // NULL with latency=off.
    const LatencyHistograms *latency() const { return latency_.get(); }

private:
    void finished(Op op, int64_t ns) const noexcept;
    void log_line_slow(Op op, int64_t ns) const;

    // The statistics document; detail: with what only machines read.
    std::unique_ptr<cJSON, void (*)(cJSON *)> stats_document(bool detail);
    int64_t resolve_ttl(int64_t ttl_ms) const;
    // Returns key with the prefix prepended, in a thread-local scratch buffer
    // (valid until the next call on this thread) when there is a prefix.
    Bytes full_key(Bytes key) const
    {
        check_key(key);
        return prefix_.empty() ? key : prefixed(key);
    }
    Bytes prefixed(Bytes key) const;
    // Validates a batch of keys (or tags) and returns views of them with the
    // prefix prepended. Without a prefix the caller's bytes pass straight
    // through; with one, all keys share one buffer: no allocation per key.
    class KeyBatch {
    public:
        const Bytes *data() const { return keys_ ? keys_ : views_.data(); }

    private:
        friend class Cache;
        const Bytes *keys_ = nullptr; // the caller's, when there is no prefix
        std::string buffer_;
        std::vector<Bytes> views_;
    };
    void full_keys(const Bytes *keys, size_t n, KeyBatch *out) const;
    // Tags get tag_scope_ in front instead of the prefix (see tag_name.h).
    void full_tags(const Bytes *tags, size_t n, KeyBatch *out) const;
    void prefixed(const std::string &head, const Bytes *keys, size_t n, KeyBatch *out,
                  const char *what) const;
    GlobPattern full_pattern(Bytes pattern) const;
    uint64_t lease_check(Bytes full) const;
    // The bytes to store for value (core/value_codec.h): value itself, or
    // a frame in a thread-local buffer valid until the next call here.
    Bytes stored_form(Bytes value) const;
    // A stored value as the caller gave it: a frame is decoded in place.
    void unframe(OwnedBuffer *stored) const
    {
        if (is_frame(stored->view()))
            decode_in_place(stored, codec_.max_decompressed);
    }
    // get_into's rare case: the backend kept a frame (kFrameHeld); decodes
    // it into dst when its value fits, else dst stays as it was.
    void get_into_frame(void *dst, size_t capacity, size_t *size) const;
    // set() when fills keep a stale copy: through lease_set with no token.
    void set_with_meta(Bytes full, Bytes value, int64_t ttl);

    std::unique_ptr<Backend> backend_;
    std::string prefix_;
    std::string tag_scope_;
    int64_t default_ttl_ms_ = 0;
    std::string display_uri_;
    StampedeSettings stampede_;
    CodecSettings codec_;
    int64_t slow_ns_ = 0; // 0: slow operations are not logged
    std::unique_ptr<LatencyHistograms> latency_;
    mutable OpCounters counters_;
};

} // namespace unicache
