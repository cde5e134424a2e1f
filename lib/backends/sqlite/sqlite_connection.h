// SqliteConnection: one sqlite3 handle with its prepared statements and its
// busy policy. The pool hands a connection to one thread at a time, so the
// handle is opened with SQLITE_OPEN_NOMUTEX and needs no locking of its own.
#pragma once

#include <cstdint>
#include <string>

#include <sqlite3.h>

#include "core/bytes.h"
#include "core/glob.h"
#include "sqlite_options.h"
#include "sqlite_sql.h"

namespace unicache {

class SqliteConnection {
public:
    // Opens (creating if needed) opts.path and applies per-connection
    // settings. Does not read the file: open_store() validates it.
    SqliteConnection(const SqliteOptions &opts, const SqlCatalog &sql);
    ~SqliteConnection();
    // Closes the handle and its statements (before fork(): see
    // SqliteRuntime); open() makes the connection usable again.
    void close();
    void open();
    bool is_open() const { return db_ != nullptr; }
    SqliteConnection(const SqliteConnection &) = delete;
    SqliteConnection &operator=(const SqliteConnection &) = delete;

    sqlite3 *db() const { return db_; }
    const SqliteOptions &options() const { return opts_; }
    const SqlCatalog &sql() const { return sql_; }

    // The prepared statement for s, compiled on first use and then reused.
    sqlite3_stmt *statement(Sql s);
    // Called when the pool hands the connection out: busy_timeout_ms counts
    // from the first time this operation finds the database locked.
    void start_operation() { busy_deadline_us_ = 0; }
    // sqlite3_step that retries a locked database (outside explicit
    // transactions) until busy_timeout_ms. Returns SQLITE_ROW or SQLITE_DONE;
    // throws for anything else.
    int step(sqlite3_stmt *stmt);
    // Runs ad-hoc SQL (setup, info); throws on failure.
    void exec(const std::string &sql);
    // First column of the first row of ad-hoc SQL, as integer or text.
    int64_t scalar_int(const std::string &sql);
    std::string scalar_text(const std::string &sql);
    // Sleeps before another attempt; false once busy_timeout_ms has passed.
    bool wait_while_busy(int attempt);
    // Throws the unicache error for SQLite result code rc.
    [[noreturn]] void throw_error(int rc, const std::string &doing) const;
    // CACHE_EIO "<doing> the SQLite database '<path>': it is read-only (<reason>)".
    [[noreturn]] void fail_read_only(const std::string &doing, const std::string &reason) const;

private:
    static int busy_handler(void *self, int attempt);
    sqlite3_stmt *prepare_adhoc(const std::string &sql);

    const SqliteOptions &opts_;
    const SqlCatalog &sql_;
    sqlite3 *db_ = nullptr;
    sqlite3_stmt *stmts_[int(Sql::count_)] = {};
    int64_t busy_deadline_us_ = 0;
    mutable bool said_read_only_ = false; // the read-only log line, once
};

// Query: one use of a prepared statement. Binds, steps and reads columns;
// on scope exit the statement is reset and its bindings cleared, so no
// pointer to caller memory outlives the call.
class Query {
public:
    Query(SqliteConnection &c, Sql s) : c_(c), stmt_(c.statement(s)) {}
    ~Query()
    {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    Query(const Query &) = delete;
    Query &operator=(const Query &) = delete;

    Query &bind(int param, Bytes b)
    {
        // A NULL pointer would bind SQL NULL; an empty value is a blob.
        sqlite3_bind_blob(stmt_, param, b.empty() ? "" : b.data(), int(b.size()), SQLITE_STATIC);
        return *this;
    }
    Query &bind(int param, int64_t v)
    {
        sqlite3_bind_int64(stmt_, param, v);
        return *this;
    }
    Query &bind(int param, const GlobPattern &p);

    // Steps once; true when a row is available.
    bool step() { return c_.step(stmt_) == SQLITE_ROW; }
    // Steps once and returns the first column (0 when there is no row).
    int64_t scalar() { return step() ? column_int(0) : 0; }
    // Steps to completion (a write); returns the rows it changed.
    int64_t run()
    {
        while (c_.step(stmt_) == SQLITE_ROW) {
        }
        return sqlite3_changes(c_.db());
    }
    int64_t column_int(int col) const { return sqlite3_column_int64(stmt_, col); }
    Bytes column_blob(int col) const
    {
        const void *p = sqlite3_column_blob(stmt_, col);
        size_t n = size_t(sqlite3_column_bytes(stmt_, col));
        return n ? Bytes(static_cast<const char *>(p), n) : Bytes();
    }

private:
    SqliteConnection &c_;
    sqlite3_stmt *stmt_;
};

// Transaction: BEGIN (read) or BEGIN IMMEDIATE (write, so that the write
// lock is taken up front and waited for, never upgraded mid-way); rolls back
// unless commit() was reached.
class Transaction {
public:
    enum Mode { read, write };
    Transaction(SqliteConnection &c, Mode mode);
    ~Transaction();
    Transaction(const Transaction &) = delete;
    Transaction &operator=(const Transaction &) = delete;
    void commit();

private:
    SqliteConnection &c_;
    bool open_ = true;
};

} // namespace unicache
