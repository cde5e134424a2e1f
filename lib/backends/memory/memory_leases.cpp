#include "memory_leases.h"

#include <algorithm>

#include "core/clock.h"
#include "core/expiry.h"
#include "memory_backend.h"

namespace unicache {

MemoryLeases::MemoryLeases()
{
    for (auto &s : shards_)
        s = std::make_unique<Shard>();
}

LeaseRecord *MemoryLeases::find(Shard &s, const std::string &key)
{
    auto it = s.records.find(key);
    return it == s.records.end() ? nullptr : &it->second;
}

LeaseRecord &MemoryLeases::make(Shard &s, const std::string &key)
{
    auto ins = s.records.try_emplace(key);
    if (ins.second) {
        count_.fetch_add(1, std::memory_order_acq_rel);
        // Records of keys nobody asks for again: swept when the shard has
        // doubled since the last sweep, so the cost per insert stays O(1).
        if (s.records.size() >= s.prune_at) {
            int64_t now = monotonic_ms();
            for (auto it = s.records.begin(); it != s.records.end();) {
                if (&it->second != &ins.first->second && it->second.dead(now)) {
                    it = s.records.erase(it);
                    count_.fetch_sub(1, std::memory_order_acq_rel);
                } else {
                    ++it;
                }
            }
            s.prune_at = std::max<size_t>(64, s.records.size() * 2);
        }
    }
    return ins.first->second;
}

void MemoryLeases::erase(Shard &s, const std::string &key)
{
    if (s.records.erase(key))
        count_.fetch_sub(1, std::memory_order_acq_rel);
}

void MemoryLeases::tidy(Shard &s, const std::string &key, const LeaseRecord &rec, int64_t now)
{
    if (rec.dead(now))
        erase(s, key);
}

void MemoryBackend::lease_get(Bytes key, const LeaseRequest &req, LeaseReply *reply)
{
    uint64_t h = hash_of(key);
    MemoryLeases::Shard &ls = leases_.shard(h);
    std::string k(key);
    std::lock_guard<ShardMutex> lock(ls.mu);
    int64_t now = monotonic_ms();
    LeaseRecord *rec = leases_.find(ls, k);
    auto grant = [&](bool on_miss) {
        LeaseRecord &r = rec ? *rec : leases_.make(ls, k);
        r.token = req.token;
        r.lease_until = deadline_after(now, req.lease_ttl_ms);
        r.on_miss = on_miss;
        reply->granted = true;
    };
    if (shard_for(h).get(key, h, &reply->value)) {
        reply->state = LeaseState::hit;
        if (rec && req.want_meta && rec->fresh_until > now) {
            reply->fresh_left_ms = rec->fresh_until - now;
            reply->compute_ms = rec->compute_ms;
        }
        if (req.early && !(rec && rec->leased(now)))
            grant(false);
        return;
    }
    if (rec && rec->has_stale(now)) {
        reply->state = LeaseState::stale;
        reply->value.assign(rec->stale);
        reply->compute_ms = rec->compute_ms;
        if (!rec->leased(now)) {
            grant(true);
            if (req.stale_extend_ms > 0)
                rec->stale_until =
                    std::max(rec->stale_until, deadline_after(now, req.stale_extend_ms));
        }
        return;
    }
    if (rec && rec->leased(now)) {
        reply->state = LeaseState::busy;
        return;
    }
    reply->state = LeaseState::granted;
    grant(true);
}

bool MemoryBackend::lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill)
{
    uint64_t h = hash_of(key);
    MemoryLeases::Shard &ls = leases_.shard(h);
    std::string k(key);
    // Indexed before the check: a refused set leaves members that carry
    // no entry's id, which pruning drops.
    uint64_t tag_id = index_tags(key, fill.tags, fill.ntags);
    struct Stored {
        MemoryBackend *self;
        uint64_t id;
        ~Stored() { self->tags_stored(id); }
    } stored{this, tag_id};
    {
        std::lock_guard<ShardMutex> lock(ls.mu);
        int64_t now = monotonic_ms();
        LeaseRecord *rec = leases_.find(ls, k);
        if (token != 0) {
            if (!rec || rec->token != token)
                return false; // deleted, released, or taken over
            if (rec->on_miss && shard_for(h).exists(key, h)) {
                // Set by someone else since the miss: theirs is newer.
                rec->token = 0;
                leases_.tidy(ls, k, *rec, now);
                ls.cv.notify_all();
                return false;
            }
        }
        shard_for(h).set(key, h, value, expire_at(fill.ttl_ms), tag_id);
        if (fill.keep_meta && fill.ttl_ms > 0) {
            LeaseRecord &r = rec ? *rec : leases_.make(ls, k);
            r.token = 0;
            r.fresh_until = deadline_after(now, fill.ttl_ms);
            r.stale_until =
                fill.stale_ttl_ms > 0 ? deadline_after(r.fresh_until, fill.stale_ttl_ms) : 0;
            r.compute_ms = fill.compute_ms;
            r.stale_tag_id = tag_id;
            if (r.stale_until)
                r.stale.assign(value.data(), value.size());
            else
                r.stale.clear();
        } else if (rec) {
            leases_.erase(ls, k);
        }
    }
    ls.cv.notify_all();
    return true;
}

void MemoryBackend::lease_release(Bytes key, uint64_t token)
{
    uint64_t h = hash_of(key);
    MemoryLeases::Shard &ls = leases_.shard(h);
    std::string k(key);
    {
        std::lock_guard<ShardMutex> lock(ls.mu);
        LeaseRecord *rec = leases_.find(ls, k);
        if (!rec || rec->token != token)
            return;
        rec->token = 0;
        leases_.tidy(ls, k, *rec, monotonic_ms());
    }
    ls.cv.notify_all();
}

void MemoryBackend::lease_wait(Bytes key, int64_t wait_ms)
{
    uint64_t h = hash_of(key);
    MemoryLeases::Shard &ls = leases_.shard(h);
    std::string k(key);
    std::unique_lock<ShardMutex> lock(ls.mu);
    LeaseRecord *rec = leases_.find(ls, k);
    int64_t now = monotonic_ms();
    if (!rec || !rec->leased(now))
        return;
    // Woken by any lease ending in this shard; the caller looks again.
    ls.cv.wait_for(lock, std::chrono::milliseconds(std::min(wait_ms, rec->lease_until - now)));
}

void MemoryBackend::end_leases(Bytes key, uint64_t hash)
{
    if (!leases_.any())
        return;
    MemoryLeases::Shard &ls = leases_.shard(hash);
    {
        std::lock_guard<ShardMutex> lock(ls.mu);
        leases_.erase(ls, std::string(key));
    }
    ls.cv.notify_all();
}

void MemoryBackend::drop_stale_copy(Bytes key, uint64_t hash, uint64_t tag_id)
{
    if (!leases_.any())
        return;
    MemoryLeases::Shard &ls = leases_.shard(hash);
    std::string k(key);
    std::lock_guard<ShardMutex> lock(ls.mu);
    LeaseRecord *rec = leases_.find(ls, k);
    if (!rec || rec->stale_tag_id != tag_id)
        return;
    rec->stale_until = 0;
    rec->stale.clear();
    leases_.tidy(ls, k, *rec, monotonic_ms());
}

void MemoryBackend::end_leases_with_prefix(Bytes prefix)
{
    if (!leases_.any())
        return;
    leases_.erase_if(
        [&](const std::string &k) { return k.compare(0, prefix.size(), prefix) == 0; });
}

} // namespace unicache
