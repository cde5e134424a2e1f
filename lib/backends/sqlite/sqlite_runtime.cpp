#include "sqlite_runtime.h"

#include <pthread.h>
#include <vector>

namespace unicache {

namespace {

// Every runtime of this process, for the fork handlers. Leaked on purpose:
// a handle may be closed from a static destructor after these would be.
std::mutex &registry_mu()
{
    static auto *mu = new std::mutex();
    return *mu;
}

std::vector<SqliteRuntime *> &registry()
{
    static auto *all = new std::vector<SqliteRuntime *>();
    return *all;
}

} // namespace

std::mutex &SqliteRuntime::open_mutex()
{
    static auto *mu = new std::mutex();
    return *mu;
}

void SqliteRuntime::watch_forks()
{
    static std::once_flag once;
    std::call_once(once,
                   [] { pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); });
}

void SqliteRuntime::before_fork()
{
    open_mutex().lock();  // held through fork(), like the registry: no
    registry_mu().lock(); // handle opens and no runtime comes or goes
    for (SqliteRuntime *rt : registry()) {
        rt->pool.suspend(); // first: no reader is then inside the anchor
        rt->anchor.suspend();
    }
}

void SqliteRuntime::after_fork_in_parent()
{
    for (SqliteRuntime *rt : registry()) {
        rt->anchor.resume();
        rt->pool.resume();
    }
    registry_mu().unlock();
    open_mutex().unlock();
}

void SqliteRuntime::after_fork_in_child()
{
    // Every runtime here is the parent's: abandoned, never used again,
    // and left suspended. The child's own register as they are built.
    registry().clear();
    registry_mu().unlock();
    open_mutex().unlock();
}

SqliteRuntime::SqliteRuntime(const SqliteOptions &opts, const SqlCatalog &sql)
    : // One private database per :memory: handle, so a single connection.
      pool(opts, sql, opts.in_memory() ? 1 : 64), evictor(opts),
      anchor(opts, sql, opts.read_anchor), purge_interval_ms_(opts.purge_interval_ms)
{
    std::lock_guard<std::mutex> lock(registry_mu());
    registry().push_back(this);
}

SqliteRuntime::~SqliteRuntime()
{
    {
        std::lock_guard<std::mutex> lock(registry_mu());
        auto &all = registry();
        for (size_t i = 0; i < all.size(); i++)
            if (all[i] == this) {
                all[i] = all.back();
                all.pop_back();
                break;
            }
    }
    if (background_.joinable()) {
        {
            std::lock_guard<std::mutex> lock(background_mu_);
            stopping_ = true;
        }
        background_cv_.notify_all();
        background_.join();
    }
}

void SqliteRuntime::start_background()
{
    if (purge_interval_ms_ > 0 || anchor.enabled())
        background_ = std::thread([this] { background_loop(); });
}

void SqliteRuntime::background_loop()
{
    // An idle anchor pins the WAL of writers in other processes for at most
    // about two ticks.
    const auto tick = std::chrono::milliseconds(
        anchor.enabled() && (purge_interval_ms_ == 0 || purge_interval_ms_ > 100)
            ? 100
            : purge_interval_ms_);
    auto next_purge = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(background_mu_);
    while (!stopping_) {
        background_cv_.wait_for(lock, tick);
        if (stopping_)
            break;
        lock.unlock();
        anchor.release_if_idle();
        auto now = std::chrono::steady_clock::now();
        if (purge_interval_ms_ > 0 && now >= next_purge) {
            next_purge = now + std::chrono::milliseconds(purge_interval_ms_);
            try {
                auto c = pool.acquire();
                evictor.maintain(*c);
            } catch (...) {
                // Nobody to report to; the next pass tries again, and
                // callers see the same condition as a status on their own
                // operations.
            }
        }
        lock.lock();
    }
}

} // namespace unicache
