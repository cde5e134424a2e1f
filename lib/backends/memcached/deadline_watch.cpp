#include "deadline_watch.h"

#include <algorithm>
#include <chrono>

#include "connection_pool.h"
#include "core/clock.h"

namespace unicache {

namespace {

// The longest a call may overrun its deadline, and the shortest tick.
constexpr int64_t kMaxTickMs = 50;
constexpr int64_t kMinTickMs = 1;

void set_timeouts(memcached_st *mc, int32_t ms)
{
    __atomic_store_n(&mc->poll_timeout, ms, __ATOMIC_RELAXED);
    // A connect timeout of 0 could be read as "no timeout" by some path of
    // libmemcached: 1 ms is as good as nothing, and the poll timeout of 0
    // fails the call's first wait after connecting anyway.
    __atomic_store_n(&mc->connect_timeout, std::max<int32_t>(ms, 1), __ATOMIC_RELAXED);
}

} // namespace

DeadlineWatch::DeadlineWatch(const std::vector<Connection *> &conns, int64_t timeout_ms)
    : conns_(conns), timeout_ms_(timeout_ms),
      tick_ms_(std::max(kMinTickMs, std::min(kMaxTickMs, timeout_ms / 8)))
{
    thread_ = std::thread([this] { run(); });
}

DeadlineWatch::~DeadlineWatch()
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void DeadlineWatch::arm(Connection &c)
{
    // Disarmed: the watcher does not write c's handle now.
    c.mc->poll_timeout = int32_t(timeout_ms_);
    c.mc->connect_timeout = int32_t(timeout_ms_);
    c.deadline_ns.store(monotonic_ns() + timeout_ms_ * 1000000);
    // seq_cst with the watcher's idle_ store and scan: either its scan sees
    // this deadline, or this exchange sees it idle and wakes it.
    if (idle_.load() && idle_.exchange(false)) {
        std::lock_guard<std::mutex> lock(mu_);
        cv_.notify_one();
    }
}

void DeadlineWatch::disarm(Connection &c)
{
    std::lock_guard<std::mutex> lock(c.watch_mu);
    c.deadline_ns.store(0, std::memory_order_relaxed);
}

bool DeadlineWatch::tick()
{
    bool any = false;
    int64_t now = monotonic_ns();
    for (Connection *c : conns_) {
        if (c->deadline_ns.load() == 0)
            continue;
        std::lock_guard<std::mutex> lock(c->watch_mu);
        int64_t deadline = c->deadline_ns.load(std::memory_order_relaxed);
        if (deadline == 0)
            continue;
        any = true;
        int64_t left_ns = deadline - now;
        int64_t left_ms = left_ns <= 0 ? 0 : std::min(timeout_ms_, (left_ns + 999999) / 1000000);
        set_timeouts(c->mc, int32_t(left_ms));
    }
    return any;
}

void DeadlineWatch::run()
{
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
        lock.unlock();
        idle_.store(true);
        bool any = tick();
        lock.lock();
        if (any) {
            idle_.store(false);
            cv_.wait_for(lock, std::chrono::milliseconds(tick_ms_), [this] { return stop_; });
        } else {
            cv_.wait(lock, [this] { return stop_ || !idle_.load(); });
        }
    }
}

} // namespace unicache
