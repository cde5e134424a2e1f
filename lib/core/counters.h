// Operation counters that many threads bump without sharing a cache line or
// a locked instruction: each thread adds to its own padded slot
// (core/thread_slot.h), stats() sums them.
#pragma once

#include <atomic>
#include <cstdint>

#include "thread_slot.h"

namespace unicache {

enum class Counter { hits, misses, sets, deletes, errors, count_ };

class OpCounters {
public:
    // slot: this_thread_slot().slot(), when the caller has it already.
    void add(unsigned slot, Counter c, int64_t n = 1)
    {
        slot_add(stripes_[slot].v[size_t(c)], slot, n);
    }
    void add(Counter c, int64_t n = 1) { add(this_thread_slot().slot(), c, n); }
    int64_t sum(Counter c) const
    {
        int64_t total = 0;
        for (const auto &s : stripes_)
            total += s.v[size_t(c)].load(std::memory_order_relaxed);
        return total;
    }

private:
    struct alignas(64) Stripe {
        std::atomic<int64_t> v[size_t(Counter::count_)] = {};
    };
    Stripe stripes_[kThreadSlots];
};

} // namespace unicache
