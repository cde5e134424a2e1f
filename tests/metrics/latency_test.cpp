// Latency histograms: the buckets' arithmetic, the statistics document's
// "latency" parts (exact counts, ordered percentiles, a real slow call
// from a paused redis-server), each tier's own histograms, latency=off,
// the parameters' errors, and counts that stay exact across threads.
#include <gtest/gtest.h>

#include <cjson/cJSON.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/latency.h"
#include "core/thread_slot.h"
#include "support/server_process.h"
#include "unicache.h"

using unicache_test::ServerProcess;

namespace {

std::string stats(cache_t *c)
{
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_stats_json(c, &b), CACHE_OK) << cache_last_error();
    std::string s(static_cast<const char *>(b.data), b.size);
    cache_buf_free(&b);
    return s;
}

struct Doc {
    cJSON *root;
    explicit Doc(const std::string &text) : root(cJSON_Parse(text.c_str())) {}
    ~Doc() { cJSON_Delete(root); }
    Doc(const Doc &) = delete;
    Doc &operator=(const Doc &) = delete;
};

// part["latency"][op][field], or -1 when absent.
double latency_field(const cJSON *part, const char *op, const char *field)
{
    const cJSON *l = cJSON_GetObjectItem(part, "latency");
    const cJSON *o = l ? cJSON_GetObjectItem(l, op) : nullptr;
    const cJSON *f = o ? cJSON_GetObjectItem(o, field) : nullptr;
    return cJSON_IsNumber(f) ? f->valuedouble : -1;
}

void expect_ordered(const cJSON *part, const char *op)
{
    double p50 = latency_field(part, op, "p50"), p90 = latency_field(part, op, "p90"),
           p99 = latency_field(part, op, "p99"), p999 = latency_field(part, op, "p99.9"),
           max = latency_field(part, op, "max");
    EXPECT_GT(p50, 0) << op;
    EXPECT_LE(p50, p90) << op;
    EXPECT_LE(p90, p99) << op;
    EXPECT_LE(p99, p999) << op;
    EXPECT_LE(p999, max) << op;
}

cache_t *open_ok(const std::string &uri)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << uri << ": " << cache_last_error();
    return c;
}

int set_str(cache_t *c, const std::string &k, const std::string &v)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE);
}

int get_str(cache_t *c, const std::string &k)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_get(c, k.data(), k.size(), &b);
    cache_buf_free(&b);
    return rc;
}

} // namespace

TEST(LatencyBuckets, EveryDurationFallsInsideItsBucketOfAtMostAnEighth)
{
    using unicache::latency_bucket;
    using unicache::latency_bucket_floor;
    size_t last = 0;
    for (uint64_t ns = 0; ns < (uint64_t(1) << 39); ns = ns < 64 ? ns + 1 : ns + ns / 7 + 3) {
        size_t b = latency_bucket(ns);
        ASSERT_LT(b, unicache::kLatencyBuckets);
        ASSERT_GE(b, last) << ns; // monotonic
        last = b;
        ASSERT_LE(latency_bucket_floor(b), ns) << ns;
        ASSERT_GT(latency_bucket_floor(b + 1), ns) << ns;
        if (ns >= 8) { // 8 buckets per power of two
            ASSERT_LE(double(latency_bucket_floor(b + 1) - latency_bucket_floor(b)),
                      double(latency_bucket_floor(b)) / 8 + 1)
                << ns;
        }
    }
    EXPECT_EQ(latency_bucket(~uint64_t(0)), unicache::kLatencyBuckets - 1);
}

TEST(LatencyBuckets, QuantilesOfAKnownSample)
{
    unicache::LatencySnapshot s;
    s.buckets.assign(unicache::kLatencyBuckets, 0);
    // 90 calls of 1000 ns, 10 of 100000 ns.
    s.buckets[unicache::latency_bucket(1000)] = 90;
    s.buckets[unicache::latency_bucket(100000)] = 10;
    s.timed = s.count = 100;
    s.max_ns = 100000;
    EXPECT_NEAR(s.quantile_ns(0.5), 1000, 1000 / 8.0);
    EXPECT_NEAR(s.quantile_ns(0.9), 1000, 1000 / 8.0);
    EXPECT_NEAR(s.quantile_ns(0.99), 100000, 100000 / 8.0);
    EXPECT_LE(s.quantile_ns(0.999), 100000);
}

TEST(Latency, StatsHaveExactCountsAndOrderedPercentiles)
{
    cache_t *c = open_ok("memory://?latency_sample=1");
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), "v"), CACHE_OK);
    for (int i = 0; i < 1000; i++)
        get_str(c, "k" + std::to_string(i % 150));
    cache_delete(c, "k1", 2);
    Doc d(stats(c));
    ASSERT_NE(d.root, nullptr);
    EXPECT_EQ(latency_field(d.root, "get", "count"), 1000);
    EXPECT_EQ(latency_field(d.root, "set", "count"), 100);
    EXPECT_EQ(latency_field(d.root, "delete", "count"), 1);
    EXPECT_EQ(latency_field(d.root, "incr", "count"), -1) << "absent until it runs";
    expect_ordered(d.root, "get");
    expect_ordered(d.root, "set");
    // A memory hit is far below a millisecond (in microseconds here).
    EXPECT_LT(latency_field(d.root, "get", "p50"), 1000);
    cache_close(c);
}

