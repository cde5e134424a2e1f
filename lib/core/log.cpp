#include "core/log.h"

#include <pthread.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace unicache {

namespace log_detail {
std::atomic<int> min_level{0};
std::atomic<long> queued{0};
} // namespace log_detail

namespace {

constexpr size_t kMaxQueued = 1000;

struct Handler {
    cache_log_fn fn;
    void *ctx;
    // Deliveries to it running now, in any thread: set_log_handler waits
    // for them to end before it returns, so the caller may free ctx then.
    mutable std::atomic<int> active{0};
};

// Replaced whole, never edited: a delivery holds its own reference, so the
// handler is called with no lock held (a handler may set another).
std::shared_ptr<const Handler> g_handler;

// The handler this thread is delivering to, if any.
thread_local const Handler *t_delivering_to = nullptr;

struct Line {
    int level;
    std::string text;
};

// This thread's lines waiting for a safe point. Delivered at thread exit
// too, so a background thread's last lines are not lost.
struct Queue {
    std::vector<Line> lines;
    size_t dropped = 0;
    bool delivering = false;
    ~Queue()
    {
        if (!lines.empty() || dropped)
            flush();
    }
    void flush();
};

thread_local Queue t_queue;

void Queue::flush()
{
    if (delivering)
        return; // a handler's own calls: their lines wait for it to return
    delivering = true;
    std::vector<Line> batch;
    batch.swap(lines);
    size_t lost = dropped;
    dropped = 0;
    log_detail::queued.fetch_sub(long(batch.size()) + (lost ? 1 : 0), std::memory_order_relaxed);
    if (lost)
        batch.push_back({CACHE_LOG_WARN, "log: " + std::to_string(lost) +
                                             " lines were dropped (more than " +
                                             std::to_string(kMaxQueued) +
                                             " queued in one thread between deliveries)"});
    // Counted as active before it is used, and used only if it is still the
    // handler after that: a set_log_handler that replaced it either is seen
    // here (then try the new one) or sees this delivery and waits for it.
    std::shared_ptr<const Handler> h = std::atomic_load(&g_handler);
    while (h) {
        h->active.fetch_add(1);
        std::shared_ptr<const Handler> now = std::atomic_load(&g_handler);
        if (now == h)
            break;
        h->active.fetch_sub(1);
        h = std::move(now);
    }
    if (h) {
        t_delivering_to = h.get();
        for (const Line &l : batch) {
            // Turned off or lowered since it was queued: not delivered.
            if (!log_enabled(l.level))
                continue;
            h->fn(h->ctx, l.level, l.text.c_str());
        }
        t_delivering_to = nullptr;
        h->active.fetch_sub(1);
    }
    delivering = false;
}

// Returns once no thread is delivering to old. A handler that replaces the
// handler does not wait (its own delivery, or another handler doing the
// same, would wait for it forever).
void wait_for_deliveries(const std::shared_ptr<const Handler> &old)
{
    if (!old || t_queue.delivering)
        return;
    while (old->active.load() > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
}

// In a forked child only the forking thread's queue exists.
void after_fork_in_child()
{
    log_detail::queued.store(long(t_queue.lines.size()) + (t_queue.dropped ? 1 : 0),
                             std::memory_order_relaxed);
    // The parent's other threads' deliveries do not exist here.
    std::shared_ptr<const Handler> h = std::atomic_load(&g_handler);
    if (h)
        h->active.store(t_delivering_to == h.get() ? 1 : 0, std::memory_order_relaxed);
}

} // namespace

namespace log_detail {

void queue(int level, std::string message)
{
    Queue &q = t_queue;
    if (q.lines.size() >= kMaxQueued) {
        if (q.dropped++ == 0)
            queued.fetch_add(1, std::memory_order_relaxed); // the line that says so
        return;
    }
    q.lines.push_back({level, std::move(message)});
    queued.fetch_add(1, std::memory_order_relaxed);
}

void deliver()
{
    Queue &q = t_queue;
    if (q.lines.empty() && !q.dropped)
        return;
    try {
        q.flush();
    } catch (...) {
        // Out of memory for the line about dropped lines: they stay lost.
        q.delivering = false;
    }
}

} // namespace log_detail

void set_log_handler(cache_log_fn fn, void *ctx, int min_level)
{
    static std::once_flag fork_hook;
    std::call_once(fork_hook, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
    if (!fn || min_level < CACHE_LOG_ERROR) {
        log_detail::min_level.store(0, std::memory_order_relaxed);
        wait_for_deliveries(std::atomic_exchange(&g_handler, std::shared_ptr<const Handler>()));
        return;
    }
    // The handler first, then the level: a line that passes the level
    // check finds the handler it was meant for.
    auto replacement = std::make_shared<Handler>();
    replacement->fn = fn;
    replacement->ctx = ctx;
    std::shared_ptr<const Handler> old =
        std::atomic_exchange(&g_handler, std::shared_ptr<const Handler>(std::move(replacement)));
    log_detail::min_level.store(min_level, std::memory_order_relaxed);
    wait_for_deliveries(old);
}

} // namespace unicache
