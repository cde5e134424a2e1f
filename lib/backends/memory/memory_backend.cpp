#include "memory_backend.h"
#include "memory_store_registry.h"

#include <algorithm>
#include <climits>
#include <random>

#include "backends/factories.h"
#include "basic_policies.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/expiry.h"
#include "core/hash.h"

namespace unicache {

namespace {

size_t choose_shards(const MemoryOptions &o)
{
    if (o.shards)
        return o.shards;
    // Enough shards that threads rarely meet on one lock (64: two threads
    // collide on 1.6% of their operations), but each shard keeps >= 1024
    // items so per-shard eviction still sees a real history, and >= 4 MiB so
    // that a large value still fits in one shard's budget.
    size_t n = 64;
    while (n > 1 && ((o.max_items && o.max_items / n < 1024) ||
                     (o.max_memory && o.max_memory / n < (size_t(4) << 20))))
        n /= 2;
    return n;
}

uint64_t random_seed()
{
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(monotonic_ms());
}

} // namespace

MemoryBackend::MemoryBackend(const MemoryOptions &opts) : opts_(opts), seed_(random_seed())
{
    size_t n = choose_shards(opts_);
    if (opts_.max_items && opts_.max_items < n)
        fail(CACHE_EINVAL, "parameter 'shards' (" + std::to_string(n) +
                               ") must not exceed max_items (" + std::to_string(opts_.max_items) +
                               ")");
    shard_mask_ = n - 1;
    for (size_t i = 0; i < n; i++) {
        // Split the limits exactly: the shards together hold max_items and
        // max_memory, never more.
        ShardLimits limits;
        limits.max_items = opts_.max_items / n + (i < opts_.max_items % n);
        limits.max_bytes = opts_.max_memory / n;
        // Without limits nothing is ever evicted: keep no policy state.
        std::unique_ptr<EvictionPolicy> policy = bounded()
                                                     ? make_policy(opts_.policy, limits.max_items)
                                                     : std::make_unique<NoEvictionPolicy>();
        shards_.push_back(std::make_unique<MemoryShard>(limits, std::move(policy)));
    }
    reaper_ = std::make_unique<Reaper>(opts_.expiry_interval_ms, [this] { reap_all(); });
}

// The reaper thread and the shard locks are fork-safe by themselves (see
// reaper.h and shard_mutex.h); nothing else here is shared with a thread.
MemoryBackend::~MemoryBackend() = default;

void MemoryBackend::reap_all()
{
    int64_t now = monotonic_ms();
    for (auto &s : shards_)
        s->reap(now);
}

int64_t MemoryBackend::expire_at(int64_t ttl_ms)
{
    return ttl_ms > 0 ? deadline_after(monotonic_ms(), ttl_ms) : 0;
}

void MemoryBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    uint64_t h = hash_of(key);
    shard_for(h).set(key, h, value, expire_at(ttl_ms), 0);
}

bool MemoryBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    uint64_t h = hash_of(key);
    return shard_for(h).add(key, h, value, expire_at(ttl_ms), monotonic_ms());
}

bool MemoryBackend::get(Bytes key, OwnedBuffer *out)
{
    uint64_t h = hash_of(key);
    return shard_for(h).get(key, h, out);
}

bool MemoryBackend::get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    uint64_t h = hash_of(key);
    int64_t expire_at = 0;
    if (!shard_for(h).get_entry(key, h, out, &expire_at))
        return false;
    // One lookup: the expiry is monotonic here and wall clock in EntryMeta.
    EntryMeta m;
    if (expire_at)
        m.expires_at_ms = wall_ms() + std::max<int64_t>(expire_at - monotonic_ms(), 1);
    *meta = m;
    return true;
}

bool MemoryBackend::get_into(Bytes key, void *dst, size_t capacity, size_t *size)
{
    uint64_t h = hash_of(key);
    return shard_for(h).get_into(key, h, dst, capacity, size);
}

bool MemoryBackend::del(Bytes key)
{
    uint64_t h = hash_of(key);
    end_leases(key, h);
    return shard_for(h).del(key, h);
}

bool MemoryBackend::exists(Bytes key)
{
    uint64_t h = hash_of(key);
    return shard_for(h).exists(key, h);
}

int64_t MemoryBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
    uint64_t h = hash_of(key);
    return shard_for(h).incr(key, h, delta, expire_at(ttl_ms_if_new));
}

bool MemoryBackend::incr_existing(Bytes key, int64_t delta, int64_t *result)
{
    uint64_t h = hash_of(key);
    return shard_for(h).incr_existing(key, h, delta, result);
}

bool MemoryBackend::touch(Bytes key, int64_t ttl_ms)
{
    uint64_t h = hash_of(key);
    return shard_for(h).touch(key, h, expire_at(ttl_ms));
}

bool MemoryBackend::ttl(Bytes key, int64_t *remaining_ms)
{
    uint64_t h = hash_of(key);
    return shard_for(h).ttl(key, h, monotonic_ms(), remaining_ms);
}

void MemoryBackend::clear(Bytes prefix)
{
    end_leases_with_prefix(prefix);
    for (auto &s : shards_)
        s->remove_if_prefix(prefix);
    std::lock_guard<ShardMutex> lock(tags_mu_);
    for (auto it = tags_.begin(); it != tags_.end();) {
        if (Bytes(it->first).substr(0, prefix.size()) == prefix)
            it = tags_.erase(it);
        else
            ++it;
    }
}

