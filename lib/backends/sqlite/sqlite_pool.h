// SqlitePool: connections to one database, one per concurrent caller.
// SQLite connections are not shareable across threads at once, and WAL
// readers only run in parallel on separate connections, so each operation
// leases a connection for its duration.
//
// The lease is lock-free in the common case: every connection carries a busy
// flag, and a thread first tries the connection it used last (one atomic
// exchange to take it, one store to give it back). Only when that one is
// taken does it search the pool under a mutex, open another connection (up
// to the limit), or wait. Connections are never freed while the pool lives,
// so a thread's remembered pointer never dangles.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "sqlite_connection.h"

namespace unicache {

class SqlitePool {
    // One cache line each: threads flipping their own busy flags must not
    // contend for a line they happen to share.
    struct alignas(64) Slot {
        std::unique_ptr<SqliteConnection> conn;
        std::atomic<bool> busy{true};
    };

public:
    class Lease {
    public:
        Lease(SqlitePool *pool, Slot *slot) : pool_(pool), slot_(slot) {}
        Lease(Lease &&o) noexcept : pool_(o.pool_), slot_(o.slot_) { o.slot_ = nullptr; }
        Lease &operator=(Lease &&) = delete;
        ~Lease()
        {
            if (slot_)
                pool_->release(slot_);
        }
        SqliteConnection &operator*() const { return *slot_->conn; }
        SqliteConnection *operator->() const { return slot_->conn.get(); }

    private:
        SqlitePool *pool_;
        Slot *slot_;
    };

    // limit: most connections open at once (>= 1).
    SqlitePool(const SqliteOptions &opts, const SqlCatalog &sql, size_t limit);

    // A connection for one operation.
    Lease acquire()
    {
        Sticky &last = sticky();
        if (last.pool == id_ && !last.slot->busy.exchange(true, std::memory_order_acquire))
            return start(last.slot);
        return acquire_slow(last);
    }
    // Hands over an already opened connection (the one that set up the file).
    void adopt(std::unique_ptr<SqliteConnection> c);
    size_t open_count();

    // Before fork(): waits for every operation to end, keeps new ones
    // waiting and closes every connection (SQLite's per-process lock
    // bookkeeping must not reach the child with connections in it).
    // resume() lets operations go on; connections reopen as they are used.
    void suspend();
    void resume();

private:
    // The connection this thread used last, in the pool with this id.
    struct Sticky {
        uint64_t pool = 0;
        Slot *slot = nullptr;
    };
    static Sticky &sticky()
    {
        thread_local Sticky s;
        return s;
    }

    Lease acquire_slow(Sticky &last);
    Lease start(Slot *slot); // a claimed slot, reopened if suspend() closed it
    void release(Slot *slot);

    const SqliteOptions &opts_;
    const SqlCatalog &sql_;
    const size_t limit_;
    const uint64_t id_; // unique per pool for the life of the process

    std::mutex mu_;
    std::condition_variable free_cv_;
    std::atomic<int> waiters_{0};
    std::vector<std::unique_ptr<Slot>> slots_; // grows only, under mu_
    size_t live_ = 0;                          // slots with a usable connection, or opening
    size_t opening_ = 0;                       // connections being opened outside mu_
    bool suspended_ = false;                   // between suspend() and resume()
};

} // namespace unicache
