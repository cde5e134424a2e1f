// LinkHealth: whether a network backend's server answers, as its log lines
// tell it: one "connection lost" when calls start failing, one "connection
// restored" (with how long it was down) when one succeeds again, and a line
// per retry. Lines only: statistics are the pool's. answered() is one
// relaxed load on the hot path.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/log.h"

namespace unicache {

class LinkHealth {
public:
    // where: how lines name the server ("redis 10.0.0.5:6379 db 0"); never a
    // password.
    explicit LinkHealth(std::string where) : where_(std::move(where)) {}

    // A call got its answer.
    void answered()
    {
        if (down_.load(std::memory_order_relaxed))
            restored();
    }
    // A call failed for want of the server; why is the error's message.
    void failed(const std::string &why)
    {
        if (down_.load(std::memory_order_relaxed) || down_.exchange(true))
            return;
        since_ms_.store(monotonic_ms(), std::memory_order_relaxed);
        log_event(CACHE_LOG_WARN, [&] { return where_ + ": connection lost: " + detail(why); });
    }
    void retrying(int64_t delay_ms, int attempt, int max_retries) const
    {
        log_event(CACHE_LOG_INFO, [&] {
            return where_ + ": retrying in " + std::to_string(delay_ms) + " ms (retry " +
                   std::to_string(attempt) + " of " + std::to_string(max_retries) + ")";
        });
    }
    bool down() const { return down_.load(std::memory_order_relaxed); }

private:
    void restored()
    {
        if (!down_.exchange(false))
            return;
        int64_t ms = monotonic_ms() - since_ms_.load(std::memory_order_relaxed);
        log_event(CACHE_LOG_WARN, [&] {
            return where_ + ": connection restored after " + std::to_string(ms) + " ms";
        });
    }
    // The error's words without our own name in front.
    std::string detail(const std::string &why) const
    {
        if (why.compare(0, where_.size(), where_) == 0 && why.compare(where_.size(), 2, ": ") == 0)
            return why.substr(where_.size() + 2);
        return why;
    }

    const std::string where_;
    std::atomic<bool> down_{false};
    std::atomic<int64_t> since_ms_{0};
};

} // namespace unicache
