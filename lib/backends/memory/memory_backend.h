// MemoryBackend: the embedded default. Keys are spread over independently
// locked shards; a background reaper drops expired entries.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/backend.h"
#include "core/hash.h"
#include "memory_leases.h"
#include "memory_shard.h"
#include "reaper.h"
#include "shard_mutex.h"

namespace unicache {

struct MemoryOptions {
    size_t max_items = 0;              // 0: unbounded
    size_t max_memory = 0;             // bytes; 0: unbounded
    std::string policy;                // one of policy_names()
    size_t shards = 0;                 // 0: chosen from the limits
    int64_t expiry_interval_ms = 1000; // 0: no background reaper
};

class MemoryBackend final : public Backend {
public:
    explicit MemoryBackend(const MemoryOptions &opts);
    ~MemoryBackend() override;

    const char *name() const override { return "memory"; }
    void set(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool get(Bytes key, OwnedBuffer *out) override;
    bool get_into(Bytes key, void *dst, size_t capacity, size_t *size) override;
    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override;
    bool del(Bytes key) override;
    bool exists(Bytes key) override;
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override;
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override;
    bool touch(Bytes key, int64_t ttl_ms) override;
    bool ttl(Bytes key, int64_t *remaining_ms) override;
    void clear(Bytes prefix) override;
    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override;
    size_t delete_pattern(const GlobPattern &pattern) override;
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override;
    // memory_leases.cpp
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override;
    void lease_release(Bytes key, uint64_t token) override;
    void lease_wait(Bytes key, int64_t wait_ms) override;
    std::string info() override;
    BackendStats stats(Bytes prefix) override;

    const MemoryOptions &options() const { return opts_; }
    bool bounded() const { return opts_.max_items || opts_.max_memory; }

private:
    // The key's hash, remixed with this cache's random seed: a caller who
    // picks keys cannot aim them at one table slot or one shard without
    // full 64-bit collisions of the key hash.
    uint64_t hash_of(Bytes key) const
    {
        return detail::mix(hash_bytes(key.data(), key.size()) ^ seed_, 0x9E3779B97F4A7C15ull);
    }
    MemoryShard &shard_for(uint64_t hash) { return *shards_[(hash >> 40) & shard_mask_]; }
    static int64_t expire_at(int64_t ttl_ms);
    void reap_all();
    // A delete or a clear ends the leases (and drops the stale copies) of
    // the keys it removes, before it removes them (memory_leases.cpp).
    void end_leases(Bytes key, uint64_t hash);
    // An invalidated entry's stale copy goes with it (when the copy is of
    // the write that carried tag_id).
    void drop_stale_copy(Bytes key, uint64_t hash, uint64_t tag_id);
    void end_leases_with_prefix(Bytes prefix);

    MemoryOptions opts_;
    uint64_t seed_;
    std::vector<std::unique_ptr<MemoryShard>> shards_;
    size_t shard_mask_ = 0;

    // Tag index: tag -> (key, tag_id) of entries written with it. An entry
    // is removed by a tag only while it still carries that tag_id, so a later
    // plain set of the same key is safe. Stale members are pruned on
    // invalidation and whenever a tag's list doubles.
    struct TagMembers {
        std::vector<std::pair<std::string, uint64_t>> members;
        size_t prune_at = 64;
    };
    void prune(TagMembers &t);
    // A tagged write's two halves: index key under a fresh id (kept in
    // flight, so pruning spares it) before the entry is stored with that
    // id, then let the id go. ntags 0: id 0 and nothing to do.
    uint64_t index_tags(Bytes key, const Bytes *tags, size_t ntags);
    void tags_stored(uint64_t id);

    ShardMutex tags_mu_{ShardMutex::Rank::outer}; // taken before a shard's
    std::unordered_map<std::string, TagMembers> tags_;
    std::unordered_set<uint64_t> in_flight_; // ids of tagged sets not yet stored
    std::atomic<uint64_t> next_tag_id_{1};

    MemoryLeases leases_;

    // Last: stopped before the shards it walks are destroyed.
    std::unique_ptr<Reaper> reaper_;
};

} // namespace unicache
