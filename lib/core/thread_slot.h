// Which stripe of the per-handle counters (OpCounters, LatencyHistograms)
// the calling thread writes, and the thread's latency-sampling countdown.
//
// A memory:// hit is a few hundred instructions, so its bookkeeping must
// cost a handful. Two things used to cost more than that: a thread_local
// with a dynamic initialiser per counter family (in the shared library each
// access is a call to __tls_get_addr and a guard check), and a locked
// atomic add per count (lock xadd, which also drains the store buffer).
// So each thread claims a slot once: the first kOwnedSlots threads alive at
// a time own theirs and count with a relaxed load and store (no lock: no
// other thread writes that slot); threads beyond that share kSharedSlots
// slots with atomic adds. Readers sum every slot with relaxed loads, so the
// counts stay exact. A slot is given back when its thread ends (a pthread
// key, as capi's InFlight records) and after fork() in the child for every
// thread but the forking one; the hand-over orders the old owner's last
// store before the new owner's first load.
//
// The slot and the countdown sit in one initial-exec __thread record: one
// access at a fixed offset from the thread pointer per call, no call, no
// guard (12 bytes of glibc's static TLS surplus, which a dlopen()ed library
// such as the Python module may use).
#pragma once

#include <atomic>
#include <cstdint>

namespace unicache {

constexpr unsigned kOwnedSlots = 32;
constexpr unsigned kSharedSlots = 4;
constexpr unsigned kThreadSlots = kOwnedSlots + kSharedSlots;

struct ThreadSlot {
    unsigned index;  // + 1; 0 until the thread's first call
    int countdown;   // calls until the next timed one (LatencyHistograms)
    uint32_t random; // xorshift32 state for the next gap; never 0 once set
    unsigned slot() const { return index - 1; }
};

namespace thread_slot_detail {
extern __thread ThreadSlot t_slot __attribute__((tls_model("initial-exec")));
ThreadSlot &claim() noexcept;
} // namespace thread_slot_detail

// The calling thread's record, its slot claimed on first use.
inline ThreadSlot &this_thread_slot()
{
    ThreadSlot &t = thread_slot_detail::t_slot;
    if (__builtin_expect(t.index == 0, 0))
        return thread_slot_detail::claim();
    return t;
}

// Adds n to slot's copy of a counter: a plain read-modify-write when the
// thread owns the slot, an atomic add when it shares it.
template <typename T> inline void slot_add(std::atomic<T> &counter, unsigned slot, T n)
{
    if (__builtin_expect(slot < kOwnedSlots, 1))
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    else
        counter.fetch_add(n, std::memory_order_relaxed);
}

} // namespace unicache
