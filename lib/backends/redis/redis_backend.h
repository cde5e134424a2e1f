// RedisBackend: a cache in one Redis database, shared by every process that
// opens it with the same prefix.
//
// Entries are plain Redis strings under prefix + key (readable by any Redis
// client), with native expiry (SET ... PX, PEXPIRE, PTTL). Counters use
// INCRBY. keys/delete_pattern/clear walk the keyspace with SCAN ... MATCH in
// batches and delete what matches; KEYS, FLUSHDB and FLUSHALL are never sent.
//
// Tags: each tag is a Redis hash at prefix + kTagMark + tag whose fields are
// the entry keys written with it and whose values are the SHA-1 of the value
// written (computed by the server in a Lua script that also stores the
// entry, so both happen atomically). Invalidation (another script) deletes a
// member only while its current value still has that fingerprint, so an
// entry overwritten by a plain set is left alone. Stale fields (entries that
// expired, were deleted or overwritten) are dropped when the tag is
// invalidated, and the hash's own expiry is pushed out to its longest-lived
// entry, so a tag whose entries have all expired disappears with them. A
// field is overwritten when its key is tagged again, so a tag never holds
// more fields than distinct keys written with it.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "core/backend.h"
#include "core/clock.h"
#include "core/per_process.h"
#include "net/link_health.h"
#include "redis_options.h"
#include "redis_pool.h"
#include "redis_tracking.h"

namespace unicache {

// What a backend made of RedisBackends (the cluster, one per node) says
// about the call it makes into one of them, in this thread: the deadline of
// the caller's whole call (its redirections included), and whether the
// commands go after an ASKING. Set for one call with RedisCallScope::Set.
struct RedisCallScope {
    int64_t deadline_ns = 0; // 0: timeout_ms from the start of the call
    bool asking = false;

    static const RedisCallScope *current() { return current_; }
    class Set {
    public:
        explicit Set(const RedisCallScope &scope) : saved_(current_) { current_ = &scope; }
        ~Set() { current_ = saved_; }
        Set(const Set &) = delete;
        Set &operator=(const Set &) = delete;

    private:
        const RedisCallScope *saved_;
    };

private:
    static thread_local const RedisCallScope *current_;
};

class RedisBackend final : public Backend {
public:
    // locator: where the server is when it can move (Sentinel), or nullptr
    // for the one opts names.
    explicit RedisBackend(RedisOptions opts, std::unique_ptr<RedisLocator> locator = nullptr);

    const char *name() const override { return "redis"; }
    void set(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool get(Bytes key, OwnedBuffer *out) override;
    bool del(Bytes key) override;
    bool exists(Bytes key) override;
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override;
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override;
    bool touch(Bytes key, int64_t ttl_ms) override;
    bool ttl(Bytes key, int64_t *remaining_ms) override;
    void clear(Bytes prefix) override;

    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override;
    // GET and PTTL pipelined in one write: the value and its lifetime in one
    // round trip (PTTL, not Redis 7's PEXPIRETIME: any server, and a
    // remaining time needs no clock shared with the server).
    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override;
    void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                     int *statuses) override;
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override;
    size_t del_many(const Bytes *keys, size_t n) override;

    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override;
    size_t delete_pattern(const GlobPattern &pattern) override;

    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override;

    // Leases (redis_leases.cpp): per key, a token key with its own expiry
    // and a hash of the last fill's stale copy and compute time, both
    // named key + kTagMark + a suffix (never listed, matched or writable);
    // each call is one Lua script, so the check and the write are atomic.
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override;
    void lease_release(Bytes key, uint64_t token) override;

    // Redis 6+ client tracking (redis_tracking.h); false before Redis 6.
    // Called once, before the backend is shared between threads.
    bool watch_changes(ChangeListener *listener) override;

    void ping() override;
    std::string info() override;
    BackendStats stats(Bytes prefix) override;

    const RedisOptions &options() const { return opts_; }

    // For the cluster backend, which holds one RedisBackend per node.
    // One command (replay-safe) and its reply; throws for an error reply.
    RedisReply call(std::initializer_list<Bytes> args, const char *what);
    // A tag's index key in one slot ("{slot tag}" after the mark, see
    // redis_cluster_backend.h), and the key of the set that lists the slots
    // holding indexes of that tag (the single-server layout's index key).
    std::string slot_tag_key(Bytes full_tag, int slot) const;
    std::string tag_registry_key(Bytes full_tag) const { return tag_key(full_tag); }
    // Adds slot to a tag's registry, whose lifetime is pushed out to ttl_ms
    // (0: none) like an index's.
    void register_tag_slot(Bytes registry_key, int slot, int64_t ttl_ms);
    // The invalidation script on index keys of one slot; returns the
    // entries removed.
    size_t invalidate_index_keys(const std::vector<std::string> &index_keys);

    // Inserted between the prefix and a tag name to form the tag's hash key.
    // Keys containing it are never listed or deleted by pattern.
    static const std::string kTagMark;
    static bool is_tag_index(const char *data, size_t len);

private:
    struct Script {
        Script(const char *n, const char *src) : name(n), source(src) {}
        const char *name;
        const char *source;
        std::mutex mu;
        std::string sha; // learned with SCRIPT LOAD on first use
    };

