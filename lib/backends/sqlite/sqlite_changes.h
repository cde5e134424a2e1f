// SqliteChangeWatch: tells a ChangeListener which keys any connection, in
// any process, wrote to the cache's file, within change_poll_ms.
//
// SQLite pushes nothing to other processes, so the file carries a change
// log: the table "<t>.changes" (id INTEGER PRIMARY KEY, key), filled by
// triggers on the entries table for every insert, delete and rewrite of a
// value or expiry (not for the eviction clock's reference bits). The
// triggers run inside each writer's own transaction, so every writer logs
// (an older unicache, another language, the sqlite3 shell), a rolled-back
// write logs nothing, and ids follow commit order with no holes: SQLite has
// one writer at a time and gives each row max(id) + 1. The first process
// that watches creates the log and its triggers; until then writers pay
// nothing. Every kChangeLogTrimEvery-th logged change trims the log to the
// newest kChangeLogKeep (sqlite_sql.h), so it stays small whether or not
// anyone watches, and never loses its newest row (ids never go back).
//
// Each process that watches runs one thread that every change_poll_ms reads
// the rows after the last id it saw (one indexed query on a pooled
// connection, a few microseconds when nothing changed) and calls
// changed(key) for each. A first row past the next id means the log was
// trimmed past what this process saw: changed_all(). A failed poll makes
// notifications not live until a poll succeeds again (backend.h, 3).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/backend.h"
#include "core/per_process.h"
#include "sqlite_runtime.h"

namespace unicache {

class SqliteChangeWatch {
public:
    // Starts watching for listener (which outlives this object). first:
    // this process's first watch, made synchronously (the log is created
    // and the listener told it is live before the constructor returns;
    // throws Error when the file cannot take the log). A forked child
    // passes false and starts in the background.
    SqliteChangeWatch(const SqliteOptions &opts, PerProcess<SqliteRuntime> &runtime,
                      ChangeListener *listener, bool first);
    ~SqliteChangeWatch(); // stops the thread
    SqliteChangeWatch(const SqliteChangeWatch &) = delete;
    SqliteChangeWatch &operator=(const SqliteChangeWatch &) = delete;

    struct Counts {
        bool live = false;
        int64_t last_id = 0;    // newest change seen
        uint64_t polls = 0;     // polls that found something
        uint64_t changes = 0;   // keys told
        uint64_t overruns = 0;  // changed_all() for a trimmed log
        std::string last_error; // why the last poll failed
    };
    Counts counts() const;

private:
    void start(); // creates the log, learns its newest id, goes live
    void poll();  // one look at the log; throws Error
    void loop();
    void go_down(const std::string &why);

    const int64_t interval_ms_;
    PerProcess<SqliteRuntime> &runtime_;
    ChangeListener *listener_;
    bool live_ = false;
    int64_t last_id_ = 0;

    mutable std::mutex mu_; // counts_, stop_
    std::condition_variable cv_;
    bool stop_ = false;
    Counts counts_;
    std::thread thread_;
};

} // namespace unicache
