// White-box tests of the memory backend's parts: each eviction policy's
// behaviour, the frequency sketch, the entry table and a shard's expiry.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backends/memory/basic_policies.h"
#include "backends/memory/entry_table.h"
#include "backends/memory/frequency_sketch.h"
#include "backends/memory/lfu_policy.h"
#include "backends/memory/memory_shard.h"
#include "backends/memory/tinylfu_policy.h"
#include "core/clock.h"
#include "core/hash.h"

namespace unicache {
namespace {

uint64_t h(const std::string &k)
{
    return hash_bytes(k.data(), k.size());
}

// Owns entries made for policy-level tests.
class Entries {
public:
    ~Entries()
    {
        for (Entry *e : all_)
            Entry::destroy(e);
    }
    Entry *make(const std::string &key) { return make(key, h(key)); }
    Entry *make(const std::string &key, uint64_t hash)
    {
        all_.push_back(Entry::create(key, "v", hash));
        return all_.back();
    }

private:
    std::vector<Entry *> all_;
};

// ---------------------------------------------------------------- policies

TEST(LruPolicy, EvictsTheLeastRecentlyUsed)
{
    Entries es;
    LruPolicy p;
    Entry *a = es.make("a"), *b = es.make("b"), *c = es.make("c");
    p.on_insert(a);
    p.on_insert(b);
    p.on_insert(c);
    EXPECT_EQ(p.victim(), a);
    p.on_hit(a);
    EXPECT_EQ(p.victim(), b);
    p.on_remove(b);
    EXPECT_EQ(p.victim(), c);
    p.on_hit(c);
    EXPECT_EQ(p.victim(), a);
}

TEST(FifoPolicy, EvictsTheOldestInsertEvenWhenRead)
{
    Entries es;
    FifoPolicy p;
    Entry *a = es.make("a"), *b = es.make("b");
    p.on_insert(a);
    p.on_insert(b);
    p.on_hit(a);
    p.on_hit(a);
    EXPECT_EQ(p.victim(), a);
    p.on_remove(a);
    EXPECT_EQ(p.victim(), b);
}

TEST(LfuPolicy, EvictsTheLeastFrequentThenTheLeastRecent)
{
    Entries es;
    LfuPolicy p;
    Entry *a = es.make("a"), *b = es.make("b"), *c = es.make("c");
    p.on_insert(a);
    p.on_insert(b);
    p.on_insert(c);
    p.on_hit(a);
    p.on_hit(a);
    p.on_hit(c);
    EXPECT_EQ(p.victim(), b); // count 1
    p.on_remove(b);
    EXPECT_EQ(p.victim(), c); // 2 beats a's 3
    p.on_hit(c);
    p.on_hit(c);
    EXPECT_EQ(p.victim(), a); // now 3 < 4
    Entry *d = es.make("d");
    p.on_insert(d);
    EXPECT_EQ(p.victim(), d); // a newcomer has the lowest count
    p.on_hit(d);
    p.on_hit(d);
    // a and d both have 3: the one hit longest ago goes.
    EXPECT_EQ(p.victim(), a);
}

TEST(LfuPolicy, CountsSaturateWithoutBreakingOrder)
{
    Entries es;
    LfuPolicy p;
    Entry *a = es.make("a"), *b = es.make("b");
    p.on_insert(a);
    p.on_insert(b);
    for (int i = 0; i < 1000; i++)
        p.on_hit(a);
    for (int i = 0; i < 1000; i++)
        p.on_hit(b);
    // Both saturated: recency breaks the tie.
    EXPECT_EQ(p.victim(), a);
    p.on_remove(a);
    p.on_remove(b);
    EXPECT_EQ(p.victim(), nullptr);
}

TEST(TinyLfuPolicy, AdmissionPrefersTheMorePopularAndJittersWarmCandidates)
{
    TinyLfuPolicy p(1000);
    EXPECT_TRUE(p.admits(3, 2));
    EXPECT_FALSE(p.admits(2, 2));
    EXPECT_FALSE(p.admits(0, 1));
    int cold = 0, warm = 0;
    for (int i = 0; i < 128000; i++) {
        cold += p.admits(5, 15);
        warm += p.admits(7, 15);
    }
    EXPECT_EQ(cold, 0) << "a cold candidate never displaces a hotter victim";
    // 1 in 128 expected: 1000 of 128000.
    EXPECT_GT(warm, 700);
    EXPECT_LT(warm, 1300);
}

// A shard with a policy we can still look at.
struct ShardWith {
    explicit ShardWith(std::unique_ptr<EvictionPolicy> p, size_t max_items, size_t max_bytes = 0)
        : policy(p.get()), shard(ShardLimits{max_items, max_bytes}, std::move(p))
    {
    }
    // get, and set on a miss, as the trace replay does. Returns true on a hit.
    bool access(const std::string &k)
    {
        OwnedBuffer out;
        if (shard.get(k, h(k), &out))
            return true;
        shard.set(k, h(k), "value", 0, 0);
        return false;
    }
    bool holds(const std::string &k) { return shard.exists(k, h(k)); }

