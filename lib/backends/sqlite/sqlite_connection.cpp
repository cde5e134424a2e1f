#include "sqlite_connection.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "sqlite_log.h"

namespace unicache {

namespace {

const char kPatternType[] = "unicache.GlobPattern";

int64_t now_us()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// unicache_match(pattern, key): GlobPattern::match, so that patterns mean
// exactly what they mean on every other backend (SQLite's GLOB has no
// escape character and treats '^' differently).
void match_function(sqlite3_context *ctx, int, sqlite3_value **argv)
{
    auto *pattern = static_cast<const GlobPattern *>(sqlite3_value_pointer(argv[0], kPatternType));
    if (!pattern) {
        sqlite3_result_error(ctx, "unicache_match() needs a bound pattern", -1);
        return;
    }
    const void *key = sqlite3_value_blob(argv[1]);
    size_t len = size_t(sqlite3_value_bytes(argv[1]));
    sqlite3_result_int(ctx,
                       pattern->match(len ? Bytes(static_cast<const char *>(key), len) : Bytes()));
}

// Why path cannot be written, or "" when nothing says it cannot. SQLite
// itself often cannot tell: on a read-only mount it opens the file read-only
// and then fails to create the -wal or -shm file with "unable to open
// database file (No such file or directory)". The mount is asked first,
// since root's access() ignores permission bits but not a read-only mount.
std::string read_only_reason(const std::string &path)
{
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    struct statvfs fs;
    if (statvfs(dir.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY))
        return "the file system holding '" + dir + "' is mounted read-only";
    if (access(path.c_str(), F_OK) == 0 && access(path.c_str(), W_OK) != 0)
        return errno == EROFS
                   ? "the file system is read-only"
                   : "no write permission on the file (" + std::string(std::strerror(errno)) + ")";
    if (access(dir.c_str(), W_OK) != 0)
        return "no write permission on the directory '" + dir + "' (" + std::strerror(errno) +
               "), where SQLite must create the -wal and -shm files";
    return "";
}

// A statement compiled for one use, finalized on scope exit.
struct AdhocStatement {
    sqlite3_stmt *stmt;
    ~AdhocStatement() { sqlite3_finalize(stmt); }
};

} // namespace

Query &Query::bind(int param, const GlobPattern &p)
{
    sqlite3_bind_pointer(stmt_, param, const_cast<GlobPattern *>(&p), kPatternType, nullptr);
    return *this;
}

SqliteConnection::SqliteConnection(const SqliteOptions &opts, const SqlCatalog &sql)
    : opts_(opts), sql_(sql)
{
    open();
}

SqliteConnection::~SqliteConnection()
{
    close();
}

void SqliteConnection::open()
{
    watch_sqlite_recoveries();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(opts_.path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        if (!db_)
            throw std::bad_alloc();
        try {
            throw_error(rc, "cannot open");
        } catch (...) {
            sqlite3_close_v2(db_);
            db_ = nullptr;
            throw;
        }
    }
    try {
        // SQLite falls back to a read-only open when it may not write the
        // file; a cache must write, so that is said now, before a pragma
        // fails with a message that does not say why.
        if (!opts_.in_memory() && sqlite3_db_readonly(db_, "main") == 1)
            fail_read_only("cannot open", read_only_reason(opts_.path));
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_handler(db_, busy_handler, this);
        rc = sqlite3_create_function_v2(db_, "unicache_match", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                        nullptr, match_function, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK)
            throw_error(rc, "cannot register unicache_match() on");
        exec("PRAGMA synchronous = " + opts_.synchronous);
        // After a burst the WAL is truncated back to this size at the next
        // checkpoint instead of keeping its high-water mark on disk.
        exec("PRAGMA journal_size_limit = 67108864");
        exec("PRAGMA wal_autocheckpoint = " + std::to_string(opts_.wal_autocheckpoint));
    } catch (...) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw;
    }
}

void SqliteConnection::close()
{
    for (sqlite3_stmt *&s : stmts_) {
        sqlite3_finalize(s);
        s = nullptr;
    }
    sqlite3_close_v2(db_);
    db_ = nullptr;
}

sqlite3_stmt *SqliteConnection::statement(Sql s)
{
    sqlite3_stmt *&slot = stmts_[int(s)];
    if (!slot) {
        const std::string &text = sql_.text(s);
        int rc = sqlite3_prepare_v3(db_, text.c_str(), int(text.size()) + 1,
                                    SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(slot);
            slot = nullptr;
            if ((rc & 0xff) == SQLITE_ERROR) // changed behind our back
                unicache::fail(CACHE_ECORRUPT, "table \"" + sql_.table() + "\" in '" + opts_.path +
                                                   "' no longer has the unicache layout (" +
                                                   sqlite3_errmsg(db_) + ")");
            throw_error(rc, "cannot prepare a statement on");
        }
    }
    return slot;
}

int SqliteConnection::busy_handler(void *self, int attempt)
{
    return static_cast<SqliteConnection *>(self)->wait_while_busy(attempt) ? 1 : 0;
}

bool SqliteConnection::wait_while_busy(int attempt)
{
    int64_t now = now_us();
    if (busy_deadline_us_ == 0)
        busy_deadline_us_ = now + opts_.busy_timeout_ms * 1000;
    if (now >= busy_deadline_us_)
        return false;
    // Write transactions here last tens of microseconds, so start short and
    // back off to 2 ms: SQLite's own busy_timeout starts at 1 ms, which
    // would cap several contending processes at ~1000 writes/s.
    int64_t pause = std::min<int64_t>(int64_t(20) << std::min(attempt, 7), 2000);
    pause = std::min(pause, busy_deadline_us_ - now);
    std::this_thread::sleep_for(std::chrono::microseconds(pause));
    return true;
}