void MemoryBackend::keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out)
{
    for (auto &s : shards_) {
        if (limit && out->size() >= limit)
            break;
        s->collect_matching(pattern, limit, out);
    }
}

size_t MemoryBackend::delete_pattern(const GlobPattern &pattern)
{
    size_t removed = 0;
    for (auto &s : shards_)
        removed += s->remove_matching(pattern);
    return removed;
}

uint64_t MemoryBackend::index_tags(Bytes key, const Bytes *tags, size_t ntags)
{
    if (ntags == 0)
        return 0;
    uint64_t id = next_tag_id_.fetch_add(1, std::memory_order_relaxed);
    // Index first: an invalidation that starts after this set returns
    // then finds the member. Until the entry is stored the id is in
    // flight, and pruning must not take it for a stale member.
    std::lock_guard<ShardMutex> lock(tags_mu_);
    in_flight_.insert(id);
    for (size_t i = 0; i < ntags; i++) {
        TagMembers &t = tags_[std::string(tags[i])];
        if (t.members.size() >= t.prune_at)
            prune(t);
        t.members.emplace_back(std::string(key), id);
    }
    return id;
}

void MemoryBackend::tags_stored(uint64_t id)
{
    if (id == 0)
        return;
    std::lock_guard<ShardMutex> lock(tags_mu_);
    in_flight_.erase(id);
}

void MemoryBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                               size_t ntags)
{
    uint64_t h = hash_of(key);
    uint64_t id = index_tags(key, tags, ntags);
    try {
        shard_for(h).set(key, h, value, expire_at(ttl_ms), id);
    } catch (...) {
        tags_stored(id);
        throw;
    }
    tags_stored(id);
}

void MemoryBackend::prune(TagMembers &t)
{
    // Drop members whose entry is gone or no longer carries their id.
    auto stale = [&](const std::pair<std::string, uint64_t> &m) {
        if (in_flight_.count(m.second))
            return false;
        uint64_t h = hash_of(m.first);
        return !shard_for(h).carries_tag(m.first, h, m.second);
    };
    t.members.erase(std::remove_if(t.members.begin(), t.members.end(), stale), t.members.end());
    t.prune_at = std::max<size_t>(64, t.members.size() * 2);
}

size_t MemoryBackend::invalidate_tags(const Bytes *tags, size_t n)
{
    std::vector<std::pair<std::string, uint64_t>> victims;
    {
        std::lock_guard<ShardMutex> lock(tags_mu_);
        for (size_t i = 0; i < n; i++) {
            auto it = tags_.find(std::string(tags[i]));
            if (it == tags_.end())
                continue;
            for (auto &m : it->second.members)
                victims.push_back(std::move(m));
            tags_.erase(it);
        }
    }
    size_t removed = 0;
    for (auto &v : victims) {
        uint64_t h = hash_of(v.first);
        removed += shard_for(h).del_if_tagged(v.first, h, v.second) ? 1 : 0;
        drop_stale_copy(v.first, h, v.second);
    }
    return removed;
}

std::string MemoryBackend::info()
{
    return "memory backend: shards=" + std::to_string(shards_.size()) + " policy=" + opts_.policy +
           (bounded() ? "" : " (idle: no max_items or max_memory_mb)") +
           " max_items=" + std::to_string(opts_.max_items) +
           " max_memory_bytes=" + std::to_string(opts_.max_memory) +
           " expiry_interval_ms=" + std::to_string(opts_.expiry_interval_ms);
}

BackendStats MemoryBackend::stats(Bytes prefix)
{
    BackendStats b;
    b.size = 0;
    b.memory_bytes = 0;
    for (auto &s : shards_) {
        ShardCounts c = s->counts(prefix);
        b.size += c.size;
        b.memory_bytes += c.bytes;
        b.evictions += c.evictions;
        b.expirations += c.expirations;
    }
    return b;
}

std::unique_ptr<Backend> make_memory_backend(Config &config)
{
    if (!config.location.empty() || config.has_password)
        fail(CACHE_EINVAL,
             "memory:// takes no host or path, only parameters (got '" + config.display + "')");
    MemoryOptions o;
    Params &p = config.params;
    o.max_items = size_t(p.take_int("max_items", 0, 0, INT32_MAX));
    int64_t mb = p.take_int("max_memory_mb", 0, 0, int64_t(1) << 40);
    o.max_memory = size_t(mb) << 20;
    o.policy = p.take_choice("policy", policy_names().front(), policy_names());
    int64_t shards = p.take_int("shards", 0, 0, 1024);
    if (shards & (shards - 1))
        fail(CACHE_EINVAL,
             "parameter 'shards' must be a power of two, got " + std::to_string(shards));
    o.shards = size_t(shards);
    o.expiry_interval_ms = p.take_int("expiry_interval_ms", 1000, 0, 3600 * 1000);
    std::string name = p.take_string("name", "");
    bool named = p.has("name");
    if (named && (name.empty() || name.size() > 256))
        fail(CACHE_EINVAL, "parameter 'name' must be 1 to 256 bytes long (got " +
                               std::to_string(name.size()) + ")");
    p.finish(config.scheme); // every parameter checked before a store is made
    if (named)
        return named_memory_handle(name, open_named_memory_store(name, o));
    return std::make_unique<MemoryBackend>(o);
}

} // namespace unicache
