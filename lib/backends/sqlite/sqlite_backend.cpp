#include "sqlite_backend.h"

#include <algorithm>
#include <climits>

#include "backends/factories.h"
#include "core/clock.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "core/expiry.h"
#include "sqlite_store.h"

namespace unicache {

namespace {

// The keys starting with a prefix, as a range on the key index:
// start <= key < end, or start <= key when no end exists (an empty prefix,
// or one made only of 0xff bytes).
struct KeyRange {
    explicit KeyRange(Bytes prefix) : start(prefix), end(prefix)
    {
        while (!end.empty() && (unsigned char)end.back() == 0xff)
            end.pop_back();
        bounded = !end.empty();
        if (bounded)
            end.back() = char((unsigned char)end.back() + 1);
    }
    Sql pick(Sql with_end, Sql without_end) const { return bounded ? with_end : without_end; }
    void bind(Query &q) const
    {
        q.bind(kKey, Bytes(start));
        if (bounded)
            q.bind(kValue, Bytes(end));
    }
    std::string start, end;
    bool bounded;
};

int64_t expiry_for(int64_t ttl_ms)
{
    return ttl_ms > 0 ? deadline_after(wall_ms(), ttl_ms) : 0;
}

bool is_live(int64_t expires_at, int64_t now)
{
    return expires_at == 0 || expires_at > now;
}

// What a row costs, roughly: the key twice (table and index), the value
// and SQLite's per-row overhead. Used for stats and for size checks.
size_t row_charge(Bytes key, Bytes value)
{
    return 2 * key.size() + value.size() + 24;
}

} // namespace

int64_t random_tag_id()
{
    int64_t id = 0;
    sqlite3_randomness(sizeof id, &id);
    id &= INT64_MAX;
    return id ? id : 1;
}

SqliteBackend::SqliteBackend(SqliteOptions opts) : opts_(std::move(opts)), sql_(opts_.table)
{
    if (!sqlite3_threadsafe())
        fail(CACHE_ENOTSUP, "the SQLite library was built without thread support "
                            "(SQLITE_THREADSAFE=0); the sqlite backend needs it");
    if (!opts_.in_memory())
        check_store_path(opts_.path);
    runtime_ = std::make_unique<PerProcess<SqliteRuntime>>([this] { return make_runtime(); });
}

SqliteBackend::~SqliteBackend() = default;

std::unique_ptr<SqliteRuntime> SqliteBackend::make_runtime()
{
    // A :memory: database lives in the parent's connection; the child's
    // copy of that memory is not reachable through a new connection.
    if (opts_.in_memory() && opened_)
        fail(CACHE_ENOTSUP, "a sqlite://:memory: cache cannot be used after fork(); "
                            "open it in the child, or use a file");
    // Until the runtime holds them, no fork handler could close connections
    // opened here: fork() waits.
    SqliteRuntime::watch_forks();
    std::lock_guard<std::mutex> opening(SqliteRuntime::open_mutex());
    std::unique_ptr<SqliteConnection> first;
    if (!opened_) { // cache_open: check (or set up) the file once
        first = std::make_unique<SqliteConnection>(opts_, sql_);
        open_store(*first);
        length_limit_ = sqlite3_limit(first->db(), SQLITE_LIMIT_LENGTH, -1);
    }
    auto rt = std::make_unique<SqliteRuntime>(opts_, sql_);
    if (first)
        rt->pool.adopt(std::move(first));
    rt->start_background();
    opened_ = true;
    renew_watch_in_child();
    return rt;
}

void SqliteBackend::check_entry(Bytes key, Bytes value) const
{
    // Unsigned, and without adding the two sizes: a value_len of SIZE_MAX
    // must be refused here, before anything reads the caller's buffer.
    uint64_t max_size = uint64_t(opts_.max_size_bytes);
    if (opts_.max_size_bytes && (key.size() > max_size || value.size() > max_size - key.size()))
        fail(CACHE_ETOOBIG, "entry of " + std::to_string(key.size()) + " + " +
                                std::to_string(value.size()) +
                                " bytes is larger than the whole cache (max_size_mb=" +
                                std::to_string(opts_.max_size_bytes >> 20) + ")");
    if (value.size() > uint64_t(length_limit_))
        fail(CACHE_ETOOBIG, "value of " + std::to_string(value.size()) +
                                " bytes is larger than SQLite's limit of " +
                                std::to_string(length_limit_) + " bytes (SQLITE_MAX_LENGTH)");
}

void SqliteBackend::write_entry(SqliteConnection &c, Bytes key, Bytes value, int64_t expires_at,
                                int64_t tag_id)
{
    Query(c, Sql::set)
        .bind(kKey, key)
        .bind(kValue, value)
        .bind(kExpires, expires_at)
        .bind(kTagId, tag_id)
        .run();
}

void SqliteBackend::set(Bytes key, Bytes value, int64_t ttl_ms)
{
    check_entry(key, value);
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    write_entry(*c, key, value, expiry_for(ttl_ms), 0);
    rt.evictor.after_write(*c, row_charge(key, value));
}

bool SqliteBackend::add(Bytes key, Bytes value, int64_t ttl_ms)
{
    check_entry(key, value);
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    int64_t now = wall_ms();
    bool stored = Query(*c, Sql::add)
                      .bind(kKey, key)
                      .bind(kNow, now)
                      .bind(kValue, value)
                      .bind(kExpires, ttl_ms > 0 ? deadline_after(now, ttl_ms) : 0)
                      .run() > 0;
    if (stored)
        rt.evictor.after_write(*c, row_charge(key, value));
    return stored;
}

bool SqliteBackend::read_live(SqliteRuntime &rt, SqliteConnection &c, Bytes key, int64_t now,
                              OwnedBuffer *out)
{
    bool track = rt.evictor.bounded();
    Query q(c, track ? Sql::get_ref : Sql::get);
    if (!q.bind(kKey, key).step() || !is_live(q.column_int(1), now))
        return false; // an expired row is purged later, never returned
    out->assign(q.column_blob(0));
    if (track && q.column_int(2) == 0)
        rt.evictor.note_reference(q.column_int(3));
    return true;
}

bool SqliteBackend::get(Bytes key, OwnedBuffer *out)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    rt.anchor.before_read();
    return read_live(rt, *c, key, wall_ms(), out);
}

