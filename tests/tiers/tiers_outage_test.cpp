// A memory L1 in front of a real redis-server that is killed under load and
// restarted on the same port: L1-resident keys keep being served, misses
// fail fast once the breaker is open (never after more than the timeout),
// the breaker closes when the server is back, writes reach it again, and a
// key deleted during the outage does not come back from it (the server
// keeps its data in an append-only file across the restart, so it would).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "sqlite/sqlite_temp_dir.h"
#include "support/cache_io.h"
#include "support/server_process.h"
#include "unicache.h"

namespace unicache_test {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

constexpr int kTimeoutMs = 1000; // roomy: the open on a loaded CI machine must not time out
constexpr int kHot = 50;

class Outage : public ::testing::Test {
protected:
    Outage()
        : dir_("tiers-outage"),
          server_(ServerProcess::redis(
              {"--appendonly", "yes", "--appendfsync", "always", "--dir", dir_.path()}))
    {
    }
    void SetUp() override { server_.start(); }

    std::string l2() const
    {
        return "redis://127.0.0.1:" + std::to_string(server_.port()) +
               "/0?timeout_ms=" + std::to_string(kTimeoutMs) +
               "&connect_timeout_ms=" + std::to_string(kTimeoutMs) + "&max_retries=0";
    }
    cache_t *open_tiered(const std::string &extra = "")
    {
        cache_t *c = nullptr;
        std::string config = R"({"tiers": ["memory://", ")" + l2() +
                             R"("], "l1_ttl": 60000, "breaker_failures": 3, "breaker_reset": 300)" +
                             extra + "}";
        EXPECT_EQ(open_with_status(config, nullptr, &c), CACHE_OK) << cache_last_error();
        return c;
    }
    cache_t *open_plain()
    {
        cache_t *c = nullptr;
        EXPECT_EQ(cache_open(l2().c_str(), &c), CACHE_OK) << cache_last_error();
        return c;
    }
    // Retries (bounded) until the breaker lets a call through again (a set
    // would not do: during an outage it is kept in L1 and succeeds), then
    // writes "probe".
    bool wait_for_recovery(cache_t *c)
    {
        auto start = Clock::now();
        while (ms_since(start) < 10000) {
            if (cache_ping(c) == CACHE_OK)
                return set_string(c, "probe", "p") == CACHE_OK;
            sleep_ms(50);
        }
        return false;
    }

    SqliteTempDir dir_; // a scratch directory for the server's AOF
    ServerProcess server_;
};

} // namespace