int SqliteConnection::step(sqlite3_stmt *stmt)
{
    for (int attempt = 0;; attempt++) {
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            return rc;
        int primary = rc & 0xff;
        // Outside a transaction a busy statement has done nothing and can
        // run again. (The busy handler covers lock waits; this covers the
        // cases SQLite reports without calling it, such as WAL recovery.)
        if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && sqlite3_get_autocommit(db_)) {
            sqlite3_reset(stmt);
            if (wait_while_busy(attempt))
                continue;
        }
        // A read-only statement inside a write transaction, and the COMMIT
        // that writes the transaction out (read-only to SQLite, as every
        // transaction-control statement), fail as writes.
        bool writes = !sqlite3_stmt_readonly(stmt) ||
                      sqlite3_txn_state(db_, "main") == SQLITE_TXN_WRITE ||
                      std::strncmp(sqlite3_sql(stmt), "COMMIT", 6) == 0;
        sqlite3_reset(stmt);
        throw_error(rc, writes ? "cannot write" : "cannot read");
    }
}

sqlite3_stmt *SqliteConnection::prepare_adhoc(const std::string &sql)
{
    sqlite3_stmt *stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), int(sql.size()) + 1, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(stmt);
        throw_error(rc, "cannot run '" + sql.substr(0, 60) + "' on");
    }
    return stmt;
}

void SqliteConnection::exec(const std::string &sql)
{
    const char *tail = sql.c_str();
    while (*tail) {
        sqlite3_stmt *stmt = nullptr;
        int rc = sqlite3_prepare_v2(db_, tail, -1, &stmt, &tail);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(stmt);
            throw_error(rc, "cannot run '" + sql.substr(0, 60) + "' on");
        }
        if (!stmt)
            continue; // whitespace or a comment
        AdhocStatement st{stmt};
        while (step(stmt) == SQLITE_ROW) {
        }
    }
}

int64_t SqliteConnection::scalar_int(const std::string &sql)
{
    AdhocStatement st{prepare_adhoc(sql)};
    return step(st.stmt) == SQLITE_ROW ? sqlite3_column_int64(st.stmt, 0) : 0;
}

std::string SqliteConnection::scalar_text(const std::string &sql)
{
    AdhocStatement st{prepare_adhoc(sql)};
    if (step(st.stmt) != SQLITE_ROW || !sqlite3_column_text(st.stmt, 0))
        return std::string();
    return std::string(reinterpret_cast<const char *>(sqlite3_column_text(st.stmt, 0)),
                       size_t(sqlite3_column_bytes(st.stmt, 0)));
}

void SqliteConnection::fail_read_only(const std::string &doing, const std::string &reason) const
{
    std::string message = doing + " the SQLite database '" + opts_.path + "': it is read-only (" +
                          (reason.empty() ? "SQLite opened it read-only" : reason) +
                          "); a cache needs write access to the file and its directory";
    // A line for the operator as well as the caller's error (frameworks
    // often turn a cache error into a miss): once per connection, since a
    // store that became read-only fails every write.
    if (!said_read_only_) {
        said_read_only_ = true;
        log_event(CACHE_LOG_ERROR, [&] { return "sqlite: " + message; });
    }
    unicache::fail(CACHE_EIO, message);
}

void SqliteConnection::throw_error(int rc, const std::string &doing) const
{
    const std::string where = "the SQLite database '" + opts_.path + "'";
    switch (rc & 0xff) {
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
        // Said as what it is when the file or its directory cannot be
        // written, whatever SQLite's own words (often "No such file").
        if (!opts_.in_memory()) {
            std::string reason = read_only_reason(opts_.path);
            if (!reason.empty())
                fail_read_only(doing, reason);
        }
        break;
    default:
        break;
    }
    std::string detail = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    int sys = db_ ? sqlite3_system_errno(db_) : 0;
    if (sys && (rc & 0xff) != SQLITE_BUSY)
        detail += std::string(" (") + std::strerror(sys) + ")";
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        throw std::bad_alloc();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        unicache::fail(CACHE_ETIMEOUT, doing + " " + where +
                                           ": it stayed locked by another connection for more "
                                           "than busy_timeout_ms=" +
                                           std::to_string(opts_.busy_timeout_ms) + " ms");
    case SQLITE_NOTADB:
        unicache::fail(CACHE_ECORRUPT, "'" + opts_.path + "' is not a SQLite database (" + detail +
                                           "); unicache leaves it untouched");
    case SQLITE_CORRUPT:
        unicache::fail(CACHE_ECORRUPT,
                       doing + " " + where + ": it is corrupt (" + detail +
                           "); unicache leaves it untouched: move it aside to start "
                           "an empty cache");
    case SQLITE_TOOBIG:
        unicache::fail(CACHE_ETOOBIG, doing + " " + where + ": " + detail);
    case SQLITE_READONLY:
        fail_read_only(doing, detail);
    case SQLITE_FULL:
        unicache::fail(CACHE_EIO, doing + " " + where + ": the disk is full (" + detail + ")");
    default:
        unicache::fail(CACHE_EIO, doing + " " + where + ": " + detail);
    }
}

Transaction::Transaction(SqliteConnection &c, Mode mode) : c_(c)
{
    Query(c, mode == write ? Sql::begin_write : Sql::begin_read).run();
}

Transaction::~Transaction()
{
    if (open_ && !sqlite3_get_autocommit(c_.db()))
        sqlite3_exec(c_.db(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit()
{
    Query(c_, Sql::commit).run();
    open_ = false;
}

} // namespace unicache
