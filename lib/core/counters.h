// Operation counters that many threads bump without sharing a cache line:
// each thread adds to one of kStripes padded slots, stats() sums them.
#pragma once

#include <atomic>
#include <cstdint>

namespace unicache {

enum class Counter { hits, misses, sets, deletes, errors, count_ };

class OpCounters {
public:
    void add(Counter c, int64_t n = 1)
    {
        stripes_[stripe_index()].v[size_t(c)].fetch_add(n, std::memory_order_relaxed);
    }
    int64_t sum(Counter c) const
    {
        int64_t total = 0;
        for (const auto &s : stripes_)
            total += s.v[size_t(c)].load(std::memory_order_relaxed);
        return total;
    }

private:
    static constexpr size_t kStripes = 16;
    struct alignas(64) Stripe {
        std::atomic<int64_t> v[size_t(Counter::count_)] = {};
    };
    static size_t stripe_index()
    {
        static std::atomic<size_t> next{0};
        thread_local size_t idx = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
        return idx;
    }
    Stripe stripes_[kStripes];
};

} // namespace unicache