bool SqliteBackend::del(Bytes key)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    // A delete ends the key's lease even when the key is absent (a holder
    // computing after a miss must not store what the delete outdated).
    Transaction tx(*c, Transaction::write);
    Query(*c, Sql::lease_delete).bind(kKey, key).run();
    bool removed = Query(*c, Sql::del).bind(kKey, key).bind(kNow, wall_ms()).run() > 0;
    tx.commit();
    return removed;
}

bool SqliteBackend::exists(Bytes key)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    rt.anchor.before_read();
    Query q(*c, Sql::exists);
    return q.bind(kKey, key).bind(kNow, wall_ms()).step();
}

int64_t SqliteBackend::incr(Bytes key, int64_t delta, int64_t ttl_ms_if_new)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    // The write lock first: read-modify-write is then atomic across every
    // connection and process, and never needs a lock upgrade.
    Transaction tx(*c, Transaction::write);
    int64_t now = wall_ms();
    int64_t result = delta;
    bool found;
    {
        Query q(*c, Sql::get);
        found = q.bind(kKey, key).step() && is_live(q.column_int(1), now);
        if (found)
            result = add_counter(parse_counter(q.column_blob(0)), delta);
    }
    char text[24];
    Bytes value(text, format_counter(result, text));
    if (found)
        Query(*c, Sql::incr_update).bind(kKey, key).bind(kValue, value).run();
    else // absent or expired: a new entry, with its own TTL and no tags
        write_entry(*c, key, value, ttl_ms_if_new > 0 ? deadline_after(now, ttl_ms_if_new) : 0, 0);
    tx.commit();
    rt.evictor.after_write(*c, row_charge(key, value));
    return result;
}

bool SqliteBackend::incr_existing(Bytes key, int64_t delta, int64_t *result)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    // One write transaction, as incr: the read and the update see the same
    // row in every connection and process.
    Transaction tx(*c, Transaction::write);
    int64_t next;
    {
        Query q(*c, Sql::get);
        if (!q.bind(kKey, key).step() || !is_live(q.column_int(1), wall_ms()))
            return false; // the transaction rolls back: nothing was written
        next = add_counter(parse_counter(q.column_blob(0)), delta);
    }
    char text[24];
    Bytes value(text, format_counter(next, text));
    Query(*c, Sql::incr_update).bind(kKey, key).bind(kValue, value).run();
    tx.commit();
    rt.evictor.after_write(*c, row_charge(key, value));
    *result = next;
    return true;
}

