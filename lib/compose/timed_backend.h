// TimedBackend: a tier's latency histograms. It wraps one tier of a tiered
// cache and times every call the tier gets (through LatencyHistograms:
// striped, sampled, no lock), so that the statistics document shows each
// tier's own latencies beside the cache's ("tiers": [{"latency": ...}]).
// Everything else passes straight through, watch_changes() included.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/latency.h"

namespace unicache {

class TimedBackend final : public Backend {
public:
    TimedBackend(std::unique_ptr<Backend> inner, unsigned sample_period)
        : inner_(std::move(inner)), histograms_(sample_period)
    {
    }

    const char *name() const override { return inner_->name(); }

    void set(Bytes key, Bytes value, int64_t ttl_ms) override
    {
        timed(Op::set, [&] { inner_->set(key, value, ttl_ms); });
    }
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override
    {
        return timed(Op::add, [&] { return inner_->add(key, value, ttl_ms); });
    }
    bool get(Bytes key, OwnedBuffer *out) override
    {
        return timed(Op::get, [&] { return inner_->get(key, out); });
    }
    bool get_into(Bytes key, void *dst, size_t capacity, size_t *size) override
    {
        return timed(Op::get, [&] { return inner_->get_into(key, dst, capacity, size); });
    }
    bool del(Bytes key) override
    {
        return timed(Op::del, [&] { return inner_->del(key); });
    }
    bool exists(Bytes key) override
    {
        return timed(Op::exists, [&] { return inner_->exists(key); });
    }
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override
    {
        return timed(Op::incr, [&] { return inner_->incr(key, delta, ttl_ms_if_new); });
    }
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override
    {
        return timed(Op::incr, [&] { return inner_->incr_existing(key, delta, result); });
    }
    bool touch(Bytes key, int64_t ttl_ms) override
    {
        return timed(Op::touch, [&] { return inner_->touch(key, ttl_ms); });
    }
    bool ttl(Bytes key, int64_t *remaining_ms) override
    {
        return timed(Op::ttl, [&] { return inner_->ttl(key, remaining_ms); });
    }
    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override
    {
        return timed(Op::get, [&] { return inner_->get_entry(key, out, meta); });
    }
    void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                     int *statuses) override
    {
        timed(Op::get_many, [&] { inner_->get_entries(keys, n, values, metas, statuses); });
    }
    void set_entry(Bytes key, Bytes value, const EntryMeta &meta) override
    {
        timed(Op::set, [&] { inner_->set_entry(key, value, meta); });
    }
    void clear(Bytes prefix) override
    {
        timed(Op::clear, [&] { inner_->clear(prefix); });
    }
    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override
    {
        timed(Op::get_many, [&] { inner_->get_many(keys, n, values, statuses); });
    }
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override
    {
        timed(Op::set_many, [&] { inner_->set_many(keys, values, n, ttl_ms); });
    }
    size_t del_many(const Bytes *keys, size_t n) override
    {
        return timed(Op::del_many, [&] { return inner_->del_many(keys, n); });
    }
    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override
    {
        timed(Op::keys, [&] { inner_->keys(pattern, limit, out); });
    }
    size_t delete_pattern(const GlobPattern &pattern) override
    {
        return timed(Op::delete_pattern, [&] { return inner_->delete_pattern(pattern); });
    }
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override
    {
        timed(Op::set_tagged, [&] { inner_->set_tagged(key, value, ttl_ms, tags, ntags); });
    }
    size_t invalidate_tags(const Bytes *tags, size_t n) override
    {
        return timed(Op::invalidate_tags, [&] { return inner_->invalidate_tags(tags, n); });
    }
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override
    {
        timed(Op::lease_get, [&] { inner_->lease_get(key, request, reply); });
    }
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override
    {
        return timed(Op::lease_set, [&] { return inner_->lease_set(key, token, value, fill); });
    }
    void lease_release(Bytes key, uint64_t token) override { inner_->lease_release(key, token); }
    void lease_wait(Bytes key, int64_t wait_ms) override { inner_->lease_wait(key, wait_ms); }
    bool watch_changes(ChangeListener *listener) override
    {
        return inner_->watch_changes(listener);
    }
    void ping() override
    {
        timed(Op::ping, [&] { inner_->ping(); });
    }
    std::string info() override { return inner_->info(); }
    BackendStats stats(Bytes prefix) override { return inner_->stats(prefix); }
    void add_stats(Bytes prefix, StatsPart &part) override
    {
        inner_->add_stats(prefix, part);
        histograms_.add_stats(part);
    }

    const LatencyHistograms &histograms() const { return histograms_; }

private:
    template <typename F> auto timed(Op op, F &&f) -> decltype(f())
    {
        struct End {
            LatencyHistograms &h;
            Op op;
            LatencyHistograms::Call call;
            ~End() { h.end(op, call); }
        } end{histograms_, op, histograms_.begin()};
        return f();
    }

    std::unique_ptr<Backend> inner_;
    LatencyHistograms histograms_;
};

} // namespace unicache
