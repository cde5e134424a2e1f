// SqlCatalog: every statement the SQLite backend runs, written once for one
// table name. Connections prepare them lazily and keep them for their life.
//
// Layout (schema version 1):
//   "<t>"         key BLOB PRIMARY KEY, value BLOB, expires_at (Unix ms, 0 =
//                 never), tag_id (0 = untagged, else a random id per tagged
//                 write), ref (CLOCK reference bit). The rowid orders rows
//                 for the eviction hand.
//   "<t>.expiry"  partial index on expires_at for rows that expire.
//   "<t>.tags"    (tag, key, tag_id); triggers drop a row's tags when the
//                 row is deleted or rewritten with another tag_id.
//   "<t>.leases"  (key, token, lease_until, on_miss, fresh_until,
//                 stale_until, compute_ms, stale): stampede leases and stale
//                 copies (sqlite_leases.cpp), created at open; triggers end
//                 a key's lease when any writer rewrites or deletes its row.
//   "<t>.changes" (id, key): created by the first process that watches for
//                 changes (sqlite_changes.h), then filled by triggers for
//                 every writer.
#pragma once

#include <cstdint>
#include <string>

namespace unicache {

// Parameter numbers are the same in every statement that uses them.
enum SqlParam {
    kKey = 1,     // key, tag, rowid or range start (BLOB / INTEGER)
    kNow = 2,     // the current time, Unix ms
    kValue = 3,   // value, range end, tagged key or row limit
    kExpires = 4, // expires_at, Unix ms, 0 = never
    kTagId = 5,   // tag_id
    kPattern = 6  // a GlobPattern, bound with sqlite3_bind_pointer
};

enum class Sql {
    get,     // value, expires_at: the caller checks expiry (fewer VM steps)
    get_ref, // value, expires_at, ref, rowid: for the eviction clock
    exists,
    ttl,
    set,
    add,
    del,
    touch,
    incr_update,
    begin_read,
    begin_write,
    commit,
    // maintenance
    any_expired,
    purge_expired,
    count_rows,
    count_expired,
    max_rowid,
    page_usage,
    clock_scan,
    clear_ref,
    delete_rowid,
    mark_ref,
    // patterns and prefixes; *_open have no upper bound
    keys_bounded,
    keys_open,
    delete_pattern_bounded,
    delete_pattern_open,
    clear_bounded,
    clear_open,
    clear_tags_bounded,
    clear_tags_open,
    stats_bounded,
    stats_open,
    // tags
    tag_insert,
    invalidate,
    tag_drop,
    invalidate_stale,   // the stale copies of a tag's expired entries
    lease_extend_stale, // a refresher keeps the stale copy longer
    // change log (sqlite_changes.h): (id, key) after ?1, oldest first
    changes_since,
    // leases (sqlite_leases.cpp)
    lease_read,
    lease_meta,
    lease_grant,
    lease_end_token,
    lease_delete,
    lease_store_meta,
    lease_tidy,
    lease_purge,
    lease_clear_bounded,
    lease_clear_open,
    count_
};

// The change log keeps at least the newest kChangeLogKeep changes: every
// kChangeLogTrimEvery-th change deletes those older than that.
constexpr int64_t kChangeLogKeep = 16384;
constexpr int64_t kChangeLogTrimEvery = 1024;

class SqlCatalog {
public:
    explicit SqlCatalog(const std::string &table);

    const std::string &table() const { return table_; }
    const std::string &text(Sql s) const { return texts_[int(s)]; }
    // CREATE ... IF NOT EXISTS for the table, its index, tags and triggers.
    std::string schema() const;
    // The change log "<t>.changes" and the triggers that fill and trim it
    // (sqlite_changes.h), CREATE ... IF NOT EXISTS.
    std::string change_log_schema() const;
    // The lease table and the triggers that end leases, IF NOT EXISTS.
    std::string lease_schema() const;
    // Queries that fail to prepare unless the entries table (tags table)
    // has our columns.
    std::string entries_probe() const;
    std::string tags_probe() const;

    // True for a name usable as table=: [A-Za-z_][A-Za-z0-9_]*, at most 64
    // bytes, not starting with "sqlite_" (SQLite reserves those).
    static bool valid_table_name(const std::string &name);

private:
    std::string table_;
    std::string texts_[int(Sql::count_)];
};

} // namespace unicache