bool SqliteBackend::touch(Bytes key, int64_t ttl_ms)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    int64_t now = wall_ms();
    return Query(*c, Sql::touch)
               .bind(kKey, key)
               .bind(kNow, now)
               .bind(kExpires, ttl_ms > 0 ? deadline_after(now, ttl_ms) : 0)
               .run() > 0;
}

bool SqliteBackend::ttl(Bytes key, int64_t *remaining_ms)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    rt.anchor.before_read();
    int64_t now = wall_ms();
    Query q(*c, Sql::ttl);
    if (!q.bind(kKey, key).bind(kNow, now).step())
        return false;
    int64_t expires_at = q.column_int(0);
    *remaining_ms = expires_at == 0 ? -1 : std::max<int64_t>(ms_until(expires_at, now), 1);
    return true;
}

void SqliteBackend::clear(Bytes prefix)
{
    KeyRange range(prefix);
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    {
        Query q(*c, range.pick(Sql::clear_tags_bounded, Sql::clear_tags_open));
        range.bind(q);
        q.run();
    }
    {
        Query q(*c, range.pick(Sql::clear_bounded, Sql::clear_open));
        range.bind(q);
        q.run();
    }
    {
        Query q(*c, range.pick(Sql::lease_clear_bounded, Sql::lease_clear_open));
        range.bind(q);
        q.run();
    }
    tx.commit();
}

void SqliteBackend::get_many(const Bytes *keys, size_t n, OwnedBuffer *values, int *statuses)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    rt.anchor.before_read();
    // One read transaction: one snapshot, one lock round trip.
    Transaction tx(*c, Transaction::read);
    int64_t now = wall_ms();
    for (size_t i = 0; i < n; i++)
        statuses[i] = read_live(rt, *c, keys[i], now, &values[i]) ? CACHE_OK : CACHE_MISS;
    tx.commit();
}

void SqliteBackend::set_many(const Bytes *keys, const Bytes *values, size_t n, int64_t ttl_ms)
{
    size_t charge = 0;
    for (size_t i = 0; i < n; i++) {
        check_entry(keys[i], values[i]);
        charge += row_charge(keys[i], values[i]);
    }
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    int64_t expires_at = expiry_for(ttl_ms);
    for (size_t i = 0; i < n; i++)
        write_entry(*c, keys[i], values[i], expires_at, 0);
    tx.commit();
    rt.evictor.after_write(*c, charge);
}

size_t SqliteBackend::del_many(const Bytes *keys, size_t n)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    int64_t now = wall_ms();
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        Query(*c, Sql::lease_delete).bind(kKey, keys[i]).run();
        removed += size_t(Query(*c, Sql::del).bind(kKey, keys[i]).bind(kNow, now).run());
    }
    tx.commit();
    return removed;
}

void SqliteBackend::keys(const GlobPattern &pattern, size_t limit, std::vector<std::string> *out)
{
    KeyRange range(pattern.literal_prefix());
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Query q(*c, range.pick(Sql::keys_bounded, Sql::keys_open));
    range.bind(q);
    q.bind(kNow, wall_ms()).bind(kPattern, pattern);
    while ((limit == 0 || out->size() < limit) && q.step())
        out->emplace_back(q.column_blob(0));
}

size_t SqliteBackend::delete_pattern(const GlobPattern &pattern)
{
    KeyRange range(pattern.literal_prefix());
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Query q(*c, range.pick(Sql::delete_pattern_bounded, Sql::delete_pattern_open));
    range.bind(q);
    return size_t(q.bind(kNow, wall_ms()).bind(kPattern, pattern).run());
}

void SqliteBackend::set_tagged(Bytes key, Bytes value, int64_t ttl_ms, const Bytes *tags,
                               size_t ntags)
{
    check_entry(key, value);
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    // A fresh id per tagged write: the update trigger drops the tags of
    // the previous write, and an invalidation only removes the entry while
    // it still carries this id.
    int64_t tag_id = ntags ? random_tag_id() : 0;
    write_entry(*c, key, value, expiry_for(ttl_ms), tag_id);
    for (size_t i = 0; i < ntags; i++)
        Query(*c, Sql::tag_insert).bind(kKey, tags[i]).bind(kValue, key).bind(kTagId, tag_id).run();
    tx.commit();
    rt.evictor.after_write(*c, row_charge(key, value));
}

size_t SqliteBackend::invalidate_tags(const Bytes *tags, size_t n)
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::write);
    int64_t now = wall_ms();
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        Query(*c, Sql::invalidate_stale).bind(kKey, tags[i]).bind(kNow, now).run();
        removed += size_t(Query(*c, Sql::invalidate).bind(kKey, tags[i]).bind(kNow, now).run());
        Query(*c, Sql::tag_drop).bind(kKey, tags[i]).run();
    }
    tx.commit();
    return removed;
}

