#include "memory_store_registry.h"

#include <map>
#include <mutex>
#include <pthread.h>

#include "core/error.h"

namespace unicache {

namespace {

// Weak references: the handles own the stores, the registry only finds
// them. An entry whose store is gone is replaced on the next open.
struct Registry {
    std::mutex mu;
    std::map<std::string, std::weak_ptr<MemoryBackend>> stores;
};

Registry &registry()
{
    // Never destroyed: a handle closed during static destruction may still
    // look its store up.
    static Registry *r = new Registry();
    static std::once_flag atfork;
    // fork() while another thread holds the lock would leave it held for
    // ever in the child; holding it across fork() makes the child's copy
    // consistent, and the child's handles keep their (copied) stores.
    std::call_once(atfork, [] {
        pthread_atfork([] { registry().mu.lock(); }, [] { registry().mu.unlock(); },
                       [] { registry().mu.unlock(); });
    });
    return *r;
}

std::string describe(const MemoryOptions &o)
{
    return "max_items=" + std::to_string(o.max_items) +
           " max_memory_mb=" + std::to_string(o.max_memory >> 20) + " policy=" + o.policy +
           " shards=" + std::to_string(o.shards) +
           " expiry_interval_ms=" + std::to_string(o.expiry_interval_ms);
}

bool same(const MemoryOptions &a, const MemoryOptions &b)
{
    return a.max_items == b.max_items && a.max_memory == b.max_memory && a.policy == b.policy &&
           a.shards == b.shards && a.expiry_interval_ms == b.expiry_interval_ms;
}

// Every call goes to the shared store; keys already carry this handle's
// prefix, so handles with different prefixes on one store stay apart.
class NamedMemoryHandle final : public Backend {
public:
    NamedMemoryHandle(std::string name, std::shared_ptr<MemoryBackend> store)
        : name_(std::move(name)), s_(std::move(store))
    {
    }

    const char *name() const override { return s_->name(); }
    void set(Bytes key, Bytes value, int64_t ttl_ms) override { s_->set(key, value, ttl_ms); }
    bool add(Bytes key, Bytes value, int64_t ttl_ms) override
    {
        return s_->add(key, value, ttl_ms);
    }
    bool get(Bytes key, OwnedBuffer *out) override { return s_->get(key, out); }
    bool get_into(Bytes key, void *dst, size_t capacity, size_t *size) override
    {
        return s_->get_into(key, dst, capacity, size);
    }
    bool get_entry(Bytes key, OwnedBuffer *out, EntryMeta *meta) override
    {
        return s_->get_entry(key, out, meta);
    }
    void get_entries(const Bytes *keys, size_t n, OwnedBuffer *values, EntryMeta *metas,
                     int *statuses) override
    {
        s_->get_entries(keys, n, values, metas, statuses);
    }
    void set_entry(Bytes key, Bytes value, const EntryMeta &meta) override
    {
        s_->set_entry(key, value, meta);
    }
    bool del(Bytes key) override { return s_->del(key); }
    bool exists(Bytes key) override { return s_->exists(key); }
    int64_t incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new) override
    {
        return s_->incr(key, delta, ttl_ms_if_new);
    }
    bool incr_existing(Bytes key, int64_t delta, int64_t *result) override
    {
        return s_->incr_existing(key, delta, result);
    }
    bool touch(Bytes key, int64_t ttl_ms) override { return s_->touch(key, ttl_ms); }
    bool ttl(Bytes key, int64_t *remaining_ms) override { return s_->ttl(key, remaining_ms); }
    void clear(Bytes prefix) override { s_->clear(prefix); }
    void get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses) override
    {
        s_->get_many(keys, n, values, statuses);
    }
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override
    {
        s_->set_many(keys, values, n, ttl_ms);
    }
    size_t del_many(const Bytes *keys, size_t n) override { return s_->del_many(keys, n); }
    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override
    {
        s_->keys(pattern, limit, out);
    }
    size_t delete_pattern(const GlobPattern &pattern) override
    {
        return s_->delete_pattern(pattern);
    }
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override
    {
        s_->set_tagged(key, value, ttl_ms, tags, ntags);
    }
    size_t invalidate_tags(const Bytes *tags, size_t n) override
    {
        return s_->invalidate_tags(tags, n);
    }
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override
    {
        s_->lease_get(key, request, reply);
    }
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override
    {
        return s_->lease_set(key, token, value, fill);
    }
    void lease_release(Bytes key, uint64_t token) override { s_->lease_release(key, token); }
    void lease_wait(Bytes key, int64_t wait_ms) override { s_->lease_wait(key, wait_ms); }
    bool watch_changes(ChangeListener *listener) override { return s_->watch_changes(listener); }
    void ping() override { s_->ping(); }
    std::string info() override { return s_->info() + " name=" + name_; }
    BackendStats stats(Bytes prefix) override { return s_->stats(prefix); }
    void add_stats(Bytes prefix, StatsPart &part) override { s_->add_stats(prefix, part); }

private:
    std::string name_;
    std::shared_ptr<MemoryBackend> s_;
};

} // namespace

namespace {

// The live store called name, or nullptr. Called with the registry locked,
// so it never throws: a mismatch is only noted in *conflict, and the caller
// throws after unlocking, once it has let go of the store (the reference it
// holds may be the last, and a store's destructor takes locks of its own).
std::shared_ptr<MemoryBackend> find_locked(Registry &r, const std::string &name,
                                           const MemoryOptions &opts, bool *conflict)
{
    for (auto it = r.stores.begin(); it != r.stores.end();)
        it = it->second.expired() ? r.stores.erase(it) : std::next(it);
    auto found = r.stores.find(name);
    std::shared_ptr<MemoryBackend> store = found == r.stores.end() ? nullptr : found->second.lock();
    *conflict = store && !same(store->options(), opts);
    return store;
}

// Throws after letting go of the store found (see find_locked).
[[noreturn]] void refuse(const std::string &name, std::shared_ptr<MemoryBackend> &store,
                         const MemoryOptions &opts)
{
    std::string msg = "memory store '" + name + "' is already open in this process with " +
                      describe(store->options()) + "; this open asks for " + describe(opts) +
                      " (every handle on one name must use the same parameters)";
    store.reset();
    fail(CACHE_EINVAL, msg);
}

} // namespace

std::shared_ptr<MemoryBackend> open_named_memory_store(const std::string &name,
                                                       const MemoryOptions &opts)
{
    Registry &r = registry();
    bool conflict = false;
    std::shared_ptr<MemoryBackend> store;
    {
        std::lock_guard<std::mutex> lock(r.mu);
        store = find_locked(r, name, opts, &conflict);
    }
    if (conflict)
        refuse(name, store, opts);
    if (store)
        return store;
    // Built without the registry lock: a store takes the shard and reaper
    // locks that fork()'s prepare handlers take too, so holding ours here
    // could deadlock against a fork in another thread. Two threads opening
    // one new name may both build one; the first to register it wins.
    auto fresh = std::make_shared<MemoryBackend>(opts);
    {
        std::lock_guard<std::mutex> lock(r.mu);
        store = find_locked(r, name, opts, &conflict);
        if (!store) {
            r.stores[name] = fresh;
            store = fresh;
        }
    }
    if (conflict)
        refuse(name, store, opts);
    return store; // a losing `fresh` is freed here, outside the lock
}

std::unique_ptr<Backend> named_memory_handle(std::string name, std::shared_ptr<MemoryBackend> store)
{
    return std::make_unique<NamedMemoryHandle>(std::move(name), std::move(store));
}

} // namespace unicache
