// SqliteRuntime: the per-process half of a SQLite cache handle: its open
// connections, its eviction state, its read anchor and its background
// thread (expiry purge, and letting go of an idle anchor).
//
// A handle opened before fork() (a pre-forking server loads its app, then
// starts workers) must not use the parent's connections in the child:
// SQLite's POSIX locks are per process, and a connection carried across
// fork can corrupt the database. The backend therefore builds a fresh
// runtime in a child on first use and abandons the inherited one without
// touching it (its mutexes may have been held by a thread that does not
// exist in the child; closing its connections could release the parent's
// locks). The abandoned runtime stays reachable from a global list, so it
// is a deliberate, bounded cost rather than a leak.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "sqlite_anchor.h"
#include "sqlite_eviction.h"
#include "sqlite_pool.h"

namespace unicache {

class SqliteRuntime {
public:
    // The number of fork()s this process descends from since the first
    // SQLite handle was opened; a runtime built under another number
    // belongs to an ancestor process.
    static uint64_t fork_generation() { return forks_.load(std::memory_order_relaxed); }
    // Keeps an inherited runtime reachable, never to be used or destroyed.
    static void abandon(SqliteRuntime *inherited);

    SqliteRuntime(const SqliteOptions &opts, const SqlCatalog &sql);
    ~SqliteRuntime(); // stops the thread, then closes the connections
    SqliteRuntime(const SqliteRuntime &) = delete;
    SqliteRuntime &operator=(const SqliteRuntime &) = delete;

    // Starts the background thread, when there is work for it.
    void start_background();

    const uint64_t generation;
    SqlitePool pool;
    ClockEvictor evictor;
    ReadAnchor anchor; // after pool: closed first

private:
    static std::atomic<uint64_t> forks_;
    static uint64_t watch_forks(); // registers the counter, once; returns it
    void background_loop();

    const int64_t purge_interval_ms_;
    std::mutex background_mu_;
    std::condition_variable background_cv_;
    bool stopping_ = false;
    std::thread background_;
};

} // namespace unicache