    // Runs op on a pooled connection, retrying (with exponential backoff)
    // failures that cannot have had an effect, or any lost connection when
    // replay_safe. op is a lambda, never std::function.
    template <typename Op>
    auto run(bool replay_safe, Op &&op) -> decltype(op(std::declval<RedisConnection &>()));
    // How many of keys[from, end), at most `most`, one command may carry:
    // all of them, or in a cluster (per_slot_commands) the run that shares
    // keys[from]'s slot.
    size_t run_length(const Bytes *keys, size_t from, size_t end, size_t most) const;
    // CACHE_ETOOBIG for values Redis would refuse (over 512 MB).
    void check_value(Bytes value) const;
    // create: a missing key starts at 0 (else it stays absent and the call
    // returns false). Returns true with *out set when it stored a value.
    // Runs kIncrExistingSource once. not_an_integer: Redis refused the
    // stored value, which may still be a counter under the contract ("007").
    enum class Counted { absent, stored, not_an_integer };
    Counted incr_existing_once(RedisConnection &c, Bytes key, int64_t delta, int64_t *out);
    bool incr_strict(RedisConnection &c, Bytes key, int64_t delta, int64_t ttl_ms_if_new,
                     bool create, int64_t *out);
    // CACHE_EINVAL for a full key holding kTagMark: those name tag indexes.
    static void check_key(Bytes key);
    std::string tag_key(Bytes full_tag) const;
    const std::string &script_sha(RedisConnection &c, Script &s);
    // EVALSHA (EVAL if the server lost its script cache); returns the reply.
    int64_t eval(RedisConnection &c, Script &s, const Bytes *keys, size_t nkeys, const Bytes *args,
                 size_t nargs);
    // The same, handing back the script's reply whatever its type (an error
    // reply included) for scripts that answer more than an integer.
    RedisReply eval_reply(RedisConnection &c, Script &s, const Bytes *keys, size_t nkeys,
                          const Bytes *args, size_t nargs);
    size_t scan_delete(RedisConnection &c, const GlobPattern &glob, bool skip_tags);

    static const char kTagSetSource[];
    static const char kTagRegisterSource[];
    static const char kTagInvalidateSource[];
    static const char kIncrExistingSource[];
    static const char kLeaseGetSource[];
    static const char kLeaseSetSource[];
    static const char kLeaseReleaseSource[];
    // key's lease token and stale-copy keys.
    std::string lease_key(Bytes key) const { return aux_key(key, "lease"); }
    std::string meta_key(Bytes key) const { return aux_key(key, "meta"); }
    // key + kTagMark + what; in a cluster with a hash tag that keeps it in
    // key's slot, so that one script or DEL may touch both.
    std::string aux_key(Bytes key, const char *what) const;

    // The child's first call renews the pool, and the tracking with it.
    void renew_tracking_in_child();
    // info() lines about the tracking ("" when nothing watches).
    std::string tracking_info();

    RedisOptions opts_;
    std::unique_ptr<RedisLocator> locator_;
    LinkHealth health_{opts_.where}; // after opts_
    // Set by watch_changes(); declared before pool_, whose renewal in a
    // forked child starts the child's own tracking.
    std::unique_ptr<PerProcess<RedisTracking>> tracking_;
    size_t tag_scope_size_;      // tag_scope(prefix).size(): what tag_key() strips
    PerProcess<RedisPool> pool_; // a forked child gets connections of its own
    Script tag_set_;
    Script tag_invalidate_;
    Script tag_register_;
    Script incr_existing_;
    Script lease_get_{"lease_get", kLeaseGetSource};
    Script lease_set_{"lease_set", kLeaseSetSource};
    Script lease_release_{"lease_release", kLeaseReleaseSource};
};

template <typename Op>
auto RedisBackend::run(bool replay_safe, Op &&op) -> decltype(op(std::declval<RedisConnection &>()))
{
    // One deadline for the whole call, retries included: timeout_ms bounds
    // what the caller waits, however the server answers (or trickles).
    // A cluster above sets the deadline of its own call (RedisCallScope).
    const RedisCallScope *scope = RedisCallScope::current();
    const int64_t deadline = scope && scope->deadline_ns
                                 ? scope->deadline_ns
                                 : monotonic_ns() + opts_.timeout_ms * 1000000;
    for (int attempt = 0;; attempt++) {
        try {
            RedisPool::Lease conn = pool_.get().acquire(!replay_safe, deadline);
            conn->set_asking(scope && scope->asking);
            if constexpr (std::is_void_v<decltype(op(*conn))>) {
                op(*conn);
                health_.answered();
                return;
            } else {
                auto result = op(*conn);
                health_.answered();
                return result;
            }
        } catch (const RedisReplyError &e) {
            // Sentinel: the server we reached is a replica now (a failover
            // we have not heard of); the write was refused, so it is safe to
            // send again to the master the sentinels name.
            int64_t delay_ns = (opts_.retry_delay_ms << std::min(attempt, 20)) * 1000000;
            if (e.kind() != RedisReplyError::readonly || !locator_ ||
                attempt >= opts_.max_retries || monotonic_ns() + delay_ns >= deadline)
                throw;
            pool_.get().relocate();
            health_.retrying(delay_ns / 1000000, attempt + 1, opts_.max_retries);
            std::this_thread::sleep_for(std::chrono::nanoseconds(delay_ns));
        } catch (const RedisIoError &e) {
            pool_.get().note_failure();
            health_.failed(e.what());
            bool retry = e.status() == CACHE_EUNAVAILABLE && (replay_safe || !e.maybe_executed());
            int64_t delay_ns = (opts_.retry_delay_ms << std::min(attempt, 20)) * 1000000;
            if (!retry || attempt >= opts_.max_retries || monotonic_ns() + delay_ns >= deadline) {
                if (attempt == 0)
                    throw;
                throw Error(e.status(), std::string(e.what()) + " (" + std::to_string(attempt + 1) +
                                            " attempts)");
            }
            health_.retrying(delay_ns / 1000000, attempt + 1, opts_.max_retries);
            std::this_thread::sleep_for(std::chrono::nanoseconds(delay_ns));
        }
    }
}

} // namespace unicache
