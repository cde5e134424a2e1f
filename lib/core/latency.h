// Latency histograms per operation, cheap enough to stay on.
//
// Buckets are log-scale on nanoseconds, 8 per power of two (a bucket is at
// most 12.5% wide, so a percentile read from it is within ~6% of the
// truth), from 1 ns to ~18 minutes. Each thread writes to its own stripe
// (core/thread_slot.h: no lock, no locked instruction, no shared cache
// line), and only about one call in latency_sample (64) per thread is
// timed: reading the clock twice costs more than the rest of a memory://
// hit's bookkeeping (bench/latency_overhead.cpp). Counts are exact;
// percentiles, sum and max come from the timed calls.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "op.h"
#include "stats_part.h"
#include "thread_slot.h"

namespace unicache {

// The clock the histograms read: the TSC where it is invariant (x86-64),
// converted with a rate measured once per process; CLOCK_MONOTONIC
// elsewhere. Ticks only ever go into a difference.
namespace latency_clock {
uint64_t ticks();
// Nanoseconds in a tick difference.
uint64_t to_ns(uint64_t ticks);
} // namespace latency_clock

constexpr size_t kLatencyBuckets = 8 * 38; // 1 ns .. 2^40 ns

// The bucket of a duration, and the smallest duration in a bucket.
inline size_t latency_bucket(uint64_t ns)
{
    if (ns < 8)
        return size_t(ns);
    int e = 63 - __builtin_clzll(ns); // >= 3
    size_t b = size_t(e - 2) * 8 + size_t((ns >> (e - 3)) & 7);
    return b < kLatencyBuckets ? b : kLatencyBuckets - 1;
}
inline uint64_t latency_bucket_floor(size_t b)
{
    if (b < 8)
        return b;
    size_t e = b / 8 + 2;
    return (8 + uint64_t(b % 8)) << (e - 3);
}

// What a histogram holds at one moment: summed over the stripes.
struct LatencySnapshot {
    uint64_t count = 0;            // calls, timed or not
    uint64_t timed = 0;            // calls timed (the buckets' total)
    uint64_t sum_ns = 0;           // of the timed calls
    uint64_t max_ns = 0;           // of the timed calls
    std::vector<uint64_t> buckets; // kLatencyBuckets counts of timed calls
    // The duration at quantile q (0..1) of the timed calls, in ns: the
    // middle of the bucket it falls in (max_ns for the last one).
    double quantile_ns(double q) const;
};

class LatencyHistograms {
public:
    static constexpr unsigned kDefaultSamplePeriod = 64;

    // period: time one call in about period per thread (1: every call).
    explicit LatencyHistograms(unsigned period = kDefaultSamplePeriod);
    ~LatencyHistograms();
    LatencyHistograms(const LatencyHistograms &) = delete;
    LatencyHistograms &operator=(const LatencyHistograms &) = delete;

    // One call of op: begin() returns a start tick when this call is to be
    // timed (else 0); end() counts the call and records its time.
    struct Call {
        unsigned slot;
        uint64_t start; // 0: not timed
    };
    // t: the calling thread's this_thread_slot(), which the caller shares
    // with its other counters (one thread-local access per call).
    Call begin(ThreadSlot &t) const
    {
        Call c{t.slot(), 0};
        // The countdown is the thread's, shared by every handle: one left
        // longer than this handle's gaps (by a handle sampling less often)
        // ends now, so latency_sample=1 still times every call.
        if (__builtin_expect(unsigned(--t.countdown - 1) >= max_gap_, 0)) {
            // A random gap (1 to 2 * period - 1, period on average), so
            // that a pattern of calls (get, set, get, set...) cannot hide
            // an operation.
            t.random ^= t.random << 13;
            t.random ^= t.random >> 17;
            t.random ^= t.random << 5;
            t.countdown = int(1 + t.random % max_gap_);
            c.start = latency_clock::ticks();
        }
        return c;
    }
    Call begin() const { return begin(this_thread_slot()); }
    void end(Op op, const Call &c)
    {
        Stripe &s = stripes_[c.slot];
        slot_add(s.count[size_t(op)], c.slot, uint64_t(1));
        if (__builtin_expect(c.start != 0, 0))
            record(s, op, latency_clock::to_ns(latency_clock::ticks() - c.start));
    }

    LatencySnapshot snapshot(Op op) const;
    // "latency": {"get": {"count", "p50", "p90", "p99", "p99.9", "max"}, ...}
    // in microseconds, one entry per operation that ran.
    void add_stats(StatsPart &part) const;

private:
    struct Buckets {
        std::atomic<uint64_t> n[kLatencyBuckets];
        Buckets()
        {
            for (auto &b : n)
                b.store(0, std::memory_order_relaxed);
        }
    };
    struct alignas(64) Stripe {
        std::atomic<uint64_t> count[kOpCount] = {};
        std::atomic<uint64_t> sum_ns[kOpCount] = {};
        std::atomic<uint64_t> max_ns[kOpCount] = {};
        // Allocated on the stripe's first timed call of the operation.
        std::atomic<Buckets *> buckets[kOpCount] = {};
    };
    void record(Stripe &s, Op op, uint64_t ns);
    static void add_buckets(StatsPart h, const LatencySnapshot &s);

    const unsigned period_;
    const unsigned max_gap_; // 2 * period_ - 1
    std::unique_ptr<Stripe[]> stripes_;
};

} // namespace unicache
