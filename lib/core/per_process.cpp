#include "per_process.h"

#include <pthread.h>

namespace unicache {

namespace {

std::atomic<uint64_t> g_forks{0};

} // namespace

uint64_t fork_generation()
{
    static const int registered =
        pthread_atfork(nullptr, nullptr, [] { g_forks.fetch_add(1, std::memory_order_relaxed); });
    (void)registered;
    return g_forks.load(std::memory_order_relaxed);
}

void keep_abandoned(const void *p)
{
    // Lock-free: a mutex held by another thread at a fork() would stay
    // locked in the child, and children are where this runs.
    struct Kept {
        const void *p;
        Kept *next;
    };
    static std::atomic<Kept *> kept{nullptr};
    auto *k = new Kept{p, kept.load(std::memory_order_relaxed)};
    while (!kept.compare_exchange_weak(k->next, k, std::memory_order_release,
                                       std::memory_order_relaxed)) {
    }
}

} // namespace unicache
