#include "redis_pool.h"

#include <chrono>

#include "core/clock.h"

namespace unicache {

RedisPool::RedisPool(const RedisOptions &opts, RedisLocator *locator)
    : opts_(opts), locator_(locator)
{
    // Never grows past pool_size, so give_back() never allocates.
    idle_.reserve(opts.pool_size);
}

void RedisPool::locate(int64_t deadline_ns)
{
    RedisEndpoint found = locator_->locate(deadline_ns);
    std::lock_guard<std::mutex> lock(mu_);
    if (!endpoint_ || endpoint_->host != found.host || endpoint_->port != found.port) {
        endpoint_ = std::make_shared<const RedisEndpoint>(std::move(found));
        generation_.fetch_add(1, std::memory_order_relaxed);
    }
    relocate_.store(false);
}

RedisPool::Lease RedisPool::acquire(bool verify, int64_t deadline_ns)
{
    if (locator_ && relocate_.load())
        locate(deadline_ns);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (!idle_.empty()) {
            std::unique_ptr<RedisConnection> c = std::move(idle_.back());
            idle_.pop_back();
            lock.unlock();
            c->set_deadline(deadline_ns); // a health-check PING is part of the call
            bool ok = false;
            try {
                ok = healthy(*c, verify);
            } catch (...) {
                drop(std::move(c));
                throw;
            }
            if (ok)
                return Lease(this, std::move(c));
            replaced_.fetch_add(1, std::memory_order_relaxed);
            drop(std::move(c));
            lock.lock();
            continue;
        }
        if (open_ < opts_.pool_size) {
            open_++;
            std::shared_ptr<const RedisEndpoint> endpoint = endpoint_;
            uint64_t generation = generation_.load(std::memory_order_relaxed);
            lock.unlock();
            try {
                std::unique_ptr<RedisConnection> c =
                    RedisConnection::open(opts_, deadline_ns, endpoint.get());
                c->epoch = epoch_.load(std::memory_order_relaxed);
                c->generation = generation;
                connects_.fetch_add(1, std::memory_order_relaxed);
                return Lease(this, std::move(c));
            } catch (...) {
                lock.lock();
                open_--;
                cv_.notify_one();
                throw;
            }
        }
        int64_t now = monotonic_ns();
        if (now >= deadline_ns)
            fail(CACHE_ETIMEOUT, opts_.where + ": all " + std::to_string(opts_.pool_size) +
                                     " connections stayed busy for " +
                                     std::to_string(opts_.timeout_ms) +
                                     " ms (timeout_ms); raise pool_size");
        cv_.wait_for(lock, std::chrono::nanoseconds(deadline_ns - now));
    }
}

bool RedisPool::healthy(RedisConnection &c, bool verify)
{
    if (locator_ && c.generation != generation_.load(std::memory_order_relaxed))
        return false; // a connection to where the server was
    uint64_t epoch = epoch_.load(std::memory_order_relaxed);
    if (verify || c.epoch != epoch) {
        if (c.stale())
            return false;
        c.epoch = epoch;
    }
    if (opts_.health_check_interval_ms > 0 &&
        monotonic_ms() - c.last_used_ms >= opts_.health_check_interval_ms) {
        try {
            c.command({"PING"});
            c.status("PING");
        } catch (const RedisIoError &e) {
            // A stalled server is the caller's answer; a closed connection
            // is only replaced.
            if (e.status() == CACHE_ETIMEOUT)
                throw;
            return false;
        }
    }
    return true;
}

void RedisPool::note_failure()
{
    epoch_.fetch_add(1, std::memory_order_relaxed);
    failures_.fetch_add(1, std::memory_order_relaxed);
    if (locator_)
        relocate_.store(true);
}

void RedisPool::relocate()
{
    if (locator_)
        relocate_.store(true);
}

void RedisPool::give_back(std::unique_ptr<RedisConnection> c) noexcept
{
    if (c->broken() || c->pending()) {
        drop(std::move(c));
        return;
    }
    if (opts_.health_check_interval_ms > 0)
        c->last_used_ms = monotonic_ms();
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(c));
    cv_.notify_one();
}

void RedisPool::drop(std::unique_ptr<RedisConnection> c) noexcept
{
    c.reset(); // closes the socket outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    open_--;
    cv_.notify_one();
}

RedisPool::Counts RedisPool::counts()
{
    Counts n;
    {
        std::lock_guard<std::mutex> lock(mu_);
        n.open = open_;
        n.idle = idle_.size();
    }
    n.connects = connects_.load(std::memory_order_relaxed);
    n.failures = failures_.load(std::memory_order_relaxed);
    n.replaced = replaced_.load(std::memory_order_relaxed);
    return n;
}

} // namespace unicache
