// SqliteBackend: a persistent cache in one SQLite file (WAL mode) that the
// threads and processes of one host share. Each operation leases its own
// connection, so readers run in parallel; writes take SQLite's single write
// lock, waiting up to busy_timeout_ms for it. Expiry times are wall-clock
// Unix milliseconds, because the file outlives processes and reboots.
#pragma once

#include <atomic>
#include <mutex>

#include "core/backend.h"
#include "core/per_process.h"
#include "sqlite_changes.h"
#include "sqlite_options.h"
#include "sqlite_runtime.h"
#include "sqlite_sql.h"

namespace unicache {

// A fresh, non-zero id for one tagged write (sqlite_backend.cpp).
int64_t random_tag_id();

class SqliteBackend final : public Backend {
public:
    explicit SqliteBackend(SqliteOptions opts);
    ~SqliteBackend() override;

    const char *name() const override { return "sqlite"; }
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
    void set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms) override;
    size_t del_many(const Bytes *keys, size_t n) override;
    void keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out) override;
    size_t delete_pattern(const GlobPattern &pattern) override;
    void set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                    size_t ntags) override;
    size_t invalidate_tags(const Bytes *tags, size_t n) override;
    // Leases in "<t>.leases" (sqlite_leases.cpp).
    void lease_get(Bytes key, const LeaseRequest &request, LeaseReply *reply) override;
    bool lease_set(Bytes key, uint64_t token, Bytes value, const LeaseFill &fill) override;
    void lease_release(Bytes key, uint64_t token) override;
    // The change log (sqlite_changes.h). Called once, before the backend
    // is shared between threads.
    bool watch_changes(ChangeListener *listener) override;
    void ping() override;
    std::string info() override;
    BackendStats stats(Bytes prefix) override;

private:
    // Throws CACHE_ETOOBIG for an entry no write could store.
    void check_entry(Bytes key, Bytes value) const;
    // Reads key's value into out when present and not expired at `now`;
    // with eviction on, also remembers the hit for the clock.
    bool read_live(SqliteRuntime &rt, SqliteConnection &c, Bytes key, int64_t now,
                   OwnedBuffer *out);
    // Upsert on c; the caller owns the transaction, if any.
    void write_entry(SqliteConnection &c, Bytes key, Bytes value, int64_t expires_at,
                     int64_t tag_id);
    // Leases whose holders and copies are all over, swept every so often.
    std::atomic<uint32_t> grants_{0};
    // This process's runtime; a forked child builds its own on first use.
    SqliteRuntime &runtime() { return runtime_->get(); }
    std::unique_ptr<SqliteRuntime> make_runtime();

    const SqliteOptions opts_;
    const SqlCatalog sql_;
    int64_t length_limit_ = 0; // SQLITE_LIMIT_LENGTH: largest value SQLite takes
    bool opened_ = false;      // the first runtime checked the file
    std::unique_ptr<PerProcess<SqliteRuntime>> runtime_;
    // Set by watch_changes(); after runtime_, so its thread stops first. A
    // forked child's new runtime starts the child's watch.
    std::unique_ptr<PerProcess<SqliteChangeWatch>> watch_;
    void renew_watch_in_child();
    // info() words about the change log ("" when nothing watches).
    std::string watch_info();
};

} // namespace unicache
