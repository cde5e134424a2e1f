#include "sqlite_sql.h"

#include <cctype>

namespace unicache {

namespace {

// Names are validated to [A-Za-z0-9_], so quoting never needs escaping.
std::string quoted(const std::string &name)
{
    return "\"" + name + "\"";
}

const char kLive[] = "(expires_at = 0 OR expires_at > ?2)";

} // namespace

bool SqlCatalog::valid_table_name(const std::string &name)
{
    if (name.empty() || name.size() > 64 || std::isdigit((unsigned char)name[0]))
        return false;
    for (char c : name)
        if (!(std::isalnum((unsigned char)c) || c == '_'))
            return false;
    std::string lower;
    for (char c : name.substr(0, 7))
        lower.push_back(char(std::tolower((unsigned char)c)));
    return lower != "sqlite_";
}

SqlCatalog::SqlCatalog(const std::string &table) : table_(table)
{
    const std::string t = quoted(table);
    const std::string tags = quoted(table + ".tags");
    const std::string live = kLive;
    auto set = [&](Sql s, std::string text) { texts_[int(s)] = std::move(text); };

    set(Sql::get, "SELECT value, expires_at FROM " + t + " WHERE key = ?1");
    set(Sql::get_ref, "SELECT value, expires_at, ref, rowid FROM " + t + " WHERE key = ?1");
    set(Sql::exists, "SELECT 1 FROM " + t + " WHERE key = ?1 AND " + live);
    set(Sql::ttl, "SELECT expires_at FROM " + t + " WHERE key = ?1 AND " + live);
    // Writes update in place: one table page per overwrite instead of the
    // delete + insert (and index rewrite) of INSERT OR REPLACE. A rewrite
    // counts as a reference for the eviction clock.
    set(Sql::set, "INSERT INTO " + t +
                      " (key, value, expires_at, tag_id, ref) VALUES (?1, ?3, ?4, ?5, 0) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                      "expires_at = excluded.expires_at, tag_id = excluded.tag_id, ref = 1");
    set(Sql::add, "INSERT INTO " + t +
                      " (key, value, expires_at, tag_id, ref) VALUES (?1, ?3, ?4, 0, 0) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                      "expires_at = excluded.expires_at, tag_id = 0, ref = 0 "
                      "WHERE " +
                      t + ".expires_at != 0 AND " + t + ".expires_at <= ?2");
    set(Sql::del, "DELETE FROM " + t + " WHERE key = ?1 AND " + live);
    set(Sql::touch, "UPDATE " + t + " SET expires_at = ?4 WHERE key = ?1 AND " + live);
    set(Sql::incr_update, "UPDATE " + t + " SET value = ?3, ref = 1 WHERE key = ?1");
    set(Sql::begin_read, "BEGIN");
    set(Sql::begin_write, "BEGIN IMMEDIATE");
    set(Sql::commit, "COMMIT");
    set(Sql::changes_since, "SELECT id, key FROM " + quoted(table + ".changes") +
                                " WHERE id > ?1 ORDER BY id LIMIT 512");

    set(Sql::any_expired,
        "SELECT 1 FROM " + t + " WHERE expires_at > 0 AND expires_at <= ?2 LIMIT 1");
    set(Sql::purge_expired, "DELETE FROM " + t + " WHERE rowid IN (SELECT rowid FROM " + t +
                                " WHERE expires_at > 0 AND expires_at <= ?2 LIMIT ?3)");
    set(Sql::count_rows, "SELECT count(*) FROM " + t);
    set(Sql::count_expired,
        "SELECT count(*) FROM " + t + " WHERE expires_at > 0 AND expires_at <= ?2");
    set(Sql::max_rowid, "SELECT coalesce(max(rowid), 0) FROM " + t);
    set(Sql::page_usage, "SELECT (p.page_count - f.freelist_count) * s.page_size "
                         "FROM pragma_page_count() p, pragma_freelist_count() f, "
                         "pragma_page_size() s");
    set(Sql::clock_scan, "SELECT rowid, ref, length(key) + length(value) FROM " + t +
                             " WHERE rowid > ?1 ORDER BY rowid LIMIT ?3");
    set(Sql::clear_ref, "UPDATE " + t + " SET ref = 0 WHERE rowid = ?1");
    set(Sql::delete_rowid, "DELETE FROM " + t + " WHERE rowid = ?1");
    set(Sql::mark_ref, "UPDATE " + t + " SET ref = 1 WHERE rowid = ?1");

    // A range on the key index narrows the scan to the pattern's literal
    // prefix; unicache_match() then applies GlobPattern::match itself.
    const std::string match = " AND unicache_match(?6, key) AND " + live;
    set(Sql::keys_bounded, "SELECT key FROM " + t + " WHERE key >= ?1 AND key < ?3" + match);
    set(Sql::keys_open, "SELECT key FROM " + t + " WHERE key >= ?1" + match);
    set(Sql::delete_pattern_bounded, "DELETE FROM " + t + " WHERE key >= ?1 AND key < ?3" + match);
    set(Sql::delete_pattern_open, "DELETE FROM " + t + " WHERE key >= ?1" + match);
    set(Sql::clear_bounded, "DELETE FROM " + t + " WHERE key >= ?1 AND key < ?3");
    set(Sql::clear_open, "DELETE FROM " + t + " WHERE key >= ?1");
    // By the keys they index: a tag's name does not start with the prefix.
    set(Sql::clear_tags_bounded, "DELETE FROM " + tags + " WHERE key >= ?1 AND key < ?3");
    set(Sql::clear_tags_open, "DELETE FROM " + tags + " WHERE key >= ?1");
    const std::string stats = "SELECT count(*), coalesce(sum(2 * length(key) + length(value) + "
                              "24), 0) FROM " +
                              t + " WHERE key >= ?1 ";
    set(Sql::stats_bounded, stats + "AND key < ?3 AND " + live);
    set(Sql::stats_open, stats + "AND " + live);

    set(Sql::tag_insert,
        "INSERT OR REPLACE INTO " + tags + " (tag, key, tag_id) VALUES (?1, ?3, ?5)");
    set(Sql::invalidate, "DELETE FROM " + t + " WHERE rowid IN (SELECT e.rowid FROM " + tags +
                             " g JOIN " + t +
                             " e ON e.key = g.key AND e.tag_id = g.tag_id "
                             "WHERE g.tag = ?1 AND (e.expires_at = 0 OR e.expires_at > ?2))");
    set(Sql::tag_drop, "DELETE FROM " + tags + " WHERE tag = ?1");

    // Leases: ?3 token, ?4 an expiry, ?5 on_miss / compute_ms.
    const std::string leases = quoted(table + ".leases");
    // An expired entry's delete keeps its stale copy (the lease_delete
    // trigger): an invalidation removes that copy itself.
    set(Sql::invalidate_stale,
        "DELETE FROM " + leases + " WHERE key IN (SELECT e.key FROM " + tags + " g JOIN " + t +
            " e ON e.key = g.key AND e.tag_id = g.tag_id "
            "WHERE g.tag = ?1 AND e.expires_at != 0 AND e.expires_at <= ?2)");
    set(Sql::lease_read, "SELECT token, lease_until, on_miss, fresh_until, stale_until, "
                         "compute_ms, stale FROM " +
                             leases + " WHERE key = ?1");
    set(Sql::lease_meta, "SELECT fresh_until, compute_ms FROM " + leases + " WHERE key = ?1");
    set(Sql::lease_grant, "INSERT INTO " + leases +
                              " (key, token, lease_until, on_miss) VALUES (?1, ?3, ?4, ?5) "
                              "ON CONFLICT (key) DO UPDATE SET token = excluded.token, "
                              "lease_until = excluded.lease_until, on_miss = excluded.on_miss");
    set(Sql::lease_extend_stale,
        "UPDATE " + leases + " SET stale_until = max(stale_until, ?4) WHERE key = ?1");
    set(Sql::lease_end_token, "UPDATE " + leases + " SET token = 0 WHERE key = ?1 AND token = ?3");
    set(Sql::lease_delete, "DELETE FROM " + leases + " WHERE key = ?1");
    // ?3: the stale copy (NULL: none), ?4 fresh_until, ?5 compute_ms, ?6 stale_until.
    set(Sql::lease_store_meta,
        "INSERT OR REPLACE INTO " + leases +
            " (key, token, lease_until, on_miss, fresh_until, stale_until, compute_ms, stale) "
            "VALUES (?1, 0, 0, 0, ?4, ?6, ?5, ?3)");
    const std::string dead = "token = 0 OR lease_until <= ?2) AND stale_until <= ?2 AND "
                             "fresh_until <= ?2";
    set(Sql::lease_tidy, "DELETE FROM " + leases + " WHERE key = ?1 AND (" + dead);
    set(Sql::lease_purge, "DELETE FROM " + leases + " WHERE (" + dead);
    set(Sql::lease_clear_bounded, "DELETE FROM " + leases + " WHERE key >= ?1 AND key < ?3");
    set(Sql::lease_clear_open, "DELETE FROM " + leases + " WHERE key >= ?1");
}

std::string SqlCatalog::lease_schema() const
{
    const std::string t = quoted(table_);
    const std::string leases = quoted(table_ + ".leases");
    const std::string end = " BEGIN DELETE FROM " + leases + " WHERE key = new.key; END;\n";
    // A row rewritten by anyone (a set, an add, an incr, in any process)
    // ends the key's lease and drops its stale copy: that value is newer.
    // A live row deleted (a pattern, a tag, eviction) does too; purging an
    // expired row does not, or stale-while-revalidate would lose its copy.
    return "CREATE TABLE IF NOT EXISTS " + leases +
           " (key BLOB NOT NULL PRIMARY KEY, token INTEGER NOT NULL DEFAULT 0, "
           "lease_until INTEGER NOT NULL DEFAULT 0, on_miss INTEGER NOT NULL DEFAULT 0, "
           "fresh_until INTEGER NOT NULL DEFAULT 0, stale_until INTEGER NOT NULL DEFAULT 0, "
           "compute_ms INTEGER NOT NULL DEFAULT 0, stale BLOB);\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".lease_insert") + " AFTER INSERT ON " + t + end +
           "CREATE TRIGGER IF NOT EXISTS " + quoted(table_ + ".lease_update") +
           " AFTER UPDATE OF value ON " + t + end + "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".lease_delete") + " AFTER DELETE ON " + t +
           " WHEN old.expires_at = 0 OR old.expires_at > "
           "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) BEGIN DELETE FROM " +
           leases + " WHERE key = old.key; END;\n";
}

std::string SqlCatalog::schema() const
{
    const std::string t = quoted(table_);
    const std::string tags = quoted(table_ + ".tags");
    return "CREATE TABLE IF NOT EXISTS " + t +
           " (key BLOB NOT NULL PRIMARY KEY, value BLOB NOT NULL, "
           "expires_at INTEGER NOT NULL DEFAULT 0, tag_id INTEGER NOT NULL DEFAULT 0, "
           "ref INTEGER NOT NULL DEFAULT 0);\n"
           "CREATE INDEX IF NOT EXISTS " +
           quoted(table_ + ".expiry") + " ON " + t +
           " (expires_at) WHERE expires_at > 0;\n"
           "CREATE TABLE IF NOT EXISTS " +
           tags +
           " (tag BLOB NOT NULL, key BLOB NOT NULL, tag_id INTEGER NOT NULL, "
           "PRIMARY KEY (tag, key)) WITHOUT ROWID;\n"
           "CREATE INDEX IF NOT EXISTS " +
           quoted(table_ + ".tags_key") + " ON " + tags +
           " (key);\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".untag_delete") + " AFTER DELETE ON " + t +
           " WHEN old.tag_id != 0 BEGIN DELETE FROM " + tags +
           " WHERE key = old.key AND tag_id = old.tag_id; END;\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".untag_update") + " AFTER UPDATE OF tag_id ON " + t +
           " WHEN old.tag_id != 0 AND new.tag_id != old.tag_id BEGIN DELETE FROM " + tags +
           " WHERE key = old.key AND tag_id = old.tag_id; END;\n";
}

std::string SqlCatalog::change_log_schema() const
{
    const std::string t = quoted(table_);
    const std::string log = quoted(table_ + ".changes");
    const std::string add = " BEGIN INSERT INTO " + log + " (key) VALUES (";
    // Rewrites of ref alone (the eviction clock's reads) are not changes.
    return "CREATE TABLE IF NOT EXISTS " + log +
           " (id INTEGER PRIMARY KEY, key BLOB NOT NULL);\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".log_insert") + " AFTER INSERT ON " + t + add +
           "new.key); END;\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".log_update") + " AFTER UPDATE OF key, value, expires_at, tag_id ON " +
           t + add +
           "new.key); END;\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".log_delete") + " AFTER DELETE ON " + t + add +
           "old.key); END;\n"
           "CREATE TRIGGER IF NOT EXISTS " +
           quoted(table_ + ".log_trim") + " AFTER INSERT ON " + log + " WHEN new.id % " +
           std::to_string(kChangeLogTrimEvery) + " = 0 BEGIN DELETE FROM " + log +
           " WHERE id <= new.id - " + std::to_string(kChangeLogKeep) + "; END;\n";
}

std::string SqlCatalog::entries_probe() const
{
    return "SELECT key, value, expires_at, tag_id, ref FROM " + quoted(table_) + " WHERE 0";
}

std::string SqlCatalog::tags_probe() const
{
    return "SELECT tag, key, tag_id FROM " + quoted(table_ + ".tags") + " WHERE 0";
}

} // namespace unicache
