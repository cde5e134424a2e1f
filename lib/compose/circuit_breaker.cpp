#include "compose/circuit_breaker.h"

#include "core/clock.h"
#include "core/log.h"
#include "unicache.h"

namespace unicache {

const char *breaker_state_name(CircuitBreaker::State s)
{
    switch (s) {
    case CircuitBreaker::State::closed:
        return "closed";
    case CircuitBreaker::State::open:
        return "open";
    case CircuitBreaker::State::half_open:
        return "half_open";
    }
    return "closed";
}

CircuitBreaker::Pass CircuitBreaker::pass()
{
    int s = state_.load(std::memory_order_acquire);
    if (s == int(State::closed))
        return Pass::go;
    if (s == int(State::half_open))
        return Pass::deny; // one probe at a time
    if (monotonic_ms() - opened_at_ms_.load(std::memory_order_relaxed) < reset_ms_)
        return Pass::deny;
    // Due: the caller that moves it to half-open is the probe.
    return state_.compare_exchange_strong(s, int(State::half_open)) ? Pass::probe : Pass::deny;
}

void CircuitBreaker::success(Pass how)
{
    consecutive_.store(0, std::memory_order_relaxed);
    if (how == Pass::probe) {
        state_.store(int(State::closed), std::memory_order_release);
        log_event(CACHE_LOG_WARN, [&] {
            return label_ + ": circuit breaker closed: the probe call succeeded, calls go through "
                            "again";
        });
    }
}

void CircuitBreaker::trip(bool probe)
{
    opened_at_ms_.store(monotonic_ms(), std::memory_order_relaxed);
    opened_count_.fetch_add(1, std::memory_order_relaxed);
    state_.store(int(State::open), std::memory_order_release);
    log_event(CACHE_LOG_WARN, [&] {
        return label_ + ": circuit breaker open" +
               (probe ? std::string(" again: the probe call failed")
                      : ": " + std::to_string(failures_) + " consecutive failures") +
               "; calls fail at once for " + std::to_string(reset_ms_) + " ms";
    });
}

void CircuitBreaker::failure(Pass how)
{
    if (how == Pass::probe) {
        trip(true);
        return;
    }
    if (consecutive_.fetch_add(1, std::memory_order_relaxed) + 1 < failures_)
        return;
    // Transitions are rare (a backend is failing): a lock keeps "opened"
    // counting outages, not the failed calls that were already in flight.
    std::lock_guard<std::mutex> lock(mu_);
    if (state_.load(std::memory_order_acquire) == int(State::closed))
        trip(false);
}

int64_t CircuitBreaker::retry_in_ms() const
{
    if (state() != State::open)
        return 0;
    int64_t left = reset_ms_ - (monotonic_ms() - opened_at_ms_.load(std::memory_order_relaxed));
    return left > 0 ? left : 0;
}

void CircuitBreaker::add_stats(StatsPart part) const
{
    part.text("state", breaker_state_name(state()));
    part.count("opened", opened());
    part.count("failures", consecutive_.load(std::memory_order_relaxed));
}

} // namespace unicache
