#include "sqlite_store.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

#include "core/error.h"

namespace unicache {

namespace {

struct FileHeader {
    int64_t application_id = 0;
    int64_t user_version = 0;
    int64_t objects = 0; // tables, indexes, triggers, views
    bool has_entries = false, has_tags = false, has_leases = false;
};

bool has_table(SqliteConnection &c, const std::string &name)
{
    // Table names are validated to [A-Za-z0-9_.], safe inside quotes.
    return c.scalar_int("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" +
                        name + "'") > 0;
}

FileHeader read_header(SqliteConnection &c)
{
    FileHeader h;
    // The first read of page 1: a file that is not SQLite fails here.
    h.objects = c.scalar_int("SELECT count(*) FROM sqlite_master");
    h.application_id = c.scalar_int("PRAGMA application_id");
    h.user_version = c.scalar_int("PRAGMA user_version");
    h.has_entries = has_table(c, c.sql().table());
    h.has_tags = has_table(c, c.sql().table() + ".tags");
    h.has_leases = has_table(c, c.sql().table() + ".leases");
    return h;
}

std::string hex32(int64_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", unsigned(uint32_t(v)));
    return buf;
}

// Refuses files that are not unicache caches this build can use.
void check_ownership(const SqliteConnection &c, const FileHeader &h)
{
    const std::string &path = c.options().path;
    if (h.application_id == kSqliteApplicationId) {
        if (h.user_version > kSqliteSchemaVersion)
            fail(CACHE_EVERSION,
                 "'" + path + "' was written by a newer unicache (cache schema version " +
                     std::to_string(h.user_version) + "; this build reads up to version " +
                     std::to_string(kSqliteSchemaVersion) +
                     "); upgrade unicache or use another file");
        if (h.user_version < 1)
            fail(CACHE_ECORRUPT, "'" + path +
                                     "' has the unicache application id but no "
                                     "schema version; unicache leaves it untouched");
        return;
    }
    if (h.application_id != 0)
        fail(CACHE_ECORRUPT, "'" + path +
                                 "' is a SQLite database of another application "
                                 "(application_id " +
                                 hex32(h.application_id) + "); unicache leaves it untouched");
    if (h.objects > 0)
        fail(CACHE_ECORRUPT, "'" + path + "' is a SQLite database that unicache did not create (" +
                                 std::to_string(h.objects) +
                                 " schema objects, no unicache application id); unicache "
                                 "leaves it untouched: use a file of its own");
}

// A table of our name with other columns is not ours to use (or extend).
void check_layout(SqliteConnection &c, const FileHeader &h)
{
    try {
        if (h.has_entries)
            c.exec(c.sql().entries_probe());
        if (h.has_tags)
            c.exec(c.sql().tags_probe());
    } catch (const Error &e) {
        fail(CACHE_ECORRUPT, "table \"" + c.sql().table() + "\" in '" + c.options().path +
                                 "' does not have the unicache layout (" + e.what() +
                                 "); unicache leaves it untouched");
    }
}

} // namespace

void check_store_path(const std::string &path)
{
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode))
            fail(CACHE_EIO, "cannot use '" + path + "' as a SQLite cache: it is a directory");
        return;
    }
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (stat(dir.c_str(), &st) != 0)
        fail(CACHE_EIO, "cannot create the SQLite cache '" + path + "': directory '" + dir + "' " +
                            (errno == ENOENT ? "does not exist" : std::strerror(errno)));
    if (!S_ISDIR(st.st_mode))
        fail(CACHE_EIO,
             "cannot create the SQLite cache '" + path + "': '" + dir + "' is not a directory");
}

void open_store(SqliteConnection &c)
{
    FileHeader h = read_header(c);
    check_ownership(c, h);
    if (sqlite3_db_readonly(c.db(), "main") == 1)
        c.fail_read_only("cannot open", "no write permission");
    if (!c.options().in_memory()) {
        // Persistent in the file; a no-op on every open after the first.
        std::string mode = c.scalar_text("PRAGMA journal_mode = WAL");
        if (mode != "wal")
            fail(CACHE_EIO, "cannot switch the SQLite database '" + c.options().path +
                                "' to WAL mode (journal_mode is '" + mode + "')");
    }
    check_layout(c, h);
    // The lease table joins files made before it on their next open, so
    // that every process's writes end leases from then on.
    if (h.application_id != kSqliteApplicationId || !h.has_entries || !h.has_tags ||
        !h.has_leases) {
        Transaction tx(c, Transaction::write);
        // Another process may have created it since we looked.
        FileHeader now = read_header(c);
        check_ownership(c, now);
        check_layout(c, now);
        if (now.application_id != kSqliteApplicationId) {
            c.exec("PRAGMA application_id = " + std::to_string(kSqliteApplicationId));
            c.exec("PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion));
        }
        c.exec(c.sql().schema());
        c.exec(c.sql().lease_schema());
        tx.commit();
    }
}

} // namespace unicache
