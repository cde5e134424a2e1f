#include "sqlite_pool.h"

namespace unicache {

SqlitePool::SqlitePool(const SqliteOptions &opts, const SqlCatalog &sql, size_t limit)
    : opts_(opts), sql_(sql), limit_(limit ? limit : 1)
{
}

SqlitePool::Lease SqlitePool::acquire()
{
    std::unique_lock<std::mutex> lock(mu_);
    while (idle_.empty() && open_ >= limit_)
        idle_cv_.wait(lock);
    if (!idle_.empty()) {
        std::unique_ptr<SqliteConnection> c = std::move(idle_.back());
        idle_.pop_back();
        lock.unlock();
        c->start_operation();
        return Lease(this, std::move(c));
    }
    open_++;
    lock.unlock();
    // Opening takes a while; other threads keep using the idle ones.
    try {
        auto c = std::make_unique<SqliteConnection>(opts_, sql_);
        c->start_operation();
        return Lease(this, std::move(c));
    } catch (...) {
        lock.lock();
        open_--;
        idle_cv_.notify_one();
        throw;
    }
}

void SqlitePool::adopt(std::unique_ptr<SqliteConnection> c)
{
    std::lock_guard<std::mutex> lock(mu_);
    open_++;
    idle_.push_back(std::move(c));
}

void SqlitePool::release(std::unique_ptr<SqliteConnection> c)
{
    // A connection still inside a transaction (its rollback failed) would
    // hold locks for the next user; close it instead of reusing it.
    bool healthy = sqlite3_get_autocommit(c->db()) != 0;
    if (!healthy)
        c.reset();
    std::lock_guard<std::mutex> lock(mu_);
    if (healthy)
        idle_.push_back(std::move(c));
    else
        open_--;
    idle_cv_.notify_one();
}

size_t SqlitePool::open_count()
{
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
}

} // namespace unicache
