#include "memory_shard.h"

#include <cinttypes>
#include <climits>
#include <cstdlib>

#include "core/clock.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "core/glob.h"

namespace unicache {

namespace {
// Hash-table node + bucket pointer, charged per entry on top of the
// allocation itself (libstdc++: node = next, key, value, cached-hash slot).
constexpr size_t kTableOverhead = sizeof(void *) * 2 + 16 + sizeof(void *) * 2;
} // namespace

size_t MemoryShard::charge_for(size_t key_len, size_t value_len)
{
    return sizeof(Entry) + key_len + value_len + kTableOverhead;
}

MemoryShard::MemoryShard(ShardLimits limits, std::unique_ptr<EvictionPolicy> policy)
    : policy_(std::move(policy)), limits_(limits)
{
    if (limits_.max_items)
        map_.reserve(limits_.max_items);
}

MemoryShard::~MemoryShard()
{
    for (auto &kv : map_)
        Entry::destroy(kv.second);
}

Entry *MemoryShard::find_live(Bytes key, uint64_t hash, int64_t now)
{
    auto it = map_.find(ref(key, hash));
    if (it == map_.end())
        return nullptr;
    Entry *e = it->second;
    if (e->expire_at && e->expire_at <= (now ? now : monotonic_ms())) {
        expirations_++;
        erase(it);
        return nullptr;
    }
    return e;
}

void MemoryShard::erase(Map::iterator it)
{
    Entry *e = it->second;
    policy_->on_remove(e);
    bytes_ -= e->charge;
    if (e->expire_at)
        ttl_entries_--;
    map_.erase(it);
    Entry::destroy(e);
}

void MemoryShard::store(Bytes key, uint64_t hash, Bytes value, int64_t expire_at,
                        uint64_t tag_id, Map::iterator it)
{
    size_t charge = charge_for(key.size(), value.size());
    if (value.size() > UINT32_MAX || key.size() > UINT32_MAX)
        fail(CACHE_ETOOBIG, "value of " + std::to_string(value.size()) +
                                " bytes is over the memory backend's 4 GiB entry limit");
    if (limits_.max_bytes && charge > limits_.max_bytes)
        fail(CACHE_ETOOBIG, "entry of " + std::to_string(charge) +
                                " bytes (key, value and overhead) is larger than this cache "
                                "can hold per shard (" +
                                std::to_string(limits_.max_bytes) +
                                " bytes); raise max_memory_mb or lower shards");
    if (it != map_.end()) {
        Entry *old = it->second;
        bytes_ -= old->charge;
        if (old->expire_at)
            ttl_entries_--;
        Entry *e = old;
        if (value.size() <= old->value_cap && value.size() >= old->value_cap / 2) {
            if (!value.empty())
                std::memcpy(e->value_data(), value.data(), value.size());
            e->value_len = uint32_t(value.size());
        } else {
            e = Entry::create(key, value, hash);
            e->prev = old->prev;
            e->next = old->next;
            e->queue = old->queue;
            e->freq = old->freq;
            if (e->prev) {
                e->prev->next = e;
                e->next->prev = e;
            }
            policy_->on_move(old, e);
            // Re-point the table key at the new allocation; no rehash needed.
            auto node = map_.extract(it);
            node.key().data = e->key_data();
            node.mapped() = e;
            map_.insert(std::move(node));
            Entry::destroy(old);
        }
        e->charge = uint32_t(charge);
        e->expire_at = expire_at;
        e->tag_id = tag_id;
        bytes_ += charge;
        if (expire_at)
            ttl_entries_++;
        policy_->on_hit(e);
        enforce_limits();
        return;
    }
    Entry *e = Entry::create(key, value, hash);
    e->charge = uint32_t(charge);
    e->expire_at = expire_at;
    e->tag_id = tag_id;
    try {
        map_.emplace(KeyRef{e->key_data(), e->key_len, hash}, e);
    } catch (...) {
        Entry::destroy(e);
        throw;
    }
    bytes_ += charge;
    if (expire_at)
        ttl_entries_++;
    policy_->on_insert(e);
    enforce_limits();
}

void MemoryShard::enforce_limits()
{
    while ((limits_.max_items && map_.size() > limits_.max_items) ||
           (limits_.max_bytes && bytes_ > limits_.max_bytes)) {
        Entry *v = policy_->victim();
        if (!v)
            break;
        auto it = map_.find(ref(v->key(), v->hash));
        if (it == map_.end())
            fail(CACHE_EINTERNAL, "eviction policy returned an entry the shard does not hold");
        evictions_++;
        erase(it);
    }
}

void MemoryShard::set(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id)
{
    std::lock_guard<std::mutex> lock(mu_);
    store(key, hash, value, expire_at, tag_id, map_.find(ref(key, hash)));
}

bool MemoryShard::add(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, int64_t now)
{
    std::lock_guard<std::mutex> lock(mu_);
    if (find_live(key, hash, now))
        return false;
    store(key, hash, value, expire_at, 0, map_.end());
    return true;
}

bool MemoryShard::get(Bytes key, uint64_t hash, OwnedBuffer *out)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(ref(key, hash));
    if (it == map_.end()) {
        policy_->on_miss(hash);
        return false;
    }
    Entry *e = it->second;
    if (e->expire_at && e->expire_at <= monotonic_ms()) {
        expirations_++;
        erase(it);
        policy_->on_miss(hash);
        return false;
    }
    policy_->on_hit(e);
    out->assign(e->value_data(), e->value_len);
    return true;
}

