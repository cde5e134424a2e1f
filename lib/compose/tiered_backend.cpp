#include "compose/tiered_backend.h"

#include <algorithm>
#include <type_traits>

#include "compose/copy_envelope.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "core/per_process.h"

namespace unicache {

namespace {

// Ends a write on the fence whatever happens in between.
class WriteScope {
public:
    WriteScope(KeyFence &fence, Bytes key) : fence_(fence), key_(key) { fence_.begin_write(key_); }
    ~WriteScope() { fence_.end_write(key_); }
    WriteScope(const WriteScope &) = delete;
    WriteScope &operator=(const WriteScope &) = delete;

private:
    KeyFence &fence_;
    Bytes key_;
};

class BatchWriteScope {
public:
    BatchWriteScope(KeyFence &fence, const Bytes *keys, size_t n)
        : fence_(fence), keys_(keys), n_(n)
    {
        for (size_t i = 0; i < n_; i++)
            fence_.begin_write(keys_[i]);
    }
    ~BatchWriteScope()
    {
        for (size_t i = 0; i < n_; i++)
            fence_.end_write(keys_[i]);
    }
    BatchWriteScope(const BatchWriteScope &) = delete;
    BatchWriteScope &operator=(const BatchWriteScope &) = delete;

private:
    KeyFence &fence_;
    const Bytes *keys_;
    size_t n_;
};

bool is_outage(const Error &e)
{
    return CircuitBreaker::is_outage(e.status());
}

} // namespace

TieredBackend::TieredBackend(std::vector<Tier> tiers, std::unique_ptr<Backend> fallback,
                             TierSettings s, std::string prefix)
    : fallback_(std::move(fallback)), settings_(s), prefix_(std::move(prefix))
{
    for (Tier &t : tiers)
        slots_.push_back(std::make_unique<Slot>(std::move(t), settings_));
    if (slots_.size() > 1) {
        // Assumed until it answers: its first notifications_live() may
        // come before watch_changes() returns, and must count.
        pushes_.store(true);
        pushes_.store(lowest().backend->watch_changes(this));
        if (!pushes_.load() && settings_.l1_ttl_ms == 0)
            fail(CACHE_EINVAL,
                 "l1_ttl is required: " + lowest().label +
                     " cannot tell this process when other clients change entries, so the "
                     "copies in the tiers above it need a bounded life (e.g. \"l1_ttl\": 30000)");
    }
}

TieredBackend::~TieredBackend()
{
    // The lowest tier may report changes from its own threads until it is
    // gone: it goes first, while the tiers it reports to still exist.
    slots_.back()->backend.reset();
}

// ------------------------------------------------------------ the breaker

void TieredBackend::unavailable(const Slot &t) const
{
    fail(CACHE_EUNAVAILABLE, t.label + " is unavailable: its circuit breaker is open after " +
                                 std::to_string(settings_.breaker_failures) +
                                 " consecutive failures; next try in " +
                                 std::to_string(t.breaker.retry_in_ms()) + " ms");
}

template <typename F> auto TieredBackend::call(Slot &t, F &&f) -> decltype(f(*t.backend))
{
    CircuitBreaker::Pass how = t.breaker.pass();
    if (how == CircuitBreaker::Pass::deny)
        unavailable(t);
    try {
        if (t.log.maybe_pending()) {
            // Whatever it missed goes first, so this call is newer than all of it.
            std::lock_guard<std::mutex> lock(t.replaying);
            recover(t);
        }
        if constexpr (std::is_void_v<decltype(f(*t.backend))>) {
            f(*t.backend);
            t.breaker.success(how);
        } else {
            auto result = f(*t.backend);
            t.breaker.success(how);
            return result;
        }
    } catch (const Error &e) {
        if (is_outage(e))
            t.breaker.failure(how);
        else
            t.breaker.success(how); // it answered
        throw;
    } catch (...) {
        if (how == CircuitBreaker::Pass::probe)
            t.breaker.failure(how); // never leave it half-open
        throw;
    }
}

void TieredBackend::recover(Slot &t)
{
    OutageLog::Pending p = t.log.take();
    if (p.empty())
        return;
    try {
        Backend &b = *t.backend;
        for (const OutageLog::Broad &op : p.broad) {
            if (op.kind == OutageLog::Broad::Kind::clear) {
                b.clear(op.pattern);
            } else if (op.kind == OutageLog::Broad::Kind::pattern) {
                b.delete_pattern(GlobPattern(op.pattern));
            } else {
                std::vector<Bytes> tags(op.tags.begin(), op.tags.end());
                b.invalidate_tags(tags.data(), tags.size());
            }
        }
        if (&t == &lowest()) {
            recover_lowest(p);
        } else {
            std::vector<Bytes> keys;
            for (const auto &k : p.keys)
                keys.push_back(k.first);
            b.del_many(keys.data(), keys.size());
            if (p.overflowed)
                b.clear(prefix_);
        }
        t.log.count_replayed(int64_t(p.broad.size() + p.keys.size()));
    } catch (...) {
        t.log.restore(std::move(p));
        throw;
    }
}

void TieredBackend::recover_lowest(OutageLog::Pending &p)
{
    Backend &low = *lowest().backend;
    std::vector<Bytes> deletes;
    for (const auto &k : p.keys) {
        if (k.second.op == OutageLog::KeyOp::del) {
            deletes.push_back(k.first);
            continue;
        }
        // A set that reached only the tiers above; the log kept its value
        // (the copies may be flushed before this runs).
        if (settings_.write_back) {
            EntryMeta m;
            m.expires_at_ms = k.second.expires_at_ms;
            low.set_entry(k.first, k.second.value, m);
        }
        drop_copies(k.first);
    }
    if (!deletes.empty())
        low.del_many(deletes.data(), deletes.size());
    if (p.overflowed) {
        log_event(CACHE_LOG_WARN, [&] {
            return "coherence flush: " + lowest().label +
                   " is back, but more writes were missed than the outage log holds "
                   "(outage_log_max); the tiers above dropped all their copies";
        });
        drop_all_copies();
    }
    if (fallback_)
        fallback_->clear(prefix_); // it held only what the outage wrote
}

// ------------------------------------------------------------ copies

EntryMeta TieredBackend::meta_for(int64_t ttl_ms) const
{
    EntryMeta m;
    m.expires_at_ms = ttl_ms > 0 ? wall_ms() + ttl_ms : 0;
    return m;
}

void TieredBackend::put_copy(Slot &t, Bytes key, Bytes value, const EntryMeta &meta)
{
    int64_t now = wall_ms();
    int64_t fresh_until = meta.expires_at_ms;
    if (settings_.l1_ttl_ms > 0) {
        int64_t cap = now + settings_.l1_ttl_ms;
        fresh_until = fresh_until ? std::min(fresh_until, cap) : cap;
    }
    if (fresh_until && fresh_until <= now)
        return;
    EntryMeta stored = meta;
    stored.expires_at_ms = fresh_until ? fresh_until + settings_.stale_if_error_ms : 0;
    Bytes envelope = wrap_copy(value, fresh_until);
    call(t, [&](Backend &b) { b.set_entry(key, envelope, stored); });
}

void TieredBackend::put_copies(size_t below, Bytes key, Bytes value, const EntryMeta &meta)
{
    for (size_t i = 0; i < below && i < upper_count(); i++) {
        try {
            put_copy(*slots_[i], key, value, meta);
        } catch (const Error &e) {
            // Whatever the tier held before must not outlive this write.
            try {
                call(*slots_[i], [&](Backend &b) { return b.del(key); });
            } catch (const Error &) {
                slots_[i]->log.record(key, OutageLog::KeyOp::del);
            }
        }
    }
}

void TieredBackend::drop_copies(Bytes key)
{
    fence_.bump(key);
    for (size_t i = 0; i < upper_count(); i++) {
        try {
            call(*slots_[i], [&](Backend &b) { return b.del(key); });
        } catch (const Error &) {
            slots_[i]->log.record(key, OutageLog::KeyOp::del);
        }
    }
}

void TieredBackend::drop_all_copies()
{
    fence_.bump_all();
    for (size_t i = 0; i < upper_count(); i++) {
        try {
            call(*slots_[i], [&](Backend &b) { b.clear(prefix_); });
        } catch (const Error &) {
            slots_[i]->log.record_broad(
                OutageLog::Broad{OutageLog::Broad::Kind::clear, prefix_, {}},
                [](const std::string &) { return true; });
        }
    }
}

bool TieredBackend::read_copy(Slot &t, Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    EntryMeta stored;
    if (!call(t, [&](Backend &b) { return b.get_entry(key, out, &stored); }))
        return false;
    int64_t fresh_until = 0;
    if (!unwrap_copy(out, &fresh_until)) {
        *out = OwnedBuffer();
        return false;
    }
    // The copy's own expiry includes stale_if_error; the entry's is when
    // it stops being fresh.
    *meta = stored;
    meta->expires_at_ms = fresh_until;
    return true;
}

bool TieredBackend::fresh(int64_t fresh_until)
{
    return fresh_until == 0 || fresh_until > wall_ms();
}

void TieredBackend::promote(Bytes key, Bytes value, const EntryMeta &meta, const KeyFence::Mark &m,
                            size_t below)
{
    // A write in flight or an invalidation since the read began: the value
    // read may already be old, so it is not copied.
    if (m.writers != 0 || !trusted() || !fence_.unchanged(key, m))
        return;
    put_copies(below, key, value, meta);
    if (!fence_.unchanged(key, m)) {
        drop_copies(key); // it raced a change: the change wins
        return;
    }
    promotions_.fetch_add(1, std::memory_order_relaxed);
}

bool TieredBackend::read_in_outage(Bytes key, OwnedBuffer *out, EntryMeta *meta,
                                   const Error &outage)
{
    for (size_t i = 0; i < upper_count(); i++) {
        try {
            if (read_copy(*slots_[i], key, out, meta)) {
                if (!fresh(meta->expires_at_ms))
                    stale_served_.fetch_add(1, std::memory_order_relaxed);
                return true;
            }
        } catch (const Error &) {
            // Down too: the next tier, or the fallback.
        }
    }
    if (lowest().log.deleted(key))
        return false; // deleted during this outage: known absent
    if (!fallback_)
        throw outage;
    fallback_reads_.fetch_add(1, std::memory_order_relaxed);
    return fallback_->get_entry(key, out, meta);
}

void TieredBackend::set_in_outage(Bytes key, Bytes value, int64_t ttl_ms)
{
    EntryMeta meta = meta_for(ttl_ms);
    // Not capped by l1_ttl: nobody else can write below while it is down,
    // and write_back needs the entry's own expiry.
    for (size_t i = 0; i < upper_count(); i++) {
        Slot &t = *slots_[i];
        EntryMeta stored = meta;
        if (meta.expires_at_ms)
            stored.expires_at_ms = meta.expires_at_ms + settings_.stale_if_error_ms;
        try {
            Bytes envelope = wrap_copy(value, meta.expires_at_ms);
            call(t, [&](Backend &b) { b.set_entry(key, envelope, stored); });
        } catch (const Error &) {
            t.log.record(key, OutageLog::KeyOp::del);
        }
    }
    if (fallback_)
        fallback_->set(key, value, ttl_ms);
    OutageLog::Write w{OutageLog::KeyOp::set, std::string(), meta.expires_at_ms};
    if (settings_.write_back)
        w.value.assign(value.data(), value.size());
    lowest().log.record(key, std::move(w));
}

// ------------------------------------------------------------ reads

bool TieredBackend::get(Bytes key, OwnedBuffer *out)
{
    EntryMeta meta;
    return get_entry(key, out, &meta);
}

bool TieredBackend::get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta)
{
    KeyFence::Mark mark = fence_.look(key);
    if (trusted()) {
        for (size_t i = 0; i < upper_count(); i++) {
            OwnedBuffer copy;
            EntryMeta m;
            try {
                if (read_copy(*slots_[i], key, &copy, &m) && fresh(m.expires_at_ms)) {
                    if (i > 0)
                        promote(key, copy.view(), m, mark, i);
                    *out = std::move(copy);
                    *meta = m;
                    return true;
                }
            } catch (const Error &e) {
                if (!is_outage(e))
                    throw;
            }
        }
    }
    OwnedBuffer value;
    EntryMeta m;
    bool hit;
    try {
        hit = call(lowest(), [&](Backend &b) { return b.get_entry(key, &value, &m); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        return read_in_outage(key, out, meta, e);
    }
    if (!hit)
        return false;
    promote(key, value.view(), m, mark, upper_count());
    *out = std::move(value);
    *meta = m;
    return true;
}

bool TieredBackend::exists(Bytes key)
{
    if (trusted()) {
        for (size_t i = 0; i < upper_count(); i++) {
            OwnedBuffer copy;
            EntryMeta m;
            try {
                if (read_copy(*slots_[i], key, &copy, &m) && fresh(m.expires_at_ms))
                    return true;
            } catch (const Error &e) {
                if (!is_outage(e))
                    throw;
            }
        }
    }
    try {
        return call(lowest(), [&](Backend &b) { return b.exists(key); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        OwnedBuffer copy;
        EntryMeta m;
        return read_in_outage(key, &copy, &m, e);
    }
}

bool TieredBackend::ttl(Bytes key, int64_t *remaining_ms)
{
    return call(lowest(), [&](Backend &b) { return b.ttl(key, remaining_ms); });
}

void TieredBackend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    std::vector<EntryMeta> metas(n);
    get_entries(keys, n, values, metas.data(), statuses);
}

void TieredBackend::get_entries(const Bytes *keys, size_t n, OwnedBuffer *values,
                                EntryMeta *out_metas, int *statuses)
{
    for (size_t i = 0; i < n; i++)
        statuses[i] = CACHE_MISS;
    std::vector<size_t> missing(n);
    for (size_t i = 0; i < n; i++)
        missing[i] = i;
    std::vector<Bytes> ask;
    std::vector<OwnedBuffer> got;
    std::vector<int> st;
    std::vector<EntryMeta> metas;
    std::vector<size_t> still;
    // One call per tier, only for the keys still missing.
    if (trusted()) {
        for (size_t t = 0; t < upper_count() && !missing.empty(); t++) {
            ask.clear();
            for (size_t i : missing)
                ask.push_back(keys[i]);
            got.clear();
            got.resize(ask.size());
            st.assign(ask.size(), CACHE_MISS);
            metas.assign(ask.size(), EntryMeta());
            try {
                call(*slots_[t], [&](Backend &b) {
                    b.get_entries(ask.data(), ask.size(), got.data(), metas.data(), st.data());
                });
            } catch (const Error &e) {
                if (!is_outage(e))
                    throw;
                continue;
            }
            still.clear();
            int64_t now = wall_ms();
            for (size_t j = 0; j < missing.size(); j++) {
                int64_t fresh_until = 0;
                if (st[j] == CACHE_OK && unwrap_copy(&got[j], &fresh_until) &&
                    (fresh_until == 0 || fresh_until > now)) {
                    values[missing[j]] = std::move(got[j]);
                    out_metas[missing[j]] = metas[j];
                    out_metas[missing[j]].expires_at_ms = fresh_until;
                    statuses[missing[j]] = CACHE_OK;
                } else {
                    still.push_back(missing[j]);
                }
            }
            missing.swap(still);
        }
    }
    if (missing.empty())
        return;
    ask.clear();
    std::vector<KeyFence::Mark> marks;
    for (size_t i : missing) {
        ask.push_back(keys[i]);
        marks.push_back(fence_.look(keys[i]));
    }
    got.clear();
    got.resize(ask.size());
    st.assign(ask.size(), CACHE_MISS);
    metas.assign(ask.size(), EntryMeta());
    try {
        call(lowest(), [&](Backend &b) {
            b.get_entries(ask.data(), ask.size(), got.data(), metas.data(), st.data());
        });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        for (size_t i : missing)
            statuses[i] =
                read_in_outage(keys[i], &values[i], &out_metas[i], e) ? CACHE_OK : CACHE_MISS;
        return;
    }
    for (size_t j = 0; j < missing.size(); j++) {
        if (st[j] != CACHE_OK)
            continue;
        promote(ask[j], got[j].view(), metas[j], marks[j], upper_count());
        values[missing[j]] = std::move(got[j]);
        out_metas[missing[j]] = metas[j];
        statuses[missing[j]] = CACHE_OK;
    }
}

void TieredBackend::keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out)
{
    call(lowest(), [&](Backend &b) { b.keys(pattern, limit, out); });
}

// ------------------------------------------------------------ writes

void TieredBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    WriteScope scope(fence_, key);
    try {
        call(lowest(), [&](Backend &b) { b.set(key, value, ttl_ms); });
    } catch (const Error &e) {
        if (!is_outage(e)) {
            drop_copies(key);
            throw;
        }
        set_in_outage(key, value, ttl_ms);
        return;
    }
    // The copies are dropped, not replaced: the next read copies what the
    // lowest tier holds. Writing through would gain little (a watching
    // backend reports this very write back and drops the copy anyway) and
    // would leave the other handles' copies of the key behind.
    drop_copies(key);
}

void TieredBackend::set_entry(Bytes key, Bytes value, const EntryMeta &meta)
{
    int64_t left = meta.expires_at_ms ? meta.expires_at_ms - wall_ms() : 0;
    if (meta.expires_at_ms && left <= 0) {
        del(key); // expired already: an older copy must not stay
        return;
    }
    WriteScope scope(fence_, key);
    try {
        call(lowest(), [&](Backend &b) { b.set_entry(key, value, meta); });
    } catch (const Error &e) {
        if (!is_outage(e)) {
            drop_copies(key);
            throw;
        }
        set_in_outage(key, value, left);
        return;
    }
    drop_copies(key); // as set() does
}

bool TieredBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    WriteScope scope(fence_, key);
    bool stored;
    try {
        stored = call(lowest(), [&](Backend &b) { return b.add(key, value, ttl_ms); });
    } catch (...) {
        drop_copies(key);
        throw;
    }
    if (stored)
        drop_copies(key); // as set() does
    return stored;
}

void TieredBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                               size_t ntags)
{
    WriteScope scope(fence_, key);
    try {
        call(lowest(), [&](Backend &b) { b.set_tagged(key, value, ttl_ms, tags, ntags); });
    } catch (...) {
        drop_copies(key);
        throw;
    }
    drop_copies(key); // as set() does
}

bool TieredBackend::del(Bytes key)
{
    WriteScope scope(fence_, key);
    bool removed;
    try {
        removed = call(lowest(), [&](Backend &b) { return b.del(key); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        drop_copies(key);
        if (fallback_)
            fallback_->del(key);
        lowest().log.record(key, OutageLog::KeyOp::del);
        return true; // applied when the tier is back
    }
    drop_copies(key);
    return removed;
}

size_t TieredBackend::del_many(const Bytes *keys, size_t n)
{
    BatchWriteScope scope(fence_, keys, n);
    size_t removed;
    try {
        removed = call(lowest(), [&](Backend &b) { return b.del_many(keys, n); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        for (size_t i = 0; i < n; i++) {
            drop_copies(keys[i]);
            if (fallback_)
                fallback_->del(keys[i]);
            lowest().log.record(keys[i], OutageLog::KeyOp::del);
        }
        return n;
    }
    for (size_t i = 0; i < n; i++)
        fence_.bump(keys[i]);
    for (size_t t = 0; t < upper_count(); t++) {
        try {
            call(*slots_[t], [&](Backend &b) { return b.del_many(keys, n); });
        } catch (const Error &) {
            for (size_t i = 0; i < n; i++)
                slots_[t]->log.record(keys[i], OutageLog::KeyOp::del);
        }
    }
    return removed;
}

void TieredBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    BatchWriteScope scope(fence_, keys, n);
    try {
        call(lowest(), [&](Backend &b) { b.set_many(keys, values, n, ttl_ms); });
    } catch (const Error &e) {
        if (!is_outage(e)) {
            for (size_t i = 0; i < n; i++)
                drop_copies(keys[i]);
            throw;
        }
        for (size_t i = 0; i < n; i++)
            set_in_outage(keys[i], values[i], ttl_ms);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fence_.bump(keys[i]);
    for (size_t t = 0; t < upper_count(); t++) {
        try {
            call(*slots_[t], [&](Backend &b) { return b.del_many(keys, n); });
        } catch (const Error &) {
            for (size_t i = 0; i < n; i++)
                slots_[t]->log.record(keys[i], OutageLog::KeyOp::del);
        }
    }
}

int64_t TieredBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
    WriteScope scope(fence_, key);
    try {
        int64_t v = call(lowest(), [&](Backend &b) { return b.incr(key, delta, ttl_ms_if_new); });
        drop_copies(key);
        return v;
    } catch (...) {
        drop_copies(key);
        throw;
    }
}

bool TieredBackend::incr_existing(Bytes key, int64_t delta, int64_t *result)
{
    WriteScope scope(fence_, key);
    try {
        bool found =
            call(lowest(), [&](Backend &b) { return b.incr_existing(key, delta, result); });
        drop_copies(key);
        return found;
    } catch (...) {
        drop_copies(key);
        throw;
    }
}

bool TieredBackend::touch(Bytes key, int64_t ttl_ms)
{
    WriteScope scope(fence_, key);
    bool found = call(lowest(), [&](Backend &b) { return b.touch(key, ttl_ms); });
    drop_copies(key); // a copy's fresh moment came from the old lifetime
    return found;
}

void TieredBackend::clear(Bytes prefix)
{
    fence_.bump_all();
    std::string p(prefix);
    OutageLog::Broad op{OutageLog::Broad::Kind::clear, p, {}};
    auto covers = [&](const std::string &k) { return k.compare(0, p.size(), p) == 0; };
    try {
        call(lowest(), [&](Backend &b) { b.clear(prefix); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        lowest().log.record_broad(op, covers);
    }
    for (size_t t = 0; t < upper_count(); t++) {
        try {
            call(*slots_[t], [&](Backend &b) { b.clear(prefix); });
        } catch (const Error &) {
            slots_[t]->log.record_broad(op, covers);
        }
    }
    if (fallback_)
        fallback_->clear(prefix);
    fence_.bump_all();
}

size_t TieredBackend::delete_pattern(const GlobPattern &pattern)
{
    fence_.bump_all();
    OutageLog::Broad op{OutageLog::Broad::Kind::pattern, pattern.source(), {}};
    auto covers = [&](const std::string &k) { return pattern.match(k); };
    size_t removed = 0;
    try {
        removed = call(lowest(), [&](Backend &b) { return b.delete_pattern(pattern); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        lowest().log.record_broad(op, covers);
    }
    for (size_t t = 0; t < upper_count(); t++) {
        try {
            call(*slots_[t], [&](Backend &b) { return b.delete_pattern(pattern); });
        } catch (const Error &e) {
            if (e.status() == CACHE_ENOTSUP) {
                call(*slots_[t], [&](Backend &b) { b.clear(prefix_); });
                continue;
            }
            slots_[t]->log.record_broad(op, covers);
        }
    }
    fence_.bump_all();
    return removed;
}

size_t TieredBackend::invalidate_tags(const Bytes *tags, size_t n)
{
    fence_.bump_all();
    size_t removed = 0;
    try {
        removed = call(lowest(), [&](Backend &b) { return b.invalidate_tags(tags, n); });
    } catch (const Error &e) {
        if (!is_outage(e))
            throw;
        OutageLog::Broad op{OutageLog::Broad::Kind::tags, "", {}};
        for (size_t i = 0; i < n; i++)
            op.tags.emplace_back(tags[i]);
        lowest().log.record_broad(op, [](const std::string &) { return true; });
    }
    // Copies carry no tags: which of them a tag covered is unknown, so
    // they all go.
    drop_all_copies();
    if (fallback_)
        fallback_->clear(prefix_);
    return removed;
}

// ------------------------------------------------------------ coherence

void TieredBackend::changed(Bytes key)
{
    drop_copies(key);
}

void TieredBackend::changed_all()
{
    if (!trusted()) {
        // Not live: the copies are bypassed already, and kept so that an
        // outage of the lowest tier can still be served from them under
        // the outage rules (stale_if_error). They are flushed when
        // notifications are live again.
        fence_.bump_all();
        return;
    }
    log_event(CACHE_LOG_INFO, [&] {
        return "coherence flush: " + lowest().label +
               " reported that anything may have changed; the tiers above dropped their copies";
    });
    drop_all_copies();
}

void TieredBackend::notifications_live(bool live)
{
    if (!live) {
        live_.store(false, std::memory_order_release);
        fence_.bump_all(); // kills every fill in flight
        return;
    }
    log_event(CACHE_LOG_INFO, [&] {
        return "coherence flush: " + lowest().label +
               " reports changes again; the tiers above dropped their copies (changes made "
               "meanwhile were not reported)";
    });
    drop_all_copies(); // invalidations may have been missed meanwhile
    live_generation_.store(fork_generation(), std::memory_order_release);
    live_.store(true, std::memory_order_release);
}

bool TieredBackend::trusted() const
{
    if (!pushes_.load(std::memory_order_relaxed))
        return true; // copies are bounded by l1_ttl instead
    // In a forked child nothing was heard yet: not live until the backend
    // says so there (backend.h, 4).
    return live_.load(std::memory_order_acquire) &&
           live_generation_.load(std::memory_order_acquire) == fork_generation();
}

// ------------------------------------------------------------ the rest

void TieredBackend::ping()
{
    for (auto &t : slots_)
        call(*t, [&](Backend &b) { b.ping(); });
}

std::string TieredBackend::info()
{
    std::string out = "tiered:";
    for (auto &t : slots_) {
        out += " [" + t->label + ": ";
        try {
            out += t->backend->info();
        } catch (const Error &e) {
            out += std::string("error: ") + e.what();
        }
        out += "]";
    }
    return out;
}

BackendStats TieredBackend::stats(Bytes prefix)
{
    try {
        return lowest().backend->stats(prefix);
    } catch (const Error &) {
        return BackendStats{}; // statistics never fail
    }
}

void TieredBackend::add_stats(Bytes prefix, StatsPart &part)
{
    part.count("promotions", promotions_.load(std::memory_order_relaxed));
    part.count("stale_served", stale_served_.load(std::memory_order_relaxed));
    part.count("fallback_reads", fallback_reads_.load(std::memory_order_relaxed));
    part.text("l1", trusted() ? "live" : "bypassed");
    for (auto &t : slots_) {
        StatsPart tier = part.append("tiers");
        tier.text("tier", t->label);
        try {
            write_backend_part(*t->backend, prefix, tier);
        } catch (const Error &e) {
            tier.text("error", e.what());
        }
        t->breaker.add_stats(tier.object("breaker"));
        t->log.add_stats(tier.object("outage_log"));
    }
    if (fallback_) {
        StatsPart fb = part.object("fallback");
        try {
            write_backend_part(*fallback_, prefix, fb);
        } catch (const Error &e) {
            fb.text("error", e.what());
        }
    }
}

void TieredBackend::lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply)
{
    call(lowest(), [&](Backend &b) { b.lease_get(key, request, reply); });
}

bool TieredBackend::lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill)
{
    WriteScope scope(fence_, key);
    bool stored;
    try {
        stored = call(lowest(), [&](Backend &b) { return b.lease_set(key, token, value, fill); });
    } catch (...) {
        drop_copies(key);
        throw;
    }
    drop_copies(key);
    return stored;
}

void TieredBackend::lease_release(Bytes key, uint64_t token)
{
    call(lowest(), [&](Backend &b) { b.lease_release(key, token); });
}

void TieredBackend::lease_wait(Bytes key, int64_t wait_ms)
{
    lowest().backend->lease_wait(key, wait_ms);
}

} // namespace unicache
