// MemoryShard: one lock, one entry table, one eviction policy. The memory
// backend spreads keys over shards by hash so readers on different shards
// never touch the same lock.
#pragma once

#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/glob.h"
#include "entry.h"
#include "entry_table.h"
#include "policy.h"
#include "shard_mutex.h"

namespace unicache {

struct ShardLimits {
    size_t max_items = 0; // 0: unbounded
    size_t max_bytes = 0; // 0: unbounded
};

struct ShardCounts {
    int64_t size = 0, bytes = 0, evictions = 0, expirations = 0;
};

// alignas: shards are allocated one by one; keep two shards' locks and
// counters off each other's cache lines.
class alignas(64) MemoryShard {
public:
    MemoryShard(ShardLimits limits, std::unique_ptr<EvictionPolicy> policy);
    ~MemoryShard();
    MemoryShard(const MemoryShard &) = delete;
    MemoryShard &operator=(const MemoryShard &) = delete;

    // expire_at: monotonic ms, 0 = never. tag_id: 0 unless set_tagged.
    void set(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id);
    bool add(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, int64_t now);
    bool get(Bytes key, uint64_t hash, OwnedBuffer *out);
    // get() into the caller's buffer (see Backend::get_into).
    bool get_into(Bytes key, uint64_t hash, void *dst, size_t capacity, size_t *size);
    // get() that also reports the entry's expiry (monotonic ms, 0 = never).
    bool get_entry(Bytes key, uint64_t hash, OwnedBuffer *out, int64_t *expire_at);
    bool del(Bytes key, uint64_t hash);
    // Removes key only if it still carries tag_id.
    bool del_if_tagged(Bytes key, uint64_t hash, uint64_t tag_id);
    bool exists(Bytes key, uint64_t hash);
    // True while key is live and still carries tag_id (prunes tag indexes).
    bool carries_tag(Bytes key, uint64_t hash, uint64_t tag_id);
    int64_t incr(Bytes key, uint64_t hash, int64_t delta, int64_t expire_if_new);
    // incr of a live entry only; false (nothing stored) when key is absent.
    bool incr_existing(Bytes key, uint64_t hash, int64_t delta, int64_t *result);
    bool touch(Bytes key, uint64_t hash, int64_t expire_at);
    bool ttl(Bytes key, uint64_t hash, int64_t now, int64_t *remaining);

    size_t remove_if_prefix(Bytes prefix);
    size_t remove_matching(const GlobPattern &pattern);
    void collect_matching(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out);

    // Drops the entries expired at `now`, kReapChunk table slots per lock
    // hold so that readers wait microseconds, not a full scan. Skips the
    // scan when no entry can have expired yet. Returns how many it dropped.
    size_t reap(int64_t now);
    ShardCounts counts(Bytes prefix);

    // Bytes an entry is charged against max_memory and in memory_bytes: its
    // allocation as malloc rounds it, its share of the table and of the
    // policy's own structures.
    size_t charge_for(size_t key_len, size_t value_len) const;

    static constexpr size_t kReapChunk = 4096;
    // Table slots reserved up front at most: a huge max_items must not
    // allocate its table before the first set (4096 slots x 64 shards is
    // ~8 MiB; the table doubles from there as entries arrive).
    static constexpr size_t kInitialReserve = 1 << 12;

private:
    // Finds a live entry; drops it (counting an expiration) when expired.
    Entry *find_live(Bytes key, uint64_t hash, int64_t now);
    // Removes e from the table and the policy and frees it.
    void erase(Entry *e);
    // The same without the table (for table walks that erase in place).
    void release(Entry *e);
    void set_expiry(Entry *e, int64_t expire_at);
    void store(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id,
               Entry *existing);
    void enforce_limits();
    // A hit's lookup, under the lock: the live entry (its hit recorded), or
    // nullptr after counting a miss.
    Entry *find_hit(Bytes key, uint64_t hash);
    // Applies the recorded hits to the policy (see reads_).
    void drain_reads();

    ShardMutex mu_;
    // Hits waiting for the policy (Caffeine's read buffer, here under the
    // shard lock the lookup holds anyway). A policy update on a hit moves
    // the entry in a list, a write to two neighbours that are cache misses
    // of their own; recorded here, kReadBuffer hits are applied together,
    // after prefetching every neighbour, so the misses overlap instead of
    // each stalling its own get. Drained before anything removes, moves or
    // evicts an entry (store(), release()), so every pointer here is live
    // and the policy never decides on a stale order.
    static constexpr unsigned kReadBuffer = 16;
    unsigned nreads_ = 0;
    bool records_hits_;
    Entry *reads_[kReadBuffer];
    EntryTable table_;
    std::unique_ptr<EvictionPolicy> policy_;
    size_t policy_bytes_;
    ShardLimits limits_;
    size_t bytes_ = 0;
    size_t ttl_entries_ = 0; // entries with an expiry
    // No entry expires before min_expire_; the reaper skips the shard until
    // then. While a reap pass runs, pass_min_ collects the next value.
    int64_t min_expire_ = INT64_MAX;
    int64_t pass_min_ = INT64_MAX;
    int64_t evictions_ = 0;
    int64_t expirations_ = 0;
};

} // namespace unicache