TEST(Latency, DefaultSamplingStillCountsEveryCall)
{
    cache_t *c = open_ok("memory://");
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 5000; i++)
        get_str(c, "absent");
    Doc d(stats(c));
    EXPECT_EQ(latency_field(d.root, "get", "count"), 5000);
    expect_ordered(d.root, "get");
    cache_close(c);
}

TEST(Latency, CountsAreExactAcrossThreads)
{
    cache_t *c = open_ok("memory://");
    ASSERT_NE(c, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([c] {
            for (int i = 0; i < 5000; i++)
                get_str(c, "k");
        });
    for (auto &t : threads)
        t.join();
    Doc d(stats(c));
    EXPECT_EQ(latency_field(d.root, "get", "count"), 20000);
    cache_close(c);
}

// More threads alive at once than there are owned counter slots (the rest
// share slots with atomic adds), then a second wave that reclaims the slots
// the first gave back: every get is still counted, in the latency counts
// and in the misses.
TEST(Latency, CountsStayExactWhenThreadsOutnumberTheirSlots)
{
    cache_t *c = open_ok("memory://");
    ASSERT_NE(c, nullptr);
    constexpr int kThreads = int(unicache::kOwnedSlots) + 12, kGets = 500;
    for (int wave = 0; wave < 2; wave++) {
        std::atomic<int> started{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; t++)
            threads.emplace_back([c, &started] {
                // All alive together (bounded: 10 s at most).
                started++;
                auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                while (started.load() < kThreads && std::chrono::steady_clock::now() < deadline)
                    std::this_thread::yield();
                for (int i = 0; i < kGets; i++)
                    get_str(c, "absent");
            });
        for (auto &t : threads)
            t.join();
    }
    Doc d(stats(c));
    EXPECT_EQ(latency_field(d.root, "get", "count"), 2 * kThreads * kGets);
    const cJSON *misses = cJSON_GetObjectItem(d.root, "misses");
    ASSERT_TRUE(cJSON_IsNumber(misses)) << stats(c);
    EXPECT_EQ(misses->valuedouble, 2 * kThreads * kGets);
    cache_close(c);
}

TEST(Latency, OffLeavesTheDocumentWithout)
{
    cache_t *c = open_ok("memory://?latency=off");
    ASSERT_NE(c, nullptr);
    get_str(c, "k");
    EXPECT_EQ(stats(c).find("\"latency\""), std::string::npos) << stats(c);
    cache_close(c);
}

TEST(Latency, BadParametersAreInvalid)
{
    for (const char *uri : {"memory://?latency=maybe", "memory://?latency_sample=0",
                            "memory://?latency_sample=-3", "memory://?latency_sample=x"}) {
        cache_t *c = nullptr;
        EXPECT_EQ(cache_open(uri, &c), CACHE_EINVAL) << uri;
        EXPECT_EQ(c, nullptr);
        EXPECT_NE(std::string(cache_last_error()).find("latency"), std::string::npos)
            << cache_last_error();
    }
}

TEST(Latency, ASlowServerShowsInTheMaxAndTheTail)
{
    ServerProcess server = ServerProcess::redis();
    server.start();
    cache_t *c = open_ok("redis://127.0.0.1:" + std::to_string(server.port()) +
                         "/0?latency_sample=1&timeout_ms=5000");
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 99; i++)
        ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    server.pause();
    std::thread resume([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(80));
        server.resume();
    });
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << cache_last_error();
    resume.join();
    Doc d(stats(c));
    EXPECT_EQ(latency_field(d.root, "set", "count"), 100);
    EXPECT_GE(latency_field(d.root, "set", "max"), 80000 * 0.95); // µs
    EXPECT_GE(latency_field(d.root, "set", "p99.9"), 80000 * 0.85);
    EXPECT_LT(latency_field(d.root, "set", "p50"), 20000);
    cache_close(c);
}

TEST(Latency, EachTierHasItsOwn)
{
    char dir[] = "/tmp/unicache-latency-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string db = std::string(dir) + "/l2.db";
    cache_t *c =
        open_ok(R"({"tiers": ["memory://", "sqlite://)" + db + R"("], "latency_sample": 1})");
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), "v"), CACHE_OK);
    for (int i = 0; i < 40; i++)
        get_str(c, "k" + std::to_string(i % 20));
    Doc d(stats(c));
    EXPECT_EQ(latency_field(d.root, "get", "count"), 40);
    const cJSON *tiers = cJSON_GetObjectItem(d.root, "tiers");
    ASSERT_EQ(cJSON_GetArraySize(tiers), 2);
    const cJSON *l1 = cJSON_GetArrayItem(tiers, 0), *l2 = cJSON_GetArrayItem(tiers, 1);
    EXPECT_EQ(latency_field(l1, "get", "count"), 40); // every read asks L1 first
    // L2 answers L1's misses: the 20 reads of absent keys at least.
    EXPECT_GE(latency_field(l2, "get", "count"), 20);
    EXPECT_LT(latency_field(l2, "get", "count"), 40);
    expect_ordered(l2, "get");
    EXPECT_GE(latency_field(l2, "set", "count"), 10); // writes go to the lowest tier first
    cache_close(c);
    for (const char *suffix : {"", "-wal", "-shm"})
        std::remove((db + suffix).c_str());
    rmdir(dir);
}
