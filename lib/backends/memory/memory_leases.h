// MemoryLeases: the memory backend's lease records, beside its shards.
// A record holds a key's lease (token and deadline), and with keep_meta its
// last fill's stale copy, expiry and compute time. Records live in their
// own locked shards, so a hit that needs none of them never touches them;
// a lease shard's lock is taken before the entry shard's (Rank::outer),
// which makes "check the lease, then store" one step against a delete.
// Waiters sleep on the shard's condition variable, woken by every set,
// release and delete that ends a lease there.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "shard_mutex.h"

namespace unicache {

struct LeaseRecord {
    uint64_t token = 0;      // 0: no lease
    int64_t lease_until = 0; // monotonic ms
    bool on_miss = false;    // granted while the key was absent
    int64_t fresh_until = 0; // monotonic ms of the last fill's expiry (0: none kept)
    int64_t stale_until = 0; // a stale copy is served until then
    int64_t compute_ms = 0;
    std::string stale;
    uint64_t stale_tag_id = 0; // the tag id of the write the stale copy is of

    bool leased(int64_t now) const { return token != 0 && lease_until > now; }
    bool has_stale(int64_t now) const { return stale_until > now; }
    bool dead(int64_t now) const
    {
        return !leased(now) && stale_until <= now && fresh_until <= now;
    }
};

class MemoryLeases {
public:
    struct Shard {
        ShardMutex mu{ShardMutex::Rank::outer};
        std::condition_variable_any cv;
        std::unordered_map<std::string, LeaseRecord> records;
        size_t prune_at = 64;
    };

    MemoryLeases();
    Shard &shard(uint64_t hash) { return *shards_[hash & (kShards - 1)]; }
    // Records in every shard: set/del skip the lease shards while it is 0.
    bool any() const { return count_.load(std::memory_order_acquire) != 0; }

    // With the shard locked:
    LeaseRecord *find(Shard &s, const std::string &key);
    LeaseRecord &make(Shard &s, const std::string &key);
    void erase(Shard &s, const std::string &key);
    // Every record whose key satisfies pred, in every shard (each locked).
    template <typename Pred> void erase_if(Pred pred)
    {
        for (auto &s : shards_) {
            {
                std::lock_guard<ShardMutex> lock(s->mu);
                for (auto it = s->records.begin(); it != s->records.end();) {
                    if (pred(it->first)) {
                        it = s->records.erase(it);
                        count_.fetch_sub(1, std::memory_order_acq_rel);
                    } else {
                        ++it;
                    }
                }
            }
            s->cv.notify_all();
        }
    }
    // Drops rec when nothing in it is alive any more.
    void tidy(Shard &s, const std::string &key, const LeaseRecord &rec, int64_t now);

private:
    static constexpr size_t kShards = 16;
    std::unique_ptr<Shard> shards_[kShards];
    std::atomic<int64_t> count_{0};
};

} // namespace unicache
