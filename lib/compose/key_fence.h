// KeyFence: tells a fill (a copy put into the tiers above after reading the
// lowest tier) whether the key may have changed since it looked, so that an
// invalidation or a write that races a fill always wins. Keys hash to
// stripes; each stripe counts writes in flight and bumps an epoch on every
// write and invalidation. A false "changed" only costs a copy.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/bytes.h"
#include "core/hash.h"

namespace unicache {

class KeyFence {
public:
    struct Mark {
        uint64_t epoch, all;
        int writers;
    };

    Mark look(Bytes key) const
    {
        const Stripe &s = stripe(key);
        return Mark{s.epoch.load(std::memory_order_acquire), all_.load(std::memory_order_acquire),
                    s.writers.load(std::memory_order_acquire)};
    }
    // No write began or ended and no invalidation arrived since m.
    bool unchanged(Bytes key, const Mark &m) const
    {
        const Stripe &s = stripe(key);
        return s.epoch.load(std::memory_order_acquire) == m.epoch &&
               all_.load(std::memory_order_acquire) == m.all;
    }
    void bump(Bytes key) { stripe(key).epoch.fetch_add(1, std::memory_order_acq_rel); }
    void bump_all() { all_.fetch_add(1, std::memory_order_acq_rel); }
    void begin_write(Bytes key)
    {
        Stripe &s = stripe(key);
        s.writers.fetch_add(1, std::memory_order_acq_rel);
        s.epoch.fetch_add(1, std::memory_order_acq_rel);
    }
    void end_write(Bytes key)
    {
        Stripe &s = stripe(key);
        s.epoch.fetch_add(1, std::memory_order_acq_rel);
        s.writers.fetch_sub(1, std::memory_order_acq_rel);
    }

private:
    struct alignas(64) Stripe {
        std::atomic<uint64_t> epoch{0};
        std::atomic<int> writers{0};
    };
    static constexpr size_t kStripes = 256;
    Stripe &stripe(Bytes key) { return stripes_[hash_bytes(key.data(), key.size()) % kStripes]; }
    const Stripe &stripe(Bytes key) const
    {
        return stripes_[hash_bytes(key.data(), key.size()) % kStripes];
    }

    Stripe stripes_[kStripes];
    std::atomic<uint64_t> all_{0};
};

} // namespace unicache
