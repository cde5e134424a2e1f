// ClockEvictor: keeps one table within max_items and max_size_mb, and
// purges expired rows.
//
// Policy: expired rows go first; then CLOCK (second chance) in rowid order.
// A row is "referenced" when it is rewritten (the write sets its ref bit in
// the same row update) or read (the hit is remembered in a small lossy
// in-memory table and written back in bulk just before the next eviction,
// so a get never becomes a write transaction). The hand walks rowids from
// the oldest row: a referenced row loses its bit and stays, an unreferenced
// row is evicted. This approximates LRU without a write per read, which
// matters here: WAL readers never wait for anything, writers queue for one
// lock shared by every process.
//
// Checking is amortised: counting rows is O(n), so it runs when this
// handle has written max_items/64 rows since the last count, or when the
// rowid of its last insert shows that the table (all processes included)
// may have grown past the limit. Eviction then goes down to 63/64 of the
// limit so that the next count is again max_items/64 writes away.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "sqlite_connection.h"

namespace unicache {

class ClockEvictor {
public:
    explicit ClockEvictor(const SqliteOptions &opts);

    bool bounded() const { return bounded_; }
    // A read hit on a row whose ref bit is clear. Lock-free and lossy.
    void note_reference(int64_t rowid)
    {
        if (bounded_)
            marks_[size_t(rowid) & (kMarks - 1)].store(rowid, std::memory_order_relaxed);
    }
    // After a committed write of about `bytes` on c: enforces the limits if
    // the cheap bounds say they may be exceeded. Never throws: the write
    // succeeded, and a failed check is retried by the next write or by the
    // background thread.
    void after_write(SqliteConnection &c, size_t bytes) noexcept;
    // Background pass: purges expired rows (each batch its own short
    // transaction) and, when bounded, enforces the limits now.
    void maintain(SqliteConnection &c);

    int64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
    int64_t expirations() const { return expirations_.load(std::memory_order_relaxed); }

private:
    static constexpr size_t kMarks = 4096;
    static constexpr int64_t kPurgeBatch = 1000;

    void enforce(SqliteConnection &c); // under enforce_mu_
    bool check_due(SqliteConnection &c) const noexcept;
    int64_t purge_expired(SqliteConnection &c, int64_t now, int64_t limit);
    void flush_marks(SqliteConnection &c);
    // Evicts until `rows` rows are gone or `bytes` bytes of keys and values
    // are freed (whichever is asked for). Returns rows evicted.
    int64_t evict(SqliteConnection &c, int64_t rows, int64_t bytes);

    const bool bounded_;
    const int64_t max_items_, max_bytes_;
    const int64_t item_slack_, byte_slack_;
    std::unique_ptr<std::atomic<int64_t>[]> marks_;

    std::atomic<int64_t> writes_since_check_{0};
    std::atomic<int64_t> bytes_since_check_{0};
    // Rows that may still be inserted before the table can exceed
    // max_items, counted from rowid rowid_at_check_. -1: not known yet.
    std::atomic<int64_t> insert_budget_{-1};
    std::atomic<int64_t> rowid_at_check_{0};
    // Bytes this handle may write before the pages in use are measured
    // again: half the room the last check left (max_size_mb only).
    std::atomic<int64_t> byte_budget_{4096};

    std::mutex enforce_mu_;
    int64_t hand_ = 0; // rowid the clock hand last passed (under enforce_mu_)

    std::atomic<int64_t> evictions_{0};
    std::atomic<int64_t> expirations_{0};
};

} // namespace unicache
