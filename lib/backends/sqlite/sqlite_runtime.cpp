#include "sqlite_runtime.h"

#include <pthread.h>
#include <vector>

namespace unicache {

std::atomic<uint64_t> SqliteRuntime::forks_{0};

uint64_t SqliteRuntime::watch_forks()
{
    static std::once_flag once;
    std::call_once(once, [] {
        pthread_atfork(nullptr, nullptr, [] { forks_.fetch_add(1, std::memory_order_relaxed); });
    });
    return fork_generation();
}

void SqliteRuntime::abandon(SqliteRuntime *inherited)
{
    static std::mutex mu;
    static auto *abandoned = new std::vector<SqliteRuntime *>();
    std::lock_guard<std::mutex> lock(mu);
    abandoned->push_back(inherited);
}

SqliteRuntime::SqliteRuntime(const SqliteOptions &opts, const SqlCatalog &sql)
    : generation(watch_forks()),
      // One private database per :memory: handle, so a single connection.
      pool(opts, sql, opts.in_memory() ? 1 : 64), evictor(opts),
      purge_interval_ms_(opts.purge_interval_ms)
{
}

SqliteRuntime::~SqliteRuntime()
{
    if (purger_.joinable()) {
        {
            std::lock_guard<std::mutex> lock(purge_mu_);
            stopping_ = true;
        }
        purge_cv_.notify_all();
        purger_.join();
    }
}

void SqliteRuntime::start_purger()
{
    if (purge_interval_ms_ > 0)
        purger_ = std::thread([this] { purge_loop(); });
}

void SqliteRuntime::purge_loop()
{
    std::unique_lock<std::mutex> lock(purge_mu_);
    while (!stopping_) {
        purge_cv_.wait_for(lock, std::chrono::milliseconds(purge_interval_ms_));
        if (stopping_)
            break;
        lock.unlock();
        try {
            auto c = pool.acquire();
            evictor.maintain(*c);
        } catch (...) {
            // Nobody to report to; the next pass tries again, and callers
            // see the same condition as a status on their own operations.
        }
        lock.lock();
    }
}

} // namespace unicache
