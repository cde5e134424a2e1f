#include "core/latency.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <mutex>
#include <new>
#include <thread>

#include "core/stats_part.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace unicache {

namespace latency_clock {

namespace {

#if defined(__x86_64__)
__extension__ typedef unsigned __int128 u128; // GCC and Clang
#endif

uint64_t monotonic_ns_now()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

#if defined(__x86_64__)
// Invariant TSC (CPUID 0x80000007, EDX bit 8): constant rate in every
// P-state and C-state, the same on every core. Without it, the monotonic
// clock.
bool invariant_tsc()
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
        return false;
    __get_cpuid(0x80000007, &a, &b, &c, &d);
    return (d >> 8) & 1;
}

struct Rate {
    bool tsc = false;
    // ns = ticks * mult >> 32
    uint64_t mult = uint64_t(1) << 32;
};

Rate measure()
{
    Rate r;
    if (!invariant_tsc())
        return r;
    // 2 ms against CLOCK_MONOTONIC, once per process: the clock's own
    // granularity (tens of ns) is then ~0.002% of the rate.
    uint64_t t0 = __rdtsc(), n0 = monotonic_ns_now();
    uint64_t n1;
    do {
        n1 = monotonic_ns_now();
    } while (n1 - n0 < 2000000);
    uint64_t t1 = __rdtsc();
    if (t1 <= t0)
        return r;
    r.tsc = true;
    r.mult = uint64_t((static_cast<u128>(n1 - n0) << 32) / (t1 - t0));
    return r;
}

const Rate &rate()
{
    static const Rate r = measure();
    return r;
}
#endif

} // namespace

uint64_t ticks()
{
#if defined(__x86_64__)
    static const bool tsc = rate().tsc;
    if (tsc)
        return __rdtsc() | 1; // never 0: 0 means "not timed"
#endif
    return monotonic_ns_now() | 1;
}

uint64_t to_ns(uint64_t t)
{
#if defined(__x86_64__)
    static const Rate r = rate();
    if (r.tsc)
        return uint64_t((static_cast<u128>(t) * r.mult) >> 32);
#endif
    return t;
}

} // namespace latency_clock

double LatencySnapshot::quantile_ns(double q) const
{
    if (timed == 0)
        return 0;
    // The rank of the q-quantile among the timed calls, 1-based.
    // Nearest rank: the smallest value with at least q of the calls at or below it.
    uint64_t rank = uint64_t(std::ceil(q * double(timed)));
    if (rank < 1)
        rank = 1;
    if (rank > timed)
        rank = timed;
    uint64_t seen = 0;
    for (size_t b = 0; b < buckets.size(); b++) {
        seen += buckets[b];
        if (seen >= rank) {
            double lo = double(latency_bucket_floor(b));
            double hi = b + 1 < kLatencyBuckets ? double(latency_bucket_floor(b + 1)) : lo;
            double mid = (lo + hi) / 2;
            return mid < double(max_ns) ? mid : double(max_ns);
        }
    }
    return double(max_ns);
}

LatencyHistograms::LatencyHistograms(unsigned period)
    : period_(period ? period : 1), max_gap_(2 * period_ - 1),
      stripes_(std::make_unique<Stripe[]>(kThreadSlots))
{
}

LatencyHistograms::~LatencyHistograms()
{
    for (size_t i = 0; i < kThreadSlots; i++)
        for (auto &b : stripes_[i].buckets)
            std::unique_ptr<Buckets> owned(b.load(std::memory_order_relaxed));
}

void LatencyHistograms::record(Stripe &s, Op op, uint64_t ns)
{
    size_t i = size_t(op);
    Buckets *b = s.buckets[i].load(std::memory_order_acquire);
    if (!b) {
        // Runs in a destructor (the timer's): no exception, a lost sample.
        std::unique_ptr<Buckets> fresh(new (std::nothrow) Buckets());
        if (!fresh)
            return;
        Buckets *expected = nullptr;
        if (s.buckets[i].compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel))
            b = fresh.release();
        else
            b = expected; // another thread of this stripe won
    }
    b->n[latency_bucket(ns)].fetch_add(1, std::memory_order_relaxed);
    s.sum_ns[i].fetch_add(ns, std::memory_order_relaxed);
    uint64_t m = s.max_ns[i].load(std::memory_order_relaxed);
    while (ns > m && !s.max_ns[i].compare_exchange_weak(m, ns, std::memory_order_relaxed)) {
    }
}

LatencySnapshot LatencyHistograms::snapshot(Op op) const
{
    size_t i = size_t(op);
    LatencySnapshot out;
    out.buckets.assign(kLatencyBuckets, 0);
    for (size_t k = 0; k < kThreadSlots; k++) {
        const Stripe &s = stripes_[k];
        out.count += s.count[i].load(std::memory_order_relaxed);
        out.sum_ns += s.sum_ns[i].load(std::memory_order_relaxed);
        uint64_t m = s.max_ns[i].load(std::memory_order_relaxed);
        if (m > out.max_ns)
            out.max_ns = m;
        const Buckets *b = s.buckets[i].load(std::memory_order_acquire);
        if (!b)
            continue;
        for (size_t j = 0; j < kLatencyBuckets; j++) {
            uint64_t n = b->n[j].load(std::memory_order_relaxed);
            out.buckets[j] += n;
            out.timed += n;
        }
    }
    return out;
}

// Cumulative counts at every power of two from 256 ns to 2^35 ns (34 s):
// those are bucket edges of ours, so the counts are exact.
void LatencyHistograms::add_buckets(StatsPart h, const LatencySnapshot &s)
{
    constexpr int kFirst = 8, kLast = 35;
    double le[kLast - kFirst + 1], cumulative[kLast - kFirst + 1];
    uint64_t seen = 0;
    size_t b = 0;
    for (int e = kFirst; e <= kLast; e++) {
        uint64_t edge = uint64_t(1) << e;
        while (b < kLatencyBuckets && latency_bucket_floor(b) < edge)
            seen += s.buckets[b++];
        le[e - kFirst] = double(edge);
        cumulative[e - kFirst] = double(seen);
    }
    h.numbers("le_ns", le, kLast - kFirst + 1);
    h.numbers("cumulative", cumulative, kLast - kFirst + 1);
    h.count("timed", int64_t(s.timed));
    h.count("sum_ns", int64_t(s.sum_ns));
}

void LatencyHistograms::add_stats(StatsPart &part) const
{
    StatsPart latency = part.object("latency");
    for (size_t i = 0; i < kOpCount; i++) {
        LatencySnapshot s = snapshot(Op(i));
        if (s.count == 0)
            continue;
        StatsPart op = latency.object(op_name(Op(i)));
        op.count("count", int64_t(s.count));
        op.number("p50", s.quantile_ns(0.50) / 1000);
        op.number("p90", s.quantile_ns(0.90) / 1000);
        op.number("p99", s.quantile_ns(0.99) / 1000);
        op.number("p99.9", s.quantile_ns(0.999) / 1000);
        op.number("max", double(s.max_ns) / 1000);
        if (part.detail())
            add_buckets(op.object("histogram"), s);
    }
}

} // namespace unicache
