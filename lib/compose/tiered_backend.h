// TieredBackend: a backend made of backends, fastest first; the lowest is
// the authority. Reads walk down and copy a hit into the tiers above with
// its remaining lifetime (capped by l1_ttl); writes go to the lowest tier
// first and then update or drop the copies above, so that no tier above is
// left holding a value the lowest does not have. Each tier has a circuit
// breaker; while the lowest is down, reads are served from the copies above
// (stale ones too, up to stale_if_error), then from the fallback, else fail
// at once, and the deletes the lowest missed are replayed when it is back.
//
// libgit2's object database is the model: the core sees one Backend.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "compose/circuit_breaker.h"
#include "compose/key_fence.h"
#include "compose/outage_log.h"
#include "core/backend.h"
#include "core/error.h"

namespace unicache {

struct TierSettings {
    int64_t l1_ttl_ms = 0;         // cap on a copy's fresh life; 0: the entry's own
    int64_t stale_if_error_ms = 0; // how long past fresh a copy may serve in an outage
    int breaker_failures = 3;
    int64_t breaker_reset_ms = 2000;
    bool write_back = false; // outage_writes=write_back (default: drop)
    size_t outage_log_max = 10000;
};

class TieredBackend final : public Backend, private ChangeListener {
public:
    struct Tier {
        std::unique_ptr<Backend> backend;
        std::string label; // "tier 2 (redis://host:6379/0)", never a password
    };
    // tiers: at least one, fastest first. fallback may be null. Throws
    // CACHE_EINVAL when l1_ttl is needed (the lowest tier cannot report
    // other clients' writes) and not given.
    TieredBackend(std::vector<Tier> tiers, std::unique_ptr<Backend> fallback, TierSettings s,
                  std::string prefix);
    ~TieredBackend() override;

    const char *name() const override { return "tiered"; }

    void set(Bytes key, Bytes value, int64_t ttl_ms) override;
    void set_entry(Bytes key, Bytes value, const EntryMeta &meta) override;
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool get(Bytes key, OwnedBuffer *out) override;
    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override;
    bool del(Bytes key) override;
    bool exists(Bytes key) override;
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override;
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override;
    bool touch(Bytes key, int64_t ttl_ms) override;
    bool ttl(Bytes key, int64_t *remaining_ms) override;
    void clear(Bytes prefix) override;

    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override;
    void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                     int *statuses) override;
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override;
    size_t del_many(const Bytes *keys, size_t n) override;

    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override;
    size_t delete_pattern(const GlobPattern &pattern) override;
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override;

    // Leases live in the lowest tier, the authority every handle shares;
    // a lease-checked set drops the copies above as a set does.
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override;
    void lease_release(Bytes key, uint64_t token) override;
    void lease_wait(Bytes key, int64_t wait_ms) override;

    void ping() override;
    std::string info() override;
    BackendStats stats(Bytes prefix) override;
    void add_stats(Bytes prefix, StatsPart &part) override;

private:
    struct Slot {
        Slot(Tier t, const TierSettings &s)
            : backend(std::move(t.backend)), label(std::move(t.label)),
              breaker(s.breaker_failures, s.breaker_reset_ms, label), log(s.outage_log_max)
        {
        }
        std::unique_ptr<Backend> backend;
        std::string label;
        CircuitBreaker breaker;
        OutageLog log;
        std::mutex replaying; // one replay at a time; callers wait for it
    };

    // ChangeListener, for the lowest tier's reports of other clients' writes.
    void changed(Bytes key) override;
    void changed_all() override;
    void notifications_live(bool live) override;

    // Runs f(backend) through the tier's breaker; a probe first replays what
    // the tier missed. Throws CACHE_EUNAVAILABLE at once while it is open.
    template <typename F> auto call(Slot &t, F &&f) -> decltype(f(*t.backend));
    [[noreturn]] void unavailable(const Slot &t) const;
    void recover(Slot &t);
    void recover_lowest(OutageLog::Pending &p);

    Slot &lowest() { return *slots_.back(); }
    size_t upper_count() const { return slots_.size() - 1; }

    // Copies in the tiers above `below` (exclusive).
    void put_copies(size_t below, Bytes key, Bytes value, const EntryMeta &meta);
    void put_copy(Slot &t, Bytes key, Bytes value, const EntryMeta &meta);
    void drop_copies(Bytes key);
    void drop_all_copies();
    // A copy from tier t, its envelope stripped: true when there is one.
    // meta->expires_at_ms is when the copy stops being fresh (0: never).
    bool read_copy(Slot &t, Bytes key, OwnedBuffer *out, EntryMeta *meta);
    static bool fresh(int64_t fresh_until);
    // While the lowest tier is down: a copy (fresh, or stale within
    // stale_if_error), else the fallback; rethrows `outage` when neither has it.
    bool read_in_outage(Bytes key, OwnedBuffer *out, EntryMeta *meta, const Error &outage);
    // A set while the lowest tier is down: kept above, logged, and in the fallback.
    void set_in_outage(Bytes key, Bytes value, int64_t ttl_ms);
    void promote(Bytes key, Bytes value, const EntryMeta &meta, const KeyFence::Mark &m,
                 size_t below);
    EntryMeta meta_for(int64_t ttl_ms) const;

    std::vector<std::unique_ptr<Slot>> slots_;
    std::unique_ptr<Backend> fallback_;
    TierSettings settings_;
    std::string prefix_;
    KeyFence fence_;
    std::atomic<bool> pushes_{false};          // the lowest tier reports other clients' writes
    std::atomic<bool> live_{false};            // its reports are arriving (the backend says)
    std::atomic<uint64_t> live_generation_{0}; // fork_generation() when they became live
    bool trusted() const;                      // copies may be read and filled
    std::atomic<int64_t> promotions_{0};
    std::atomic<int64_t> stale_served_{0};
    std::atomic<int64_t> fallback_reads_{0};
};

} // namespace unicache
