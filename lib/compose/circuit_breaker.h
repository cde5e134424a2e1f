// CircuitBreaker: stops calls to a backend that keeps failing, so that they
// fail at once instead of each waiting for a timeout. After `failures`
// consecutive outage errors (CACHE_EUNAVAILABLE, CACHE_ETIMEOUT) it opens
// for `reset_ms`; then it lets exactly one call through (half-open) and
// closes when that call succeeds, or opens again when it fails. Generic
// plumbing: nothing in it knows what the protected backend is.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "core/stats_part.h"
#include "unicache.h"

namespace unicache {

class CircuitBreaker {
public:
    enum class State { closed, open, half_open };

    // label names the protected backend in log lines ("tier 2 (redis://h:6379/0)").
    CircuitBreaker(int failures, int64_t reset_ms, std::string label = "backend")
        : failures_(failures), reset_ms_(reset_ms), label_(std::move(label))
    {
    }

    // What a caller may do now.
    enum class Pass {
        go,    // closed: call it
        probe, // half-open and this caller is the one probe: call it, report
        deny,  // open (or another probe is in flight): do not call it
    };
    Pass pass();
    // Report the outcome of a call pass() let through. Any answer from the
    // backend (hit, miss, "not a number") is a success: it is up.
    void success(Pass how);
    void failure(Pass how);

    State state() const { return State(state_.load(std::memory_order_acquire)); }
    int64_t opened() const { return opened_count_.load(std::memory_order_relaxed); }
    // Milliseconds until the next probe may run (0 when closed or due).
    int64_t retry_in_ms() const;
    // "breaker": {"state": ..., "opened": N, "failures": N}
    void add_stats(StatsPart part) const;

    static bool is_outage(int status)
    {
        return status == CACHE_EUNAVAILABLE || status == CACHE_ETIMEOUT;
    }

private:
    void trip(bool probe);

    const int failures_;
    const int64_t reset_ms_;
    const std::string label_;
    std::atomic<int> state_{int(State::closed)};
    std::atomic<int> consecutive_{0};
    std::atomic<int64_t> opened_at_ms_{0};
    std::atomic<int64_t> opened_count_{0};
    std::mutex mu_;
};

const char *breaker_state_name(CircuitBreaker::State s);

} // namespace unicache
