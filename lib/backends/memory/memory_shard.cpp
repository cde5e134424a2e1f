#include "memory_shard.h"

#include <algorithm>

#include "core/clock.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "core/glob.h"
#include "core/value_codec.h"

namespace unicache {

namespace {

bool expired(const Entry *e, int64_t now)
{
    return e->expire_at && e->expire_at <= now;
}

bool has_prefix(const Entry *e, Bytes prefix)
{
    return e->key().substr(0, prefix.size()) == prefix;
}

} // namespace

size_t MemoryShard::charge_for(size_t key_len, size_t value_len) const
{
    // glibc malloc: an 8-byte header, rounded up to 16 bytes.
    size_t alloc = (sizeof(Entry) + key_len + value_len + 8 + 15) & ~size_t(15);
    return alloc + EntryTable::kBytesPerEntry + policy_bytes_;
}

MemoryShard::MemoryShard(ShardLimits limits, std::unique_ptr<EvictionPolicy> policy)
    : records_hits_(policy->uses_hits()),
      table_(std::min<size_t>(limits.max_items, kInitialReserve)), policy_(std::move(policy)),
      policy_bytes_(policy_->bytes_per_entry()), limits_(limits)
{
}

MemoryShard::~MemoryShard()
{
    table_.for_each([](Entry *e) { Entry::destroy(e); });
}

Entry *MemoryShard::find_live(Bytes key, uint64_t hash, int64_t now)
{
    Entry *e = table_.find(key, hash);
    if (e && expired(e, now ? now : monotonic_ms())) {
        expirations_++;
        erase(e);
        return nullptr;
    }
    return e;
}

void MemoryShard::drain_reads()
{
    unsigned n = nreads_;
    nreads_ = 0;
    for (unsigned i = 0; i < n; i++) {
        __builtin_prefetch(reads_[i]->prev, 1);
        __builtin_prefetch(reads_[i]->next, 1);
    }
    for (unsigned i = 0; i < n; i++)
        policy_->on_hit(reads_[i]);
}

Entry *MemoryShard::find_hit(Bytes key, uint64_t hash)
{
    Entry *e = table_.find(key, hash);
    if (e && e->expire_at && e->expire_at <= monotonic_ms()) {
        expirations_++;
        erase(e);
        e = nullptr;
    }
    if (!e) {
        policy_->on_miss(hash);
        return nullptr;
    }
    if (records_hits_) {
        reads_[nreads_++] = e;
        if (nreads_ == kReadBuffer)
            drain_reads();
    }
    return e;
}

void MemoryShard::release(Entry *e)
{
    if (nreads_)
        drain_reads();
    policy_->on_remove(e);
    bytes_ -= e->charge;
    if (e->expire_at)
        ttl_entries_--;
    Entry::destroy(e);
}

void MemoryShard::erase(Entry *e)
{
    table_.erase(e);
    release(e);
}

void MemoryShard::set_expiry(Entry *e, int64_t expire_at)
{
    if (e->expire_at)
        ttl_entries_--;
    e->expire_at = expire_at;
    if (expire_at) {
        ttl_entries_++;
        min_expire_ = std::min(min_expire_, expire_at);
        pass_min_ = std::min(pass_min_, expire_at);
    }
}

void MemoryShard::store(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id,
                        Entry *e)
{
    if (value.size() > UINT32_MAX || key.size() > UINT32_MAX)
        fail(CACHE_ETOOBIG, "value of " + std::to_string(value.size()) +
                                " bytes is over the memory backend's 4 GiB entry limit");
    if (nreads_)
        drain_reads(); // e may be replaced, and the policy is about to decide
    size_t charge = charge_for(key.size(), value.size());
    // The charge is kept in 32 bits: an entry whose overhead would carry
    // it past 4 GiB is refused, not counted as a few bytes.
    if (charge > UINT32_MAX)
        fail(CACHE_ETOOBIG, "entry of " + std::to_string(charge) +
                                " bytes (key, value and overhead) is over the memory backend's "
                                "4 GiB entry limit");
    if (limits_.max_bytes && charge > limits_.max_bytes)
        fail(CACHE_ETOOBIG, "entry of " + std::to_string(charge) +
                                " bytes (key, value and overhead) is larger than this cache "
                                "can hold per shard (" +
                                std::to_string(limits_.max_bytes) +
                                " bytes); raise max_memory_mb or lower shards");
    if (e) {
        bytes_ -= e->charge;
        if (value.size() <= e->value_cap && value.size() >= e->value_cap / 2) {
            if (!value.empty())
                std::memcpy(e->value_data(), value.data(), value.size());
            e->value_len = uint32_t(value.size());
            // Reusing the allocation: the charge stays that of its capacity.
            charge = charge_for(key.size(), e->value_cap);
        } else {
            Entry *old = e;
            e = Entry::create(key, value, hash);
            e->prev = old->prev;
            e->next = old->next;
            e->queue = old->queue;
            e->freq = old->freq;
            e->expire_at = old->expire_at;
            if (e->prev) {
                e->prev->next = e;
                e->next->prev = e;
            }
            policy_->on_move(old, e);
            table_.replace(old, e);
            Entry::destroy(old);
        }
        e->charge = uint32_t(charge);
        e->tag_id = tag_id;
        set_expiry(e, expire_at);
        bytes_ += charge;
        policy_->on_update(e);
        enforce_limits();
        return;
    }
    e = Entry::create(key, value, hash);
    e->charge = uint32_t(charge);
    e->tag_id = tag_id;
    try {
        table_.insert(e);
    } catch (...) {
        Entry::destroy(e);
        throw;
    }
    set_expiry(e, expire_at);
    bytes_ += charge;
    policy_->on_insert(e);
    enforce_limits();
}

void MemoryShard::enforce_limits()
{
    while ((limits_.max_items && table_.size() > limits_.max_items) ||
           (limits_.max_bytes && bytes_ > limits_.max_bytes)) {
        Entry *v = policy_->victim();
        if (!v)
            break;
        evictions_++;
        erase(v);
    }
}

void MemoryShard::set(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, uint64_t tag_id)
{
    std::lock_guard<ShardMutex> lock(mu_);
    store(key, hash, value, expire_at, tag_id, table_.find(key, hash));
}

bool MemoryShard::add(Bytes key, uint64_t hash, Bytes value, int64_t expire_at, int64_t now)
{
    std::lock_guard<ShardMutex> lock(mu_);
    if (find_live(key, hash, now))
        return false;
    store(key, hash, value, expire_at, 0, nullptr);
    return true;
}

bool MemoryShard::get(Bytes key, uint64_t hash, OwnedBuffer *out)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_hit(key, hash);
    if (!e)
        return false;
    out->assign(e->value_data(), e->value_len);
    return true;
}

