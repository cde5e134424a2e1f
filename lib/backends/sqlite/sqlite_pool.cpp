#include "sqlite_pool.h"

#include <chrono>
#include <thread>

namespace unicache {

namespace {

std::atomic<uint64_t> g_next_pool_id{1};

} // namespace

SqlitePool::SqlitePool(const SqliteOptions &opts, const SqlCatalog &sql, size_t limit)
    : opts_(opts), sql_(sql), limit_(limit ? limit : 1),
      id_(g_next_pool_id.fetch_add(1, std::memory_order_relaxed))
{
}

SqlitePool::Lease SqlitePool::start(Slot *slot)
{
    Lease lease(this, slot); // given back if reopening throws
    if (!slot->conn->is_open())
        slot->conn->open();
    slot->conn->start_operation();
    return lease;
}

SqlitePool::Lease SqlitePool::acquire_slow(Sticky &last)
{
    std::unique_lock<std::mutex> lock(mu_);
    // Counted before looking, so a release that frees a connection after
    // our search sees us and wakes us (both sides use seq_cst).
    waiters_.fetch_add(1);
    for (;;) {
        for (auto &s : slots_) {
            if (suspended_)
                break;
            if (s->conn && !s->busy.load(std::memory_order_relaxed) &&
                !s->busy.exchange(true, std::memory_order_acquire)) {
                // The Slot, not `s`: once mu_ is let go, another thread's
                // push_back may move the vector that `s` lives in.
                Slot *slot = s.get();
                waiters_.fetch_sub(1);
                lock.unlock();
                last = Sticky{id_, slot};
                return start(slot);
            }
        }
        if (!suspended_ && live_ < limit_) {
            live_++;
            opening_++;
            waiters_.fetch_sub(1);
            lock.unlock();
            // Opening takes a while; other threads keep using the others.
            std::unique_ptr<SqliteConnection> c;
            try {
                c = std::make_unique<SqliteConnection>(opts_, sql_);
            } catch (...) {
                lock.lock();
                live_--;
                opening_--;
                free_cv_.notify_all();
                throw;
            }
            c->start_operation();
            auto slot = std::make_unique<Slot>(); // busy: ours
            slot->conn = std::move(c);
            Slot *raw = slot.get();
            lock.lock();
            slots_.push_back(std::move(slot));
            opening_--;
            free_cv_.notify_all(); // suspend() may wait for this open
            lock.unlock();
            last = Sticky{id_, raw};
            return Lease(this, raw);
        }
        // The timeout only guards against a missed wake-up; it never fires
        // in correct operation.
        free_cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
}

void SqlitePool::adopt(std::unique_ptr<SqliteConnection> c)
{
    auto slot = std::make_unique<Slot>();
    slot->conn = std::move(c);
    slot->busy.store(false);
    std::lock_guard<std::mutex> lock(mu_);
    slots_.push_back(std::move(slot));
    live_++;
}

void SqlitePool::release(Slot *slot)
{
    // A connection still inside a transaction (its rollback failed) would
    // hold locks for the next user: close it, and leave its slot busy for
    // good so that no thread takes it again.
    sqlite3 *db = slot->conn->db(); // NULL when reopening failed
    if (db && !sqlite3_get_autocommit(db)) {
        std::lock_guard<std::mutex> lock(mu_);
        slot->conn.reset();
        live_--;
        free_cv_.notify_one();
        return;
    }
    slot->busy.store(false);
    if (waiters_.load() > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        free_cv_.notify_one();
    }
}

void SqlitePool::suspend()
{
    if (opts_.in_memory())
        return; // closing would drop the data; no file locks to inherit
    std::unique_lock<std::mutex> lock(mu_);
    suspended_ = true;
    free_cv_.wait(lock, [this] { return opening_ == 0; });
    // Claim every slot: each in use is waited for. Not under mu_, which
    // release() may need to wake waiters.
    std::vector<Slot *> slots;
    for (auto &s : slots_)
        slots.push_back(s.get());
    lock.unlock();
    for (Slot *s : slots) {
        for (;;) {
            {
                std::lock_guard<std::mutex> guard(mu_);
                if (!s->conn)
                    break; // closed for good by release()
            }
            if (!s->busy.exchange(true, std::memory_order_acquire)) {
                s->conn->close();
                break;
            }
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
    }
}

void SqlitePool::resume()
{
    if (opts_.in_memory())
        return;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto &s : slots_)
        if (s->conn)
            s->busy.store(false, std::memory_order_release);
    suspended_ = false;
    free_cv_.notify_all();
}

size_t SqlitePool::open_count()
{
    std::lock_guard<std::mutex> lock(mu_);
    return live_;
}

} // namespace unicache
