#include "core/log.h"

#include <pthread.h>

#include <memory>
#include <mutex>
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
};

// Replaced whole, never edited: a delivery holds its own reference, so the
// handler is called with no lock held (a handler may set another).
std::shared_ptr<const Handler> g_handler;

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
    std::shared_ptr<const Handler> h = std::atomic_load(&g_handler);
    for (const Line &l : batch) {
        // Turned off or lowered since it was queued: not delivered.
        if (!h || !log_enabled(l.level))
            continue;
        h->fn(h->ctx, l.level, l.text.c_str());
    }
    delivering = false;
}

// In a forked child only the forking thread's queue exists.
void after_fork_in_child()
{
    log_detail::queued.store(long(t_queue.lines.size()) + (t_queue.dropped ? 1 : 0),
                             std::memory_order_relaxed);
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
        std::atomic_store(&g_handler, std::shared_ptr<const Handler>());
        return;
    }
    // The handler first, then the level: a line that passes the level
    // check finds the handler it was meant for.
    std::atomic_store(&g_handler, std::make_shared<const Handler>(Handler{fn, ctx}));
    log_detail::min_level.store(min_level, std::memory_order_relaxed);
}

} // namespace unicache
