#include "core/thread_slot.h"

#include <pthread.h>

#include <functional>
#include <mutex>
#include <thread>

namespace unicache {
namespace thread_slot_detail {

__thread ThreadSlot t_slot __attribute__((tls_model("initial-exec"))) = {0, 0, 0};

namespace {

std::atomic<bool> g_owned[kOwnedSlots];
std::atomic<unsigned> g_next_shared{0};
std::atomic<unsigned> g_threads{0};

unsigned shared_slot()
{
    return kOwnedSlots + g_next_shared.fetch_add(1, std::memory_order_relaxed) % kSharedSlots;
}

// Runs at thread exit (pthread key destructor). A call the thread makes
// after this (another TLS destructor of its own) counts in a shared slot
// and claims nothing, so nothing is left claimed.
void release_slot(void *)
{
    unsigned s = t_slot.slot();
    t_slot.index = shared_slot() + 1;
    if (s < kOwnedSlots)
        g_owned[s].store(false, std::memory_order_release);
}

pthread_key_t g_release_key;

// In a fork's child only the forking thread exists: the other threads'
// slots are free again.
void after_fork_in_child()
{
    for (unsigned i = 0; i < kOwnedSlots; i++)
        if (t_slot.index != i + 1)
            g_owned[i].store(false, std::memory_order_relaxed);
}

void init_once()
{
    static std::once_flag once;
    std::call_once(once, [] {
        pthread_key_create(&g_release_key, release_slot);
        pthread_atfork(nullptr, nullptr, after_fork_in_child);
    });
}

} // namespace

ThreadSlot &claim() noexcept
{
    init_once();
    unsigned slot = kOwnedSlots;
    for (unsigned i = 0; i < kOwnedSlots; i++) {
        bool expected = false;
        if (!g_owned[i].load(std::memory_order_relaxed) &&
            g_owned[i].compare_exchange_strong(expected, true, std::memory_order_acquire)) {
            slot = i;
            break;
        }
    }
    if (slot == kOwnedSlots)
        slot = shared_slot();
    else
        pthread_setspecific(g_release_key, &t_slot); // any non-NULL value: the destructor runs
    ThreadSlot &t = t_slot;
    t.index = slot + 1;
    // Threads start their countdowns at different points, so that threads
    // started together are not all timed on the same call.
    unsigned n = g_threads.fetch_add(1, std::memory_order_relaxed);
    t.countdown = int(1 + n % 64);
    t.random = uint32_t(std::hash<std::thread::id>()(std::this_thread::get_id())) | 1;
    return t;
}

} // namespace thread_slot_detail
} // namespace unicache