bool MemoryShard::del(Bytes key, uint64_t hash)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(ref(key, hash));
    if (it == map_.end())
        return false;
    bool live = !(it->second->expire_at && it->second->expire_at <= monotonic_ms());
    if (!live)
        expirations_++;
    erase(it);
    return live;
}

bool MemoryShard::del_if_tagged(Bytes key, uint64_t hash, uint64_t tag_id)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(ref(key, hash));
    if (it == map_.end() || it->second->tag_id != tag_id)
        return false;
    bool live = !(it->second->expire_at && it->second->expire_at <= monotonic_ms());
    erase(it);
    return live;
}

bool MemoryShard::exists(Bytes key, uint64_t hash)
{
    std::lock_guard<std::mutex> lock(mu_);
    return find_live(key, hash, 0) != nullptr;
}

int64_t MemoryShard::incr(Bytes key, uint64_t hash, int64_t delta, int64_t expire_if_new)
{
    std::lock_guard<std::mutex> lock(mu_);
    Entry *e = find_live(key, hash, 0);
    int64_t current = 0;
    int64_t expire_at = expire_if_new;
    uint64_t tag_id = 0;
    if (e) {
        current = parse_counter(e->value());
        expire_at = e->expire_at;
        tag_id = e->tag_id;
    }
    int64_t next = add_counter(current, delta);
    char buf[24];
    size_t n = format_counter(next, buf);
    store(key, hash, Bytes(buf, n), expire_at, tag_id, map_.find(ref(key, hash)));
    return next;
}

bool MemoryShard::touch(Bytes key, uint64_t hash, int64_t expire_at)
{
    std::lock_guard<std::mutex> lock(mu_);
    Entry *e = find_live(key, hash, 0);
    if (!e)
        return false;
    if (e->expire_at)
        ttl_entries_--;
    e->expire_at = expire_at;
    if (expire_at)
        ttl_entries_++;
    return true;
}

bool MemoryShard::ttl(Bytes key, uint64_t hash, int64_t now, int64_t *remaining)
{
    std::lock_guard<std::mutex> lock(mu_);
    Entry *e = find_live(key, hash, now);
    if (!e)
        return false;
    *remaining = e->expire_at ? e->expire_at - now : -1;
    return true;
}

size_t MemoryShard::remove_if_prefix(Bytes prefix)
{
    std::lock_guard<std::mutex> lock(mu_);
    size_t removed = 0;
    for (auto it = map_.begin(); it != map_.end();) {
        auto next = std::next(it);
        if (it->second->key().substr(0, prefix.size()) == prefix) {
            erase(it);
            removed++;
        }
        it = next;
    }
    return removed;
}

size_t MemoryShard::remove_matching(const GlobPattern &pattern)
{
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = monotonic_ms();
    size_t removed = 0;
    for (auto it = map_.begin(); it != map_.end();) {
        auto next = std::next(it);
        Entry *e = it->second;
        if (pattern.match(e->key())) {
            bool live = !(e->expire_at && e->expire_at <= now);
            erase(it);
            removed += live;
        }
        it = next;
    }
    return removed;
}

void MemoryShard::collect_matching(const GlobPattern &pattern, size_t limit,
                                   std::vector<std::string> *out)
{
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = monotonic_ms();
    for (auto &kv : map_) {
        if (limit && out->size() >= limit)
            return;
        Entry *e = kv.second;
        if (e->expire_at && e->expire_at <= now)
            continue;
        if (pattern.match(e->key()))
            out->emplace_back(e->key());
    }
}

size_t MemoryShard::reap(int64_t now)
{
    std::lock_guard<std::mutex> lock(mu_);
    if (ttl_entries_ == 0)
        return 0;
    size_t removed = 0;
    for (auto it = map_.begin(); it != map_.end();) {
        auto next = std::next(it);
        if (it->second->expire_at && it->second->expire_at <= now) {
            erase(it);
            removed++;
        }
        it = next;
    }
    expirations_ += int64_t(removed);
    return removed;
}

ShardCounts MemoryShard::counts(Bytes prefix)
{
    std::lock_guard<std::mutex> lock(mu_);
    ShardCounts c;
    c.evictions = evictions_;
    c.expirations = expirations_;
    if (prefix.empty()) {
        c.size = int64_t(map_.size());
        c.bytes = int64_t(bytes_);
        return c;
    }
    for (auto &kv : map_) {
        if (kv.second->key().substr(0, prefix.size()) == prefix) {
            c.size++;
            c.bytes += kv.second->charge;
        }
    }
    return c;
}

} // namespace unicache