bool MemoryShard::get_entry(Bytes key, uint64_t hash, OwnedBuffer *out, int64_t *expire_at)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_hit(key, hash);
    if (!e)
        return false;
    out->assign(e->value_data(), e->value_len);
    *expire_at = e->expire_at;
    return true;
}

bool MemoryShard::get_into(Bytes key, uint64_t hash, void *dst, size_t capacity, size_t *size)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_hit(key, hash);
    if (!e)
        return false;
    copy_stored(Bytes(e->value_data(), e->value_len), dst, capacity, size);
    return true;
}

bool MemoryShard::del(Bytes key, uint64_t hash)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = table_.find(key, hash);
    if (!e)
        return false;
    bool live = !expired(e, monotonic_ms());
    if (!live)
        expirations_++;
    erase(e);
    return live;
}

bool MemoryShard::del_if_tagged(Bytes key, uint64_t hash, uint64_t tag_id)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = table_.find(key, hash);
    if (!e || e->tag_id != tag_id)
        return false;
    bool live = !expired(e, monotonic_ms());
    erase(e);
    return live;
}

bool MemoryShard::exists(Bytes key, uint64_t hash)
{
    std::lock_guard<ShardMutex> lock(mu_);
    return find_live(key, hash, 0) != nullptr;
}

bool MemoryShard::carries_tag(Bytes key, uint64_t hash, uint64_t tag_id)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_live(key, hash, 0);
    return e && e->tag_id == tag_id;
}

