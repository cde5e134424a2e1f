// RedisClusterBackend: redis-cluster://host1:port1,host2:port2/?... — a cache
// sharded over the masters of a Redis Cluster.
//
// One RedisBackend per node (redis_backend.h: its pool, deadline, scripts,
// tracking), told to keep every command within one hash slot. The slot map
// comes from CLUSTER SHARDS (CLUSTER SLOTS before Redis 7), asked of the
// known masters, then the other known nodes, then the seeds. A single-key
// call goes to the master of its key's slot (redis_slot.h: CRC16, {hash
// tags}), or for reads to one of its replicas (read_from=replica|nearest),
// and follows what the cluster answers, all within the call's one deadline
// (timeout_ms, shared with the node's own I/O through RedisCallScope):
//  - MOVED: the slot's master is replaced in the map at once; after a few
//    MOVEDs the whole map is read again (at most every 100 ms);
//  - ASK: the command is sent once to the named node after ASKING, and the
//    map is left alone (the slot is being migrated);
//  - TRYAGAIN, CLUSTERDOWN, a READONLY replica, a node that cannot be
//    reached: the map is read again (throttled) and the call backs off
//    (retry_delay_ms, doubling) and tries again;
// at most kMaxAttempts times and never past the deadline; then the error
// names the slot, the node and every redirection seen.
//
// Batches are split by node and, on each node, sent pipelined with one
// command per run of keys in one slot (MGET/MSET/DEL, or GET/SET for a key
// alone), then the answers are put back in the caller's order. A batch over
// several slots is therefore NOT atomic: another client may see part of a
// set_many. A node that redirects part of a batch has that part redone key
// by key through the single-key path.
//
// keys / delete_pattern / clear run SCAN on every master.
//
// Tags. A Lua script only touches keys of one slot, so an entry's tag
// indexes live in the entry's slot: the index of tag T for entries of slot
// S is prefix + "\xffunicache-tag\xff" + "{" + H(S) + "}" + T, where H(S) is
// a short string whose hash slot is S; the set_tagged script stores the
// entry and those indexes atomically, as on one server. The slots that hold
// indexes of T are listed in a set at prefix + "\xffunicache-tag\xff" + T
// (its own slot), added to before the entry is written and living as long
// as T's longest-lived entry. invalidate_tags reads that set and runs the
// invalidation script in each slot it names. Two calls, two slots: a
// set_tagged that races an invalidate_tags of the same tag may survive it
// (as if it ran after).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/config.h"
#include "redis_backend.h"
#include "redis_options.h"
#include "redis_slot.h"

namespace unicache {

class RedisClusterBackend final : public Backend {
public:
    enum class ReadFrom { master, replica, nearest };

    // Reads the slot map before it returns unless base.lazy_connect, and
    // PINGs every master: a wrong password on any of them fails the open.
    RedisClusterBackend(RedisOptions base, std::vector<HostPort> seeds, ReadFrom read_from);
    ~RedisClusterBackend() override;

    const char *name() const override { return "redis-cluster"; }
    void set(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override;
    bool get(Bytes key, OwnedBuffer *out) override;
    bool del(Bytes key) override;
    bool exists(Bytes key) override;
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override;
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override;
    bool touch(Bytes key, int64_t ttl_ms) override;
    bool ttl(Bytes key, int64_t *remaining_ms) override;
    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override;
    void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                     int *statuses) override;
    void clear(Bytes prefix) override;

    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override;
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override;
    size_t del_many(const Bytes *keys, size_t n) override;

    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override;
    size_t delete_pattern(const GlobPattern &pattern) override;

    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override;

    // Leases: routed to the key's master, where the node's scripts keep the
    // token and stale-copy keys in the key's slot (RedisBackend::aux_key).
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override;
    void lease_release(Bytes key, uint64_t token) override;

    bool watch_changes(ChangeListener *listener) override;

    void ping() override;
    std::string info() override;
    BackendStats stats(Bytes prefix) override;

    static constexpr int kMaxAttempts = 16;

private:
    struct Replicas {
        std::vector<RedisBackend *> nodes;
        RedisBackend *nearest = nullptr; // lowest PING time at the last refresh, master included
    };
    class FanIn;

    int64_t deadline() const;
    // The node at host:port, made on first use; never destroyed before the
    // backend, so pointers to it stay valid.
    RedisBackend *node(const std::string &host, int port);
    RedisBackend *node_at(const std::string &target); // "host:port" from MOVED/ASK
    // Reads the map from the first node that answers. Throws (the reasons
    // of every node asked) when none does.
    void refresh(int64_t deadline_ns);
    // refresh(), at most every 100 ms and by one thread at a time; errors
    // are left to the calls that follow.
    void refresh_soon(int64_t deadline_ns);
    bool read_map(RedisBackend &from, const std::string &host, int port, std::string *why);
    // The node for a call on slot: its master, or for reads per read_from.
    RedisBackend *pick(int slot, bool write, int64_t deadline_ns);
    std::vector<RedisBackend *> masters();
    void watch_new_masters();

    template <typename Op>
    auto route(int slot, bool write, bool replay_safe, int64_t deadline_ns, Op &&op)
        -> decltype(op(std::declval<RedisBackend &>()));
    // Batches: batch(node, idx, m) for each node's share (idx: positions in
    // the caller's arrays, sorted by slot); when a node redirects or fails
    // its share, one(i) for each of its keys instead.
    template <typename Batch, typename One>
    void by_node(const Bytes *keys, size_t n, bool write, bool replay_safe, int64_t deadline_ns,
                 Batch &&batch, One &&one);

    RedisOptions base_;
    std::vector<HostPort> seeds_;
    ReadFrom read_from_;
    size_t tag_scope_size_;

    std::mutex nodes_mu_; // guards nodes_, replica_sets_, order_
    std::map<std::string, std::unique_ptr<RedisBackend>> nodes_;
    std::vector<RedisBackend *> order_; // nodes in the order they were made
    std::vector<std::unique_ptr<Replicas>> replica_sets_;
    std::unique_ptr<std::atomic<RedisBackend *>[]> master_;
    std::unique_ptr<std::atomic<const Replicas *>[]> replicas_;

    std::mutex refresh_mu_;
    std::atomic<int64_t> last_refresh_ns_{0};
    std::atomic<uint32_t> moved_since_refresh_{0};
    std::atomic<uint32_t> round_robin_{0};
    std::atomic<uint64_t> refreshes_{0}, moved_{0}, asked_{0}, waits_{0};

    std::unique_ptr<FanIn> fan_in_;
    std::mutex watch_mu_;
};

} // namespace unicache
