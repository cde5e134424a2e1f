// ReadAnchor: one connection per process that keeps a WAL read transaction
// open, so that the point reads of the pool's connections make no locking
// system call.
//
// A read transaction in WAL mode takes a shared lock on a "read mark" slot of
// the -shm file and drops it at the end: two fcntl() calls, about half the
// time of a cached point read on this kind of machine (a bare prepared SELECT
// by primary key: 1.9 us alone, 1.0 us while another connection of the
// process holds a read transaction). SQLite's unix VFS counts those locks
// within a process and only calls fcntl() for the first holder of a slot and
// the last to let go; while the anchor holds the slot that the other readers
// pick (the newest mark), their locks are counter updates.
//
// An open read transaction pins a snapshot, which has two costs the anchor
// keeps bounded:
// - A checkpoint cannot copy WAL frames past it, and the WAL cannot start
//   over from its beginning while it holds a read mark: a WAL that is never
//   fully checkpointed grows without end. So the anchor only holds while
//   the WAL is quiet. A read that sees the WAL move (a commit, a checkpoint
//   or a restart, in the wal-index header read from SQLite's shared mapping
//   with no lock and no system call) lets the anchor go, and it holds again
//   only once the WAL stayed unchanged for kQuietNs (50 ms: with 2 ms, a
//   writer stalled by a loaded machine let it hold between commits often
//   enough to double the WAL against plain SQLite): busy writers see plain
//   SQLite, with their checkpoints never cut short by it. A checkpoint that
//   the previous snapshot did cut short (the WAL past wal_autocheckpoint
//   with frames left to copy) is finished, PASSIVE, before holding again.
// - An idle process must not pin the WAL of writers elsewhere: the
//   runtime's background thread calls release_if_idle(), which lets go
//   when no read came since its previous call.
// Correctness never depends on the anchor: each read still runs its own
// transaction on its own connection and sees every commit before it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "sqlite_connection.h"

namespace unicache {

class ReadAnchor {
public:
    // Opens the anchor's connection when `enabled` (a file database, and
    // read_anchor=true). Any failure leaves the anchor off: it is an
    // optimisation, and the pool reports real problems on real operations.
    ReadAnchor(const SqliteOptions &opts, const SqlCatalog &sql, bool enabled);
    ~ReadAnchor();
    ReadAnchor(const ReadAnchor &) = delete;
    ReadAnchor &operator=(const ReadAnchor &) = delete;

    // Called by each point read, with its pooled connection leased (so that
    // SqliteRuntime's fork handling, which waits for every lease, never
    // closes the anchor under it): lets the anchor go when the WAL moved
    // since its snapshot, takes it again once the WAL is quiet. A few loads
    // when nothing changed.
    void before_read()
    {
        if (!header_)
            return;
        if (!used_.load(std::memory_order_relaxed))
            used_.store(true, std::memory_order_relaxed);
        if (held_head_.load(std::memory_order_relaxed) != wal_head())
            renew();
    }
    // Lets go of the snapshot when no read came since the previous call.
    void release_if_idle();
    bool enabled() const { return header_ != nullptr; }
    // Around fork(): suspend() closes the connection and keeps the anchor
    // locked; resume() reopens it (in the parent).
    void suspend();
    void resume();

private:
    static constexpr uint64_t kNotHeld = ~uint64_t(0);
    // How long the WAL must stay unchanged before the anchor holds again,
    // and the pause after SQLite refused it a snapshot.
    static constexpr int64_t kQuietNs = 50 * 1000 * 1000;
    static constexpr int64_t kRetryNs = 10 * 1000 * 1000;

    // Where a new reader's snapshot starts: the wal-index header's change
    // counter and last valid frame, and whether every frame is checkpointed.
    // A new value on every commit, WAL restart and completed checkpoint.
    uint64_t wal_head() const;
    bool checkpoint_due() const;
    void renew();
    bool begin(); // starts the read transaction; false when SQLite refused
    void end();   // ends it, if one is open
    bool map_header();
    void open();  // when wanted; leaves the anchor off if anything fails
    void close(); // statements and connection gone

    const SqliteOptions &opts_;
    const SqlCatalog &sql_;
    const bool wanted_; // read_anchor=true and a file database
    std::unique_ptr<SqliteConnection> conn_;
    sqlite3_stmt *begin_ = nullptr;
    sqlite3_stmt *touch_ = nullptr; // reads the header: the snapshot starts here
    sqlite3_stmt *commit_ = nullptr;
    const volatile unsigned char *header_ = nullptr; // -shm region 0, SQLite's mapping
    const int64_t autocheckpoint_;                   // pages; 0: checkpoints are the user's

    std::mutex mu_; // the connection; readers only try_lock
    std::atomic<uint64_t> held_head_{kNotHeld};
    std::atomic<bool> used_{false};
    uint64_t quiet_head_ = kNotHeld; // under mu_: the WAL head last seen to change
    int64_t quiet_since_ns_ = 0;     // under mu_: when it changed
};

} // namespace unicache
