#include "capi/in_flight.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <new>
#include <thread>

namespace unicache {
namespace in_flight_detail {

__thread ThreadRecord *t_record __attribute__((tls_model("initial-exec"))) = nullptr;
std::atomic<bool> g_fence_on_enter{true};

namespace {

std::atomic<ThreadRecord *> g_records{nullptr};

long membarrier(int cmd)
{
    return syscall(__NR_membarrier, cmd, 0, 0);
}

// Whether the closer's membarrier() stands in for the readers' fences.
// Registered once per process (again in a fork's child, which may be a new
// mm to the kernel).
void register_barrier()
{
    bool ok = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
    g_fence_on_enter.store(!ok, std::memory_order_seq_cst);
}

// In a fork's child only the forking thread exists: the records of the
// others are free again, and the calls they were inside will never end, so
// a close in the child must not wait for them.
void after_fork_in_child()
{
    for (ThreadRecord *r = g_records.load(std::memory_order_acquire); r; r = r->next) {
        if (r == t_record)
            continue;
        r->inside.store(nullptr, std::memory_order_relaxed);
        r->claimed.store(false, std::memory_order_relaxed);
    }
    register_barrier();
}

// Gives the record back when its thread ends. A pthread key, not a
// thread_local with a destructor: glibc allocates a node per thread for
// those, and in a fork's child the nodes of the parent's other threads are
// leaks (LeakSanitizer fails the child).
pthread_key_t g_release_key;

void release_record(void *record)
{
    static_cast<ThreadRecord *>(record)->claimed.store(false, std::memory_order_release);
    t_record = nullptr;
}

void init_once()
{
    static std::once_flag once;
    std::call_once(once, [] {
        register_barrier();
        pthread_key_create(&g_release_key, release_record);
        pthread_atfork(nullptr, nullptr, after_fork_in_child);
    });
}

} // namespace

ThreadRecord *attach_thread() noexcept
{
    init_once();
    ThreadRecord *mine = nullptr;
    for (ThreadRecord *r = g_records.load(std::memory_order_acquire); r && !mine; r = r->next) {
        bool expected = false;
        if (r->claimed.compare_exchange_strong(expected, true, std::memory_order_acquire))
            mine = r;
    }
    if (!mine) {
        mine = new (std::nothrow) ThreadRecord();
        if (!mine)
            return nullptr;
        mine->claimed.store(true, std::memory_order_relaxed);
        ThreadRecord *head = g_records.load(std::memory_order_relaxed);
        do {
            mine->next = head;
        } while (!g_records.compare_exchange_weak(head, mine, std::memory_order_release,
                                                  std::memory_order_relaxed));
    }
    pthread_setspecific(g_release_key, mine);
    t_record = mine;
    return mine;
}

} // namespace in_flight_detail

void InFlight::wait_idle() const noexcept
{
    using namespace in_flight_detail;
    init_once();
    // Every other thread's stores before this point are now visible to us;
    // a thread not yet inside a call will see whatever this thread did
    // before (nothing it may rely on: a call starting now is a bug).
    if (!g_fence_on_enter.load(std::memory_order_seq_cst) &&
        membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        g_fence_on_enter.store(true, std::memory_order_seq_cst); // not reached in practice
    std::atomic_thread_fence(std::memory_order_seq_cst);
    int spins = 0;
    auto pause = [&spins] {
        if (++spins < 64)
            std::this_thread::yield();
        else
            std::this_thread::sleep_for(std::chrono::microseconds(spins < 1000 ? 50 : 1000));
    };
    for (ThreadRecord *r = g_records.load(std::memory_order_acquire); r; r = r->next) {
        if (r == t_record)
            continue; // a close from inside a call on this handle is the caller's bug
        while (r->inside.load(std::memory_order_acquire) == this)
            pause();
    }
    while (overflow_.load(std::memory_order_acquire) != 0)
        pause();
}

} // namespace unicache
