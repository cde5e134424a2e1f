// MemoryShard: one lock, one hash table, one eviction policy. The memory
// backend spreads keys over shards by hash so readers on different shards
// never touch the same lock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/glob.h"
#include "entry.h"
#include "policy.h"

namespace unicache {

struct ShardLimits {
    size_t max_items = 0;     // 0: unbounded
    size_t max_bytes = 0;     // 0: unbounded
};

struct ShardCounts {
    int64_t size = 0, bytes = 0, evictions = 0, expirations = 0;
};

class MemoryShard {
public:
    MemoryShard(ShardLimits limits, std::unique_ptr<EvictionPolicy> policy);
    ~MemoryShard();

    // expire_at: monotonic ms, 0 = never. tag_id: 0 unless set_tagged.
    void set(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id);
    bool add(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, int64_t now);
    bool get(Bytes key, uint64_t hash, OwnedBuffer *out);
    bool del(Bytes key, uint64_t hash);
    // Removes key only if it still carries tag_id.
    bool del_if_tagged(Bytes key, uint64_t hash, uint64_t tag_id);
    bool exists(Bytes key, uint64_t hash);
    int64_t incr(Bytes key, uint64_t hash, int64_t delta, int64_t expire_if_new);
    bool touch(Bytes key, uint64_t hash, int64_t expire_at);
    bool ttl(Bytes key, uint64_t hash, int64_t now, int64_t *remaining);

    size_t remove_if_prefix(Bytes prefix);
    size_t remove_matching(const GlobPattern &pattern);
    void collect_matching(const GlobPattern &pattern, size_t limit,
                          std::vector<std::string> *out);

    // Drops expired entries; returns how many.
    size_t reap(int64_t now);
    ShardCounts counts(Bytes prefix);

    // Largest entry charge this shard can hold.
    size_t max_charge() const { return limits_.max_bytes; }
    static size_t charge_for(size_t key_len, size_t value_len);

private:
    struct KeyRef {
        const char *data;
        uint32_t len;
        uint64_t hash;
        bool operator==(const KeyRef &o) const
        {
            return len == o.len && std::memcmp(data, o.data, len) == 0;
        }
    };
    struct KeyRefHash {
        size_t operator()(const KeyRef &k) const { return size_t(k.hash); }
    };
    using Map = std::unordered_map<KeyRef, Entry *, KeyRefHash>;

    static KeyRef ref(Bytes key, uint64_t hash)
    {
        return KeyRef{key.data(), uint32_t(key.size()), hash};
    }
    // Finds a live entry; drops it (counting an expiration) when expired.
    Entry *find_live(Bytes key, uint64_t hash, int64_t now);
    void erase(Map::iterator it);
    void store(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id,
               Map::iterator it);
    void enforce_limits();

    std::mutex mu_;
    Map map_;
    std::unique_ptr<EvictionPolicy> policy_;
    ShardLimits limits_;
    size_t bytes_ = 0;
    size_t ttl_entries_ = 0; // entries with an expiry, to skip needless reaps
    int64_t evictions_ = 0;
    int64_t expirations_ = 0;
};

} // namespace unicache
