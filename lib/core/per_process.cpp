#include "per_process.h"

#include <pthread.h>
#include <vector>

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
    static std::mutex mu;
    static auto *kept = new std::vector<const void *>();
    std::lock_guard<std::mutex> lock(mu);
    kept->push_back(p);
}

} // namespace unicache
