#include "sqlite_eviction.h"

#include <algorithm>
#include <vector>

#include "core/clock.h"
#include "core/error.h"

namespace unicache {

ClockEvictor::ClockEvictor(const SqliteOptions &opts)
    : bounded_(opts.bounded()), max_items_(opts.max_items), max_bytes_(opts.max_size_bytes),
      item_slack_(opts.max_items / 64), byte_slack_(opts.max_size_bytes / 64)
{
    if (bounded_) {
        marks_.reset(new std::atomic<int64_t>[kMarks]);
        for (size_t i = 0; i < kMarks; i++)
            marks_[i].store(0, std::memory_order_relaxed);
    }
}

void ClockEvictor::after_write(SqliteConnection &c, size_t bytes) noexcept
{
    if (!bounded_)
        return;
    writes_since_check_.fetch_add(1, std::memory_order_relaxed);
    bytes_since_check_.fetch_add(int64_t(bytes), std::memory_order_relaxed);
    if (!check_due(c))
        return;
    // Wait for an enforcer that is running (another thread, the background
    // pass): it may have measured before this write, and returning would
    // leave the table over the limit until some later write. What it
    // measured it takes off the counters, so what is still due after it is
    // this handle's writes since.
    std::unique_lock<std::mutex> lock(enforce_mu_);
    if (!check_due(c))
        return;
    try {
        c.start_operation(); // its own busy_timeout_ms, not what the write left
        enforce(c);
    } catch (...) {
        // Retried by the next write or the background pass.
    }
}

bool ClockEvictor::check_due(SqliteConnection &c) const noexcept
{
    bool due = false;
    if (max_items_) {
        int64_t grown =
            sqlite3_last_insert_rowid(c.db()) - rowid_at_check_.load(std::memory_order_relaxed);
        due = writes_since_check_.load(std::memory_order_relaxed) >=
                  std::max<int64_t>(item_slack_, 1) ||
              grown > insert_budget_.load(std::memory_order_relaxed);
    }
    if (max_bytes_)
        due = due || bytes_since_check_.load(std::memory_order_relaxed) >=
                         byte_budget_.load(std::memory_order_relaxed);
    return due;
}

void ClockEvictor::maintain(SqliteConnection &c)
{
    int64_t now = wall_ms();
    // A read first: most passes find nothing, and then take no write lock
    // that writers of other processes would have to wait for. Then one
    // short transaction per batch, so a large purge never holds them up.
    if (Query(c, Sql::any_expired).bind(kNow, now).scalar())
        for (int round = 0; round < 100; round++)
            if (purge_expired(c, now, kPurgeBatch) < kPurgeBatch)
                break;
    if (!bounded_)
        return;
    std::lock_guard<std::mutex> lock(enforce_mu_);
    // Counting is O(n): skip it when neither this handle wrote since the
    // last check nor the table can have outgrown the limits by others'
    // writes (new rows take new rowids; pages in use are in the header).
    bool others_grew = (max_items_ && Query(c, Sql::max_rowid).scalar() -
                                              rowid_at_check_.load(std::memory_order_relaxed) >
                                          insert_budget_.load(std::memory_order_relaxed)) ||
                       (max_bytes_ && Query(c, Sql::page_usage).scalar() > max_bytes_);
    if (writes_since_check_.load(std::memory_order_relaxed) > 0 || others_grew)
        enforce(c);
}

int64_t ClockEvictor::purge_expired(SqliteConnection &c, int64_t now, int64_t limit)
{
    int64_t n = Query(c, Sql::purge_expired).bind(kNow, now).bind(kValue, limit).run();
    expirations_.fetch_add(n, std::memory_order_relaxed);
    return n;
}

void ClockEvictor::flush_marks(SqliteConnection &c)
{
    for (size_t i = 0; i < kMarks; i++) {
        int64_t rowid = marks_[i].exchange(0, std::memory_order_relaxed);
        // A rowid reused by another key since the hit marks that key: the
        // bit is a hint, and a wrong hint only costs one second chance.
        if (rowid)
            Query(c, Sql::mark_ref).bind(kKey, rowid).run();
    }
}

void ClockEvictor::enforce(SqliteConnection &c)
{
    Transaction tx(c, Transaction::write);
    // What this check covers: every write counted so far has committed (a
    // write is counted after its commit, and we hold the write lock now).
    // Writes counted later stay counted for the next check; a reset to 0
    // after the commit would drop those of other threads in between.
    const int64_t writes_seen = writes_since_check_.load(std::memory_order_relaxed);
    const int64_t bytes_seen = bytes_since_check_.load(std::memory_order_relaxed);
    flush_marks(c);
    purge_expired(c, wall_ms(), 10 * kPurgeBatch);
    int64_t rows = 0;
    if (max_items_) {
        rows = Query(c, Sql::count_rows).scalar();
        if (rows > max_items_)
            rows -= evict(c, rows - (max_items_ - item_slack_), 0);
    }
    if (max_bytes_) {
        // Pages in use fall more slowly than the bytes removed (index
        // pages, partly filled pages), so measure again after each round,
        // until 63/64 of the limit (aiming at 62/64). The next check is due
        // after half the room left in bytes written: pages grow faster than
        // the bytes written (a page's free space, the key index), so a
        // fixed 1/64 let the pages in use end a page or more over the limit.
        int64_t used = Query(c, Sql::page_usage).scalar();
        for (int round = 0; round < 16 && used > max_bytes_ - byte_slack_; round++) {
            int64_t goal = used - (max_bytes_ - 2 * byte_slack_);
            int64_t gone = evict(c, 0, goal + goal / 4);
            rows -= gone;
            if (gone == 0)
                break;
            used = Query(c, Sql::page_usage).scalar();
        }
        byte_budget_.store(std::max<int64_t>(1024, (max_bytes_ - used) / 2),
                           std::memory_order_relaxed);
    }
    int64_t top = Query(c, Sql::max_rowid).scalar();
    tx.commit();
    if (max_items_) {
        rowid_at_check_.store(top, std::memory_order_relaxed);
        insert_budget_.store(max_items_ - rows, std::memory_order_relaxed);
    }
    writes_since_check_.fetch_sub(writes_seen, std::memory_order_relaxed);
    bytes_since_check_.fetch_sub(bytes_seen, std::memory_order_relaxed);
}

int64_t ClockEvictor::evict(SqliteConnection &c, int64_t rows, int64_t bytes)
{
    struct Row {
        int64_t rowid, ref, size;
    };
    std::vector<Row> batch;
    int64_t evicted = 0, freed = 0;
    // Classic CLOCK may sweep the whole table clearing bits before it finds
    // a victim; cap the second chances per call so one eviction stays short.
    int64_t chances = 4 * std::max<int64_t>(rows, 256);
    int wraps = 0;
    auto done = [&] { return rows ? evicted >= rows : freed >= bytes; };
    while (!done()) {
        batch.clear();
        {
            Query q(c, Sql::clock_scan);
            q.bind(kKey, hand_).bind(kValue, int64_t(256));
            while (q.step())
                batch.push_back(Row{q.column_int(0), q.column_int(1), q.column_int(2)});
        }
        if (batch.empty()) {
            if (++wraps > 2)
                break; // the table is empty
            hand_ = 0;
            continue;
        }
        for (const Row &r : batch) {
            hand_ = r.rowid;
            if (r.ref && chances > 0) {
                chances--;
                Query(c, Sql::clear_ref).bind(kKey, r.rowid).run();
                continue;
            }
            Query(c, Sql::delete_rowid).bind(kKey, r.rowid).run();
            evicted++;
            freed += r.size;
            if (done())
                break;
        }
    }
    evictions_.fetch_add(evicted, std::memory_order_relaxed);
    return evicted;
}

} // namespace unicache
