// Log lines for operators (cache_set_log_handler). A line is formatted only
// when its level is on (one relaxed atomic load when logging is off), then
// queued in the thread that produced it and handed to the handler at that
// thread's next safe point: the end of the API call (capi's guard), or a
// point where a background thread holds no lock. So a line produced under a
// backend's lock never reaches the handler while that lock is held, and a
// handler may call back into the library.
#pragma once

#include <atomic>
#include <string>

#include "unicache.h"

namespace unicache {

namespace log_detail {
extern std::atomic<int> min_level; // 0: off
extern std::atomic<long> queued;   // lines queued in any thread, not yet delivered
void queue(int level, std::string message);
void deliver();
} // namespace log_detail

inline bool log_enabled(int level)
{
    return level <= log_detail::min_level.load(std::memory_order_relaxed);
}

// make() builds the message; it runs only when the level is on. Never put a
// password or a value in it.
template <typename Make> void log_event(int level, Make &&make)
{
    if (log_enabled(level))
        log_detail::queue(level, make());
}

// Delivers this thread's queued lines. Call only where this thread holds no
// lock of the library. Cheap when nothing is queued anywhere.
inline void deliver_log()
{
    if (log_detail::queued.load(std::memory_order_relaxed) > 0)
        log_detail::deliver();
}

void set_log_handler(cache_log_fn fn, void *ctx, int min_level);

} // namespace unicache