void SqliteBackend::ping()
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    Query(*c, Sql::max_rowid).scalar(); // reads the table, not just the connection
}

std::string SqliteBackend::info()
{
    SqliteRuntime &rt = runtime();
    auto c = rt.pool.acquire();
    std::string out = "sqlite backend: path=" + opts_.path + " table=" + opts_.table +
                      " sqlite_version=" + sqlite3_libversion();
    for (const char *pragma : {"user_version", "journal_mode", "page_size", "page_count",
                               "freelist_count", "cache_size"})
        out += std::string(" ") + pragma + "=" + c->scalar_text(std::string("PRAGMA ") + pragma);
    out += " wal_autocheckpoint=" + c->scalar_text("PRAGMA wal_autocheckpoint");
    out += " synchronous=" + opts_.synchronous; // set on every connection
    out += " max_items=" + std::to_string(opts_.max_items) +
           " max_size_mb=" + std::to_string(opts_.max_size_bytes >> 20) +
           " eviction=" + (opts_.bounded() ? "expired-first,clock" : "none") +
           " busy_timeout_ms=" + std::to_string(opts_.busy_timeout_ms) +
           " purge_interval_ms=" + std::to_string(opts_.purge_interval_ms) +
           " read_anchor=" + (rt.anchor.enabled() ? "on" : "off") +
           " connections=" + std::to_string(rt.pool.open_count());
    out += watch_info();
    return out;
}

BackendStats SqliteBackend::stats(Bytes prefix)
{
    SqliteRuntime &rt = runtime();
    BackendStats b;
    b.evictions = rt.evictor.evictions();
    b.expirations = rt.evictor.expirations();
    auto c = rt.pool.acquire();
    Transaction tx(*c, Transaction::read);
    int64_t now = wall_ms();
    if (prefix.empty()) {
        // The whole table: b-tree counts, no row is read.
        b.size = Query(*c, Sql::count_rows).scalar() -
                 Query(*c, Sql::count_expired).bind(kNow, now).scalar();
        b.memory_bytes = Query(*c, Sql::page_usage).scalar();
    } else {
        KeyRange range(prefix);
        Query q(*c, range.pick(Sql::stats_bounded, Sql::stats_open));
        range.bind(q);
        q.bind(kNow, now).step();
        b.size = q.column_int(0);
        b.memory_bytes = q.column_int(1);
    }
    tx.commit();
    return b;
}

std::unique_ptr<Backend> make_sqlite_backend(Config &config)
{
    SqliteOptions o;
    o.path = config.location;
    if (o.path.empty())
        fail(CACHE_EINVAL, "sqlite:// needs a file: sqlite:///absolute/path.db, "
                           "sqlite://relative/path.db or sqlite://:memory:");
    if (config.has_password)
        fail(CACHE_EINVAL,
             "sqlite:// takes a file path, not a user and password (got '" + config.display + "')");
    Params &p = config.params;
    o.table = p.take_string("table", o.table);
    if (!SqlCatalog::valid_table_name(o.table))
        fail(CACHE_EINVAL, "parameter 'table' must be 1-64 letters, digits or '_', not start "
                           "with a digit or 'sqlite_', got '" +
                               o.table + "'");
    o.max_items = p.take_int("max_items", 0, 0, INT64_MAX / 4);
    o.max_size_bytes = p.take_int("max_size_mb", 0, 0, int64_t(1) << 30) << 20;
    o.synchronous = p.take_choice("synchronous", o.synchronous, {"off", "normal", "full", "extra"});
    o.busy_timeout_ms = p.take_int("busy_timeout_ms", o.busy_timeout_ms, 0, 3600 * 1000);
    o.wal_autocheckpoint = p.take_int("wal_autocheckpoint", o.wal_autocheckpoint, 0, 1 << 30);
    o.purge_interval_ms = p.take_int("purge_interval_ms", o.purge_interval_ms, 0, 3600 * 1000);
    o.read_anchor = p.take_bool("read_anchor", o.read_anchor);
    o.change_poll_ms = p.take_int("change_poll_ms", o.change_poll_ms, 1, 60 * 1000);
    p.finish(config.scheme); // every parameter checked before the file is opened
    return std::make_unique<SqliteBackend>(std::move(o));
}

} // namespace unicache