int64_t MemoryShard::incr(Bytes key, uint64_t hash, int64_t delta, int64_t expire_if_new)
{
    std::lock_guard<ShardMutex> lock(mu_);
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
    store(key, hash, Bytes(buf, n), expire_at, tag_id, e);
    return next;
}

bool MemoryShard::incr_existing(Bytes key, uint64_t hash, int64_t delta, int64_t *result)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_live(key, hash, 0);
    if (!e)
        return false;
    int64_t next = add_counter(parse_counter(e->value()), delta);
    char buf[24];
    size_t n = format_counter(next, buf);
    store(key, hash, Bytes(buf, n), e->expire_at, e->tag_id, e);
    *result = next;
    return true;
}

bool MemoryShard::touch(Bytes key, uint64_t hash, int64_t expire_at)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_live(key, hash, 0);
    if (!e)
        return false;
    set_expiry(e, expire_at);
    return true;
}

bool MemoryShard::ttl(Bytes key, uint64_t hash, int64_t now, int64_t *remaining)
{
    std::lock_guard<ShardMutex> lock(mu_);
    Entry *e = find_live(key, hash, now);
    if (!e)
        return false;
    *remaining = e->expire_at ? e->expire_at - now : -1;
    return true;
}

size_t MemoryShard::remove_if_prefix(Bytes prefix)
{
    std::lock_guard<ShardMutex> lock(mu_);
    size_t removed = 0;
    table_.erase_if([&](Entry *e) {
        if (!has_prefix(e, prefix))
            return false;
        release(e);
        removed++;
        return true;
    });
    return removed;
}

size_t MemoryShard::remove_matching(const GlobPattern &pattern)
{
    std::lock_guard<ShardMutex> lock(mu_);
    int64_t now = monotonic_ms();
    size_t removed = 0;
    table_.erase_if([&](Entry *e) {
        if (!pattern.match(e->key()))
            return false;
        removed += !expired(e, now);
        release(e);
        return true;
    });
    return removed;
}

void MemoryShard::collect_matching(const GlobPattern &pattern, size_t limit,
                                   std::vector<std::string> *out)
{
    std::lock_guard<ShardMutex> lock(mu_);
    int64_t now = monotonic_ms();
    table_.for_each([&](Entry *e) {
        if ((!limit || out->size() < limit) && !expired(e, now) && pattern.match(e->key()))
            out->emplace_back(e->key());
    });
}

size_t MemoryShard::reap(int64_t now)
{
    size_t removed = 0;
    size_t table_capacity = 0;
    bool complete = true;
    for (size_t pos = 0;; pos += kReapChunk) {
        std::lock_guard<ShardMutex> lock(mu_);
        if (pos == 0) {
            if (ttl_entries_ == 0 || now < min_expire_)
                return 0;
            table_capacity = table_.capacity();
            pass_min_ = INT64_MAX;
        }
        // A rehash between chunks moves entries behind the cursor; this pass
        // may then miss some, so the next one must not be skipped.
        if (table_.capacity() != table_capacity)
            complete = false;
        table_.erase_if_range(pos, pos + kReapChunk, [&](Entry *e) {
            if (!e->expire_at)
                return false;
            if (e->expire_at > now) {
                pass_min_ = std::min(pass_min_, e->expire_at);
                return false;
            }
            release(e);
            removed++;
            expirations_++;
            return true;
        });
        if (pos + kReapChunk >= table_.capacity()) {
            min_expire_ = complete ? pass_min_ : now;
            return removed;
        }
    }
}

ShardCounts MemoryShard::counts(Bytes prefix)
{
    std::lock_guard<ShardMutex> lock(mu_);
    ShardCounts c;
    c.evictions = evictions_;
    c.expirations = expirations_;
    if (prefix.empty()) {
        c.size = int64_t(table_.size());
        c.bytes = int64_t(bytes_);
        return c;
    }
    table_.for_each([&](Entry *e) {
        if (has_prefix(e, prefix)) {
            c.size++;
            c.bytes += e->charge;
        }
    });
    return c;
}

} // namespace unicache
