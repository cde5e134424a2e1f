// Cache: what every backend gets once, above the Backend interface: argument
// rules, key prefix, default TTL and operation statistics. It is handed a
// ready Backend (lib/compose builds it from the configuration), so the core
// never knows which backends exist.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "counters.h"
#include "unicache.h"

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
    std::string prefix;
    int64_t default_ttl_ms = 0;
    std::string display_uri; // for statistics; never holds a password
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

    void count_error() { counters_.add(Counter::errors); }

    const std::string &prefix() const { return prefix_; }
    Backend &backend() { return *backend_; }

private:
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

    std::unique_ptr<Backend> backend_;
    std::string prefix_;
    std::string tag_scope_;
    int64_t default_ttl_ms_ = 0;
    std::string display_uri_;
    mutable OpCounters counters_;
};


} // namespace unicache