TEST_F(Outage, KillUnderLoadServeL1FailFastRecoverAndReplayDeletes)
{
    cache_t *c = open_tiered();
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < kHot; i++)
        ASSERT_EQ(set_string(c, "hot:" + std::to_string(i), "v" + std::to_string(i)), CACHE_OK)
            << cache_last_error();
    ASSERT_EQ(set_string(c, "doomed", "d"), CACHE_OK);
    ASSERT_EQ(set_string(c, "during", "old"), CACHE_OK);
    // Redis tells every L1 of every write, this handle's own included:
    // once those notifications are in, the reads below fill L1 for good.
    sleep_ms(200);
    for (int i = 0; i < kHot; i++)
        ASSERT_EQ(get_string(c, "hot:" + std::to_string(i)), "v" + std::to_string(i));
    ASSERT_NE(stats_of(c).find("\"promotions\":" + std::to_string(kHot)), std::string::npos)
        << stats_of(c);

    // Load: readers of L1-resident keys and of keys only Redis could have.
    std::atomic<bool> stop{false};
    std::atomic<int> hot_wrong{0}, hot_reads{0}, cold_bad_status{0};
    std::atomic<int> first_wrong_rc{1}; // the status of the first wrong read
    std::atomic<int64_t> slowest_us{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 3; t++) {
        load.emplace_back([&, t] {
            int i = 0;
            auto deadline = Clock::now() + std::chrono::seconds(30);
            while (!stop && Clock::now() < deadline) {
                std::string k = "hot:" + std::to_string((i * 7 + t) % kHot);
                int rc;
                auto t0 = Clock::now();
                std::string v = get_string(c, k, &rc);
                std::string cold = "cold:" + std::to_string(i);
                int crc;
                get_string(c, cold, &crc);
                int64_t us = int64_t(ms_since(t0) * 1000);
                int64_t prev = slowest_us.load();
                while (us > prev && !slowest_us.compare_exchange_weak(prev, us)) {
                }
                if (rc != CACHE_OK || v != "v" + std::to_string((i * 7 + t) % kHot)) {
                    int none = 1;
                    first_wrong_rc.compare_exchange_strong(none, rc);
                    hot_wrong++;
                }
                if (crc != CACHE_MISS && crc != CACHE_EUNAVAILABLE && crc != CACHE_ETIMEOUT)
                    cold_bad_status++;
                hot_reads++;
                i++;
                sleep_ms(1);
            }
        });
    }
    sleep_ms(100);
    server_.kill_hard();
    sleep_ms(500); // long enough for the breaker to open under this load

    // During the outage.
    std::string s = stats_of(c);
    EXPECT_NE(s.find("\"state\":\"open\""), std::string::npos) << s;
    int rc;
    for (int i = 0; i < kHot; i++)
        EXPECT_EQ(get_string(c, "hot:" + std::to_string(i), &rc), "v" + std::to_string(i));
    // Misses fail at once with the breaker open: take the median of many.
    std::vector<double> took;
    for (int i = 0; i < 50; i++) {
        auto t0 = Clock::now();
        get_string(c, "miss:" + std::to_string(i), &rc);
        took.push_back(ms_since(t0));
        EXPECT_EQ(rc, CACHE_EUNAVAILABLE);
    }
    std::sort(took.begin(), took.end());
    EXPECT_LT(took[took.size() / 2], 1.0) << "median miss during the outage, ms";
    EXPECT_NE(std::string(cache_last_error()).find("circuit breaker is open"), std::string::npos)
        << cache_last_error();
    EXPECT_EQ(cache_delete(c, "doomed", 6), CACHE_OK) << cache_last_error();
    get_string(c, "doomed", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    EXPECT_EQ(set_string(c, "during", "new"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_string(c, "during"), "new");

    // Back on the same port, with its data (the AOF) but without our delete.
    server_.start();
    EXPECT_TRUE(wait_for_recovery(c));
    stop = true;
    for (auto &t : load)
        t.join();
    s = stats_of(c);
    EXPECT_NE(s.find("\"state\":\"closed\""), std::string::npos) << s;
    EXPECT_EQ(s.find("\"state\":\"open\""), std::string::npos) << s;
    EXPECT_EQ(hot_wrong.load(), 0)
        << "of " << hot_reads.load()
        << " reads of L1-resident keys; the first wrong one's status: " << first_wrong_rc.load();
    EXPECT_EQ(cold_bad_status.load(), 0);
    EXPECT_LT(slowest_us.load(), int64_t(kTimeoutMs + 500) * 1000)
        << "a call took longer than the timeout";

    cache_t *plain = open_plain();
    ASSERT_NE(plain, nullptr);
    get_string(plain, "doomed", &rc);
    EXPECT_EQ(rc, CACHE_MISS) << "a key deleted during the outage came back from Redis";
    EXPECT_EQ(get_string(plain, "hot:1"), "v1") << "the server did not keep its data";
    EXPECT_EQ(get_string(plain, "probe"), "p") << "writes do not reach Redis again";
    // outage_writes=drop (the default): the set made during the outage is
    // dropped from L1 at recovery, so both agree on the value below.
    EXPECT_EQ(get_string(plain, "during"), "old");
    EXPECT_EQ(get_string(c, "during"), "old");
    cache_close(plain);
    cache_close(c);
}

TEST_F(Outage, WriteBackAndFallback)
{
    cache_t *c = open_tiered(R"(, "outage_writes": "write_back", "stale_if_error": 60000,
                                "fallback": "memory://?max_items=1000")");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_string(c, "short", "s", 400), CACHE_OK);
    sleep_ms(100); // the notification of our own write first (see above)
    EXPECT_EQ(get_string(c, "short"), "s");
    ASSERT_NE(stats_of(c).find("\"promotions\":1"), std::string::npos) << stats_of(c);
    server_.kill_hard();
    int rc;
    // The first calls find the server gone (each within the timeout) and
    // open the breaker; none of them fails a read that L1 can serve.
    for (int i = 0; i < 5; i++) {
        auto t0 = Clock::now();
        get_string(c, "nowhere", &rc);
        EXPECT_LT(ms_since(t0), kTimeoutMs + 500);
        EXPECT_EQ(rc, CACHE_MISS) << "the fallback answers misses: " << cache_last_error();
    }
    sleep_ms(400); // "short" is past its life now, but within stale_if_error
    EXPECT_EQ(get_string(c, "short", &rc), "s");
    EXPECT_EQ(rc, CACHE_OK);
    EXPECT_NE(stats_of(c).find("\"stale_served\":1"), std::string::npos) << stats_of(c);
    ASSERT_EQ(set_string(c, "kept", "k"), CACHE_OK);
    EXPECT_EQ(get_string(c, "kept"), "k");
    server_.start();
    EXPECT_TRUE(wait_for_recovery(c));
    cache_t *plain = open_plain();
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(get_string(plain, "kept"), "k") << "write_back did not write the outage's set";
    cache_close(plain);
    cache_close(c);
}

} // namespace unicache_test