    EvictionPolicy *policy;
    MemoryShard shard;
};

// A hot set that fits, then a long scan of one-time keys with the hot keys
// still read now and then, each less often than the cache's size: LRU loses
// the hot set to the scan, TinyLFU keeps it. Returns the hot keys' hits.
int hot_hits_during_scan(const std::string &policy)
{
    ShardWith s(make_policy(policy, 1000), 1000);
    for (int round = 0; round < 10; round++)
        for (int i = 0; i < 500; i++)
            s.access("hot" + std::to_string(i));
    int hits = 0;
    for (int i = 0; i < 40000; i++) {
        s.access("scan" + std::to_string(i));
        if (i % 4 == 0)
            hits += s.access("hot" + std::to_string((i / 4) % 500));
    }
    return hits; // of 10000
}

TEST(TinyLfuPolicy, ResistsAScanThatFlushesLru)
{
    EXPECT_GE(hot_hits_during_scan("tinylfu"), 9500);
    EXPECT_LE(hot_hits_during_scan("lru"), 500);
}

TEST(TinyLfuPolicy, AJustWrittenKeyIsReadable)
{
    ShardWith s(make_policy("tinylfu", 100), 100);
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 100; i++)
            s.access("hot" + std::to_string(i));
    // Cold newcomers enter the window, so each is there right after its set
    // even though it would lose an admission contest.
    for (int i = 0; i < 1000; i++) {
        std::string k = "new" + std::to_string(i);
        EXPECT_FALSE(s.access(k));
        ASSERT_TRUE(s.holds(k)) << k;
    }
}

// Keys used in short bursts and then never again: recency is everything, so
// the climber must grow the window well beyond its initial 1%.
TEST(TinyLfuPolicy, WindowGrowsOnARecencyWorkload)
{
    auto p = std::make_unique<TinyLfuPolicy>(1000);
    TinyLfuPolicy *tiny = p.get();
    ShardWith s(std::move(p), 1000);
    uint64_t x = 88172645463325252ull;
    for (int t = 0; t < 400000; t++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // Mostly the last ~600 keys introduced; a new key every 4 requests.
        s.access("k" + std::to_string(t / 4 + 1000 - int(x % 600)));
    }
    EXPECT_GT(tiny->window_share(), 0.2);
}

// A stable popular set plus one-hit noise: frequency is everything, so the
// window must stay small.
TEST(TinyLfuPolicy, WindowStaysSmallOnAFrequencyWorkload)
{
    auto p = std::make_unique<TinyLfuPolicy>(1000);
    TinyLfuPolicy *tiny = p.get();
    ShardWith s(std::move(p), 1000);
    uint64_t x = 88172645463325252ull;
    for (int t = 0; t < 400000; t++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (t % 2)
            s.access("noise" + std::to_string(t));
        else
            s.access("pop" + std::to_string(x % 900));
    }
    EXPECT_LT(tiny->window_share(), 0.1);
}

// ------------------------------------------ the climber on short traces
//
// Short synthetic traces (50,000 requests) at small capacities, replayed as
// trace_replay does (get, then set on a miss). The window must adapt within
// a few thousand requests. Bounds on the miss ratio against LRU's (before
// the newcomer ghosts, with the hill climber alone: recency +0.45 to +0.55,
// phased +0.21 to +0.29, frequency -0.25; now at most +0.08, +0.06 and
// -0.24): on the recency trace, which is harsher than any real trace we
// have (LRU is optimal, and TinyLFU's door turns back every newcomer until
// the window holds 70% of the cache), TinyLFU may lose at most 0.10; on the
// phased one 0.07; on the frequency one it must keep a 0.20 lead.

using Trace = std::vector<uint32_t>;

uint64_t xorshift(uint64_t &x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

// Recency only: a new key every 4 requests, each request one of the
// (0.7 x capacity) newest keys. Every key gets the same few accesses, all
// while it is young, so counting them tells nothing and LRU is optimal.
Trace recency_trace(size_t capacity, size_t n, uint64_t seed)
{
    Trace t;
    size_t span = std::max<size_t>(2, capacity * 7 / 10);
    for (size_t i = 0; i < n; i++)
        t.push_back(uint32_t(i / 4 + span - xorshift(seed) % span));
    return t;
}

// Frequency only: half the requests are one-time keys, half a popular set
// of 0.9 x capacity keys drawn uniformly: LRU lets the one-time keys push
// the popular ones out, TinyLFU's admission turns the one-time keys away.
Trace frequency_trace(size_t capacity, size_t n, uint64_t seed)
{
    Trace t;
    size_t popular = std::max<size_t>(2, capacity * 9 / 10);
    for (size_t i = 0; i < n; i++)
        t.push_back(i % 2 ? uint32_t(1000000 + i) : uint32_t(xorshift(seed) % popular));
    return t;
}

// Phases of 10,000 requests that alternate between the two.
Trace phased_trace(size_t capacity, size_t n, uint64_t seed)
{
    Trace t;
    Trace r = recency_trace(capacity, n, seed), f = frequency_trace(capacity, n, seed);
    for (size_t i = 0; i < n; i++)
        t.push_back((i / 10000) % 2 ? f[i] + 5000000 : r[i]);
    return t;
}

double miss_ratio(const std::string &policy, size_t capacity, const Trace &trace)
{
    ShardWith s(make_policy(policy, capacity), capacity);
    size_t misses = 0;
    for (uint32_t k : trace)
        misses += !s.access("k" + std::to_string(k));
    return double(misses) / double(trace.size());
}

struct ClimberCase {
    const char *name;
    Trace (*make)(size_t, size_t, uint64_t);
    double most_over_lru; // tinylfu - lru must be <= this
};

TEST(TinyLfuPolicy, ClimberAdaptsWithinAShortTrace)
{
    const ClimberCase cases[] = {
        {"recency", recency_trace, 0.10},
        {"frequency", frequency_trace, -0.20},
        {"phased", phased_trace, 0.07},
    };
    for (const ClimberCase &c : cases)
        for (size_t capacity : {20, 50, 100, 200, 400}) {
            Trace t = c.make(capacity, 50000, 88172645463325252ull + capacity);
            double tiny = miss_ratio("tinylfu", capacity, t);
            double lru = miss_ratio("lru", capacity, t);
            EXPECT_LE(tiny - lru, c.most_over_lru) << c.name << " trace, capacity " << capacity
                                                   << ": tinylfu " << tiny << ", lru " << lru;
        }
}

TEST(TinyLfuPolicy, WorksWithoutAnItemLimit)
{
    // Memory-bounded: the policy learns the capacity from the resident count.
    ShardWith s(make_policy("tinylfu", 0), 0, 256 << 10);
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < 400; i++)
            s.access("hot" + std::to_string(i));
    for (int i = 0; i < 20000; i++)
        s.access("scan" + std::to_string(i));
    ShardCounts c = s.shard.counts("");
    EXPECT_LE(c.bytes, 256 << 10);
    EXPECT_GT(c.evictions, 15000);
    size_t left = 0;
    for (int i = 0; i < 400; i++)
        left += s.holds("hot" + std::to_string(i));
    EXPECT_GE(left, 380u);
}

// ---------------------------------------------------------- frequency sketch

TEST(FrequencySketch, CountsAndSaturatesAtFifteen)
{
    FrequencySketch s(1024);
    uint64_t a = h("a");
    EXPECT_EQ(s.estimate(a), 0u);
    for (unsigned i = 1; i <= 20; i++) {
        s.increment(a);
        EXPECT_EQ(s.estimate(a), std::min(i, 15u));
    }
}

TEST(FrequencySketch, NeverUndercounts)
{
    FrequencySketch s(4096);
    std::vector<uint64_t> keys;
    for (int i = 0; i < 2000; i++)
        keys.push_back(h("key" + std::to_string(i)));
    for (int i = 0; i < 2000; i++)
        for (int j = 0; j < i % 7; j++)
            s.increment(keys[size_t(i)]);
    for (int i = 0; i < 2000; i++)
        EXPECT_GE(s.estimate(keys[size_t(i)]), unsigned(i % 7)) << i;
}

TEST(FrequencySketch, AgingHalvesCounts)
{
    FrequencySketch s(1024);
    uint64_t a = h("a"), b = h("b");
    for (int i = 0; i < 12; i++)
        s.increment(a);
    for (int i = 0; i < 5; i++)
        s.increment(b);
    s.age();
    EXPECT_EQ(s.estimate(a), 6u);
    EXPECT_EQ(s.estimate(b), 2u);
}

TEST(FrequencySketch, AgesByItselfAfterItsPeriod)
{
    FrequencySketch s(256);
    uint64_t a = h("a");
    for (int i = 0; i < 15; i++)
        s.increment(a);
    // 20 x 256 increments of other keys reach the aging period.
    for (size_t i = 0; i < FrequencySketch::kAgingPeriod * 256; i++)
        s.increment(h("other" + std::to_string(i)));
    EXPECT_LT(s.estimate(a), 12u) << "a once-hot key fades";
}

// --------------------------------------------------------------------- hash

// hash_bytes reads short keys with overlapping word loads; the values must
// be exactly those of the byte copies (memcached picks servers with them).
uint64_t reference_hash(const void *data, size_t n)
{
    const unsigned char *p = static_cast<const unsigned char *>(data);
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t(n) * 0xa0761d6478bd642full);
    while (n > 16) {
        h = detail::mix(detail::read64(p) ^ 0xe7037ed1a0b428dbull, detail::read64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    uint64_t a = 0, b = 0;
    if (n > 8) {
        a = detail::read64(p);
        std::memcpy(&b, p + 8, n - 8);
    } else {
        std::memcpy(&a, p, n);
    }
    return detail::mix(h ^ a ^ 0x8ebc6af09c88c6e3ull, b ^ 0x589965cc75374cc3ull);
}

TEST(HashBytes, WordLoadsGiveTheValuesOfTheByteCopies)
{
    unsigned char buf[80];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof buf; n++)
            ASSERT_EQ(hash_bytes(buf + off, n), reference_hash(buf + off, n)) << n << " " << off;
}

// -------------------------------------------------------------- entry table

TEST(EntryTable, FindsInsertsAndErasesUnderHeavyCollisions)
{
    Entries es;
    EntryTable t;
    std::vector<Entry *> v;
    // Four hash values for 2000 keys: long probe runs, wrapping around.
    for (int i = 0; i < 2000; i++) {
        std::string k = "k" + std::to_string(i);
        v.push_back(es.make(k, uint64_t(i % 4) * 0x5555 + 13));
        t.insert(v.back());
    }
    EXPECT_EQ(t.size(), 2000u);
    for (int i = 0; i < 2000; i += 2)
        t.erase(v[size_t(i)]);
    EXPECT_EQ(t.size(), 1000u);
    for (int i = 0; i < 2000; i++) {
        std::string k = "k" + std::to_string(i);
        EXPECT_EQ(t.find(k, v[size_t(i)]->hash), i % 2 ? v[size_t(i)] : nullptr) << k;
    }
}

TEST(EntryTable, EraseIfVisitsEveryEntryAcrossTheWrap)
{
    Entries es;
    EntryTable t; // 16 slots
    std::vector<Entry *> v;
    // Homes at the last two slots: the run wraps to the front.
    for (int i = 0; i < 10; i++) {
        v.push_back(es.make("w" + std::to_string(i), 14 + uint64_t(i % 2)));
        t.insert(v.back());
    }
    ASSERT_EQ(t.capacity(), 16u);
    std::set<Entry *> erased;
    t.erase_if([&](Entry *e) {
        bool even = (e->key().back() - '0') % 2 == 0;
        if (even)
            erased.insert(e);
        return even;
    });
    EXPECT_EQ(erased.size(), 5u);
    EXPECT_EQ(t.size(), 5u);
    for (int i = 0; i < 10; i++)
        EXPECT_EQ(t.find(v[size_t(i)]->key(), v[size_t(i)]->hash) != nullptr, i % 2 == 1) << i;
}

TEST(EntryTable, ReplacePointsTheSlotAtTheNewAllocation)
{
    Entries es;
    EntryTable t;
    Entry *a = es.make("same", 7), *b = es.make("same", 7);
    t.insert(a);
    t.replace(a, b);
    EXPECT_EQ(t.find("same", 7), b);
}

// ------------------------------------------------------------- shard expiry

TEST(MemoryShardExpiry, ExpiredEntriesAreNeverReturned)
{
    MemoryShard s(ShardLimits{}, make_policy("tinylfu", 0));
    int64_t past = monotonic_ms() - 1;
    s.set("k", h("k"), "v", past, 0);
    s.set("n", h("n"), "7", past, 0);
    OwnedBuffer out;
    EXPECT_FALSE(s.get("k", h("k"), &out));
    EXPECT_TRUE(out.empty());
    EXPECT_FALSE(s.exists("k", h("k")));
    int64_t remaining = 0;
    EXPECT_FALSE(s.ttl("n", h("n"), monotonic_ms(), &remaining));
    s.set("n", h("n"), "7", past, 0);
    EXPECT_EQ(s.incr("n", h("n"), 1, 0), 1) << "an expired counter restarts from 0";
    ShardCounts c = s.counts("");
    EXPECT_EQ(c.size, 1);
    EXPECT_GE(c.expirations, 3);
}

TEST(MemoryShardExpiry, ReapDropsOnlyExpiredEntriesAndFreesTheirBytes)
{
    MemoryShard s(ShardLimits{}, make_policy("lru", 0));
    int64_t now = monotonic_ms();
    for (int i = 0; i < 20000; i++) { // several reap chunks
        std::string k = "k" + std::to_string(i);
        s.set(k, h(k), std::string(100, 'x'), i % 2 ? now + 100000 : now + 10, 0);
    }
    s.set("forever", h("forever"), "v", 0, 0);
    EXPECT_EQ(s.reap(now), 0u);
    EXPECT_EQ(s.reap(now + 10), 10000u);
    ShardCounts c = s.counts("");
    EXPECT_EQ(c.size, 10001);
    EXPECT_EQ(c.expirations, 10000);
    size_t expect = s.charge_for(7, 1);
    for (int i = 1; i < 20000; i += 2)
        expect += s.charge_for(("k" + std::to_string(i)).size(), 100);
    EXPECT_EQ(size_t(c.bytes), expect);
    EXPECT_EQ(s.reap(now + 100000), 10000u);
    EXPECT_EQ(s.counts("").size, 1);
}

TEST(MemoryShardExpiry, ReapSeesExpiriesShortenedAfterItsLastPass)
{
    MemoryShard s(ShardLimits{}, make_policy("lru", 0));
    int64_t now = monotonic_ms();
    s.set("a", h("a"), "v", now + 100000, 0);
    EXPECT_EQ(s.reap(now), 0u); // next possible expiry: now + 100000
    ASSERT_TRUE(s.touch("a", h("a"), now + 5));
    EXPECT_EQ(s.reap(now + 6), 1u) << "touch must lower the reaper's next deadline";
    s.set("b", h("b"), "v", now + 100000, 0);
    EXPECT_EQ(s.reap(now + 7), 0u);
    s.set("b", h("b"), "v2", now + 8, 0); // overwrite with a shorter TTL
    EXPECT_EQ(s.reap(now + 9), 1u);
}

TEST(MemoryShardLimits, MaxItemsHoldsForEveryPolicy)
{
    for (const std::string &name : policy_names()) {
        MemoryShard s(ShardLimits{100, 0}, make_policy(name, 100));
        for (int i = 0; i < 5000; i++) {
            std::string k = "k" + std::to_string(i);
            s.set(k, h(k), "v", 0, 0);
            ASSERT_LE(s.counts("").size, 100) << name;
        }
        EXPECT_EQ(s.counts("").evictions, 4900) << name;
    }
}

TEST(MemoryShardLimits, MemoryBytesIsTheSumOfChargesForEveryPolicy)
{
    for (const std::string &name : policy_names()) {
        MemoryShard s(ShardLimits{0, 64 << 10}, make_policy(name, 0));
        size_t expect = 0;
        for (int i = 0; i < 100; i++) {
            std::string k = "key" + std::to_string(1000 + i);
            s.set(k, h(k), std::string(size_t(i), 'x'), 0, 0);
            expect += s.charge_for(k.size(), size_t(i));
        }
        EXPECT_EQ(size_t(s.counts("").bytes), expect) << name;
        for (int i = 0; i < 5000; i++) {
            std::string k = "more" + std::to_string(i);
            s.set(k, h(k), std::string(200, 'y'), 0, 0);
            ASSERT_LE(s.counts("").bytes, 64 << 10) << name;
        }
        EXPECT_GT(s.counts("").bytes, (64 << 10) - 2 * int64_t(s.charge_for(8, 200)))
            << name << ": the cache should stay nearly full";
    }
}

} // namespace
} // namespace unicache
