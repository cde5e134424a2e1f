// SqliteRuntime: the per-process half of a SQLite cache handle: its open
// connections, its eviction state, its read anchor and its background
// thread (expiry purge, and letting go of an idle anchor).
//
// A handle opened before fork() (a pre-forking server loads its app, then
// starts workers) must not use the parent's connections in the child:
// SQLite's POSIX locks are per process, and a connection carried across
// fork can corrupt the database. The backend therefore keeps its runtime
// in a PerProcess: a child builds a fresh one on first use and abandons the
// inherited one without touching it (its mutexes may have been held by a
// thread that does not exist in the child; closing its connections could
// release the parent's locks).
//
// That alone is not enough: SQLite's unix VFS keeps per-process lock
// bookkeeping (which connections hold which lock on which file), and a
// child inherits it without the locks. A child's new connection to a file
// that the parent had open would count on the parent's locks, so it takes
// none itself, and the parent's last close would then checkpoint and delete
// the WAL under the child (lost writes, tested). So a pthread_atfork
// handler waits for the operations in flight, closes every connection of
// every runtime (the bookkeeping then forgets the files) and keeps them
// closed through fork(); the parent reopens them as it uses them.
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
    // Registers the fork handlers, once.
    static void watch_forks();
    // Held while connections are opened outside a registered runtime (a
    // handle's first one, a runtime's construction): fork() waits for it.
    static std::mutex &open_mutex();

    SqliteRuntime(const SqliteOptions &opts, const SqlCatalog &sql);
    ~SqliteRuntime(); // stops the thread, then closes the connections
    SqliteRuntime(const SqliteRuntime &) = delete;
    SqliteRuntime &operator=(const SqliteRuntime &) = delete;

    // Starts the background thread, when there is work for it.
    void start_background();

    SqlitePool pool;
    ClockEvictor evictor;
    ReadAnchor anchor; // after pool: closed first

private:
    static void before_fork();
    static void after_fork_in_parent();
    static void after_fork_in_child();
    void background_loop();

    const int64_t purge_interval_ms_;
    std::mutex background_mu_;
    std::condition_variable background_cv_;
    bool stopping_ = false;
    std::thread background_;
};

} // namespace unicache
