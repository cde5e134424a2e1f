// cache_set_log_handler: the events operators need, from real servers that
// the tests stop and start (Redis with a password in the URI, memcached
// rings, a tiered cache's breaker), each line checked for the password and
// for values; levels, turning logging off, and a handler that calls back
// into the library.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/log_recorder.h"
#include "support/server_process.h"
#include "unicache.h"

using unicache_test::dump;
using unicache_test::Line;
using unicache_test::Recorder;
using unicache_test::ServerProcess;

namespace {

const char kSecret[] = "Pw-7f3a9c";
const char kValue[] = "VALUE-b81d";

// What no line may hold, in any part: the password and the value.
const std::vector<std::string> kForbidden = {kSecret, "7f3a9c", kValue};

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

TEST(Log, LevelAboveDebugIsInvalidAndLeavesTheHandler)
{
    Recorder r;
    EXPECT_EQ(cache_set_log_handler(nullptr, nullptr, CACHE_LOG_DEBUG + 1), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("min_level"), std::string::npos);
    // Still installed: a call to a server that is not there is logged.
    cache_t *c = open_ok("redis://127.0.0.1:" + std::to_string(ServerProcess::free_port()) +
                         "/0?lazy_connect=1&max_retries=0");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(get_str(c, "k"), CACHE_EUNAVAILABLE);
    EXPECT_EQ(r.with("connection lost").size(), 1u) << dump(r.lines());
    cache_close(c);
}

TEST(Log, LevelsNumbersAreTheIssues)
{
    EXPECT_EQ(CACHE_LOG_ERROR, 1);
    EXPECT_EQ(CACHE_LOG_WARN, 2);
    EXPECT_EQ(CACHE_LOG_INFO, 3);
    EXPECT_EQ(CACHE_LOG_DEBUG, 4);
}

TEST(Log, SlowMsIsCheckedAtOpen)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open("memory://?slow_ms=-1", &c), CACHE_EINVAL);
    EXPECT_EQ(c, nullptr);
    EXPECT_EQ(cache_open("memory://?slow_ms=abc", &c), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("slow_ms"), std::string::npos)
        << cache_last_error();
}

class RedisLog : public ::testing::Test {
protected:
    RedisLog() : server_(ServerProcess::redis({"--requirepass", kSecret})) {}
    void SetUp() override { server_.start(); }
    std::string uri(const std::string &params) const
    {
        return "redis://:" + std::string(kSecret) + "@127.0.0.1:" + std::to_string(server_.port()) +
               "/0?" + params;
    }
    ServerProcess server_;
};

TEST_F(RedisLog, LostRetriesAndRestoredNeverShowThePassword)
{
    Recorder r;
    cache_t *c = open_ok(uri("max_retries=2&retry_delay_ms=5&timeout_ms=2000"));
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "k", kValue), CACHE_OK);
    EXPECT_TRUE(r.with("connection").empty()) << dump(r.lines());

    server_.stop();
    EXPECT_EQ(get_str(c, "k"), CACHE_EUNAVAILABLE);
    // Delivered before the call returned: the lines of a call come at its end.
    std::vector<Line> lost = r.with("connection lost");
    ASSERT_EQ(lost.size(), 1u) << dump(r.lines());
    EXPECT_EQ(lost[0].level, CACHE_LOG_WARN);
    EXPECT_NE(lost[0].text.find("redis 127.0.0.1:" + std::to_string(server_.port())),
              std::string::npos)
        << lost[0].text;
    std::vector<Line> retries = r.with("retrying in");
    ASSERT_EQ(retries.size(), 2u) << dump(r.lines());
    EXPECT_EQ(retries[0].level, CACHE_LOG_INFO);
    EXPECT_NE(retries[1].text.find("retry 2 of 2"), std::string::npos) << retries[1].text;

    // Still down: no second "lost" line.
    EXPECT_EQ(get_str(c, "k"), CACHE_EUNAVAILABLE);
    EXPECT_EQ(r.with("connection lost").size(), 1u) << dump(r.lines());

    server_.start();
    EXPECT_EQ(set_str(c, "k", kValue), CACHE_OK) << cache_last_error();
    std::vector<Line> back = r.with("connection restored");
    ASSERT_EQ(back.size(), 1u) << dump(r.lines());
    EXPECT_EQ(back[0].level, CACHE_LOG_WARN);
    cache_close(c);
    r.expect_clean(kForbidden);
}

TEST_F(RedisLog, WarnLevelLeavesRetriesOut)
{
    Recorder r(CACHE_LOG_WARN);
    cache_t *c = open_ok(uri("max_retries=2&retry_delay_ms=5"));
    ASSERT_NE(c, nullptr);
    server_.stop();
    EXPECT_EQ(get_str(c, "k"), CACHE_EUNAVAILABLE);
    EXPECT_EQ(r.with("connection lost").size(), 1u) << dump(r.lines());
    EXPECT_TRUE(r.with("retrying").empty()) << dump(r.lines());
    cache_close(c);
    r.expect_clean(kForbidden);
}

TEST_F(RedisLog, OffDeliversNothing)
{
    Recorder r;
    cache_set_log_handler(nullptr, nullptr, CACHE_LOG_DEBUG);
    cache_t *c = open_ok(uri("max_retries=1&retry_delay_ms=5"));
    ASSERT_NE(c, nullptr);
    server_.stop();
    EXPECT_EQ(get_str(c, "k"), CACHE_EUNAVAILABLE);
    cache_close(c);
    EXPECT_TRUE(r.lines().empty()) << dump(r.lines());
}

TEST_F(RedisLog, SlowOperationOverSlowMs)
{
    Recorder r;
    cache_t *c = open_ok(uri("slow_ms=40&timeout_ms=5000"));
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "k", kValue), CACHE_OK);
    EXPECT_TRUE(r.with("slow").empty()) << dump(r.lines());
    server_.pause();
    std::thread resume([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        server_.resume();
    });
    EXPECT_EQ(get_str(c, "k"), CACHE_OK) << cache_last_error();
    resume.join();
    std::vector<Line> slow = r.with("slow get");
    ASSERT_EQ(slow.size(), 1u) << dump(r.lines());
    EXPECT_EQ(slow[0].level, CACHE_LOG_WARN);
    EXPECT_NE(slow[0].text.find("slow_ms=40"), std::string::npos) << slow[0].text;
    EXPECT_NE(slow[0].text.find("redis://"), std::string::npos) << slow[0].text;
    cache_close(c);
    r.expect_clean(kForbidden);
}

TEST_F(RedisLog, BreakerOpensAndClosesInATieredCache)
{
    Recorder r;
    std::string l2 = uri("max_retries=0&timeout_ms=500&connect_timeout_ms=500");
    cache_t *c = open_ok(R"({"tiers": ["memory://", ")" + l2 +
                         R"("], "l1_ttl": 60000, "breaker_failures": 2, "breaker_reset": 100})");
    ASSERT_NE(c, nullptr);
    server_.stop();
    for (int i = 0; i < 4; i++)
        get_str(c, "absent" + std::to_string(i));
    std::vector<Line> open = r.with("circuit breaker open");
    ASSERT_EQ(open.size(), 1u) << dump(r.lines());
    EXPECT_EQ(open[0].level, CACHE_LOG_WARN);
    EXPECT_NE(open[0].text.find("tier 2"), std::string::npos) << open[0].text;
    server_.start();
    bool closed = false;
    for (int i = 0; i < 200 && !closed; i++) {
        closed = cache_ping(c) == CACHE_OK;
        if (!closed)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(closed);
    EXPECT_EQ(r.with("circuit breaker closed").size(), 1u) << dump(r.lines());
    cache_close(c);
    r.expect_clean(kForbidden);
}

TEST_F(RedisLog, InvalidationConnectionLostAndRestored)
{
    Recorder r;
    cache_t *c = open_ok(R"({"tiers": ["memory://", ")" + uri("timeout_ms=500") + R"("]})");
    ASSERT_NE(c, nullptr);
    server_.stop();
    ASSERT_TRUE(r.wait_for("invalidation connection")) << dump(r.lines());
    server_.start();
    ASSERT_TRUE(r.wait_for("invalidation connection restored")) << dump(r.lines());
    ASSERT_TRUE(r.wait_for("coherence flush")) << dump(r.lines());
    cache_close(c);
    r.expect_clean(kForbidden);
}

TEST(Log, MemcachedServerLostDroppedFromTheRingAndRestored)
{
    ServerProcess a = ServerProcess::memcached();
    ServerProcess b = ServerProcess::memcached();
    a.start();
    b.start();
    Recorder r;
    std::string uri = "memcached://127.0.0.1:" + std::to_string(a.port()) +
                      ",127.0.0.1:" + std::to_string(b.port()) +
                      "?remove_failed_servers=1&retry_timeout_s=1&timeout_ms=300";
    cache_t *c = open_ok(uri);
    ASSERT_NE(c, nullptr);
    for (int i = 0; i < 20; i++)
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), kValue), CACHE_OK) << cache_last_error();
    b.stop();
    std::string name = "memcached 127.0.0.1:" + std::to_string(b.port());
    // libmemcached tries a failed server again after retry_timeout_s, and
    // drops it at the second failure in a row.
    for (int i = 0; i < 400 && r.with(name + ": dropped").empty(); i++) {
        get_str(c, "k" + std::to_string(i % 20));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::vector<Line> lost = r.with(name + ": connection lost");
    ASSERT_EQ(lost.size(), 1u) << dump(r.lines());
    EXPECT_EQ(lost[0].level, CACHE_LOG_WARN);
    std::vector<Line> dropped = r.with(name + ": dropped from the ring");
    ASSERT_EQ(dropped.size(), 1u) << dump(r.lines());
    EXPECT_TRUE(r.with("memcached 127.0.0.1:" + std::to_string(a.port())).empty())
        << dump(r.lines());
    // Back after retry_timeout_s: in the ring again, and said once.
    b.start();
    for (int i = 0; i < 500 && r.with(name + ": connection restored").empty(); i++) {
        get_str(c, "k" + std::to_string(i % 20));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(r.with(name + ": connection restored").size(), 1u) << dump(r.lines());
    cache_close(c);
    r.expect_clean(kForbidden);
}

namespace {

// A handler that calls into the library (a get on the cache whose call
// produced the line, and the handler's own replacement): nothing may hold a
// lock it needs.
struct Reentrant {
    cache_t *cache = nullptr;
    std::atomic<int> calls{0};
    std::atomic<int> gets_ok{0};
};

void reentrant_handler(void *ctx, int, const char *)
{
    auto *r = static_cast<Reentrant *>(ctx);
    r->calls++;
    if (get_str(r->cache, "k") == CACHE_OK)
        r->gets_ok++;
    // Re-installing itself from inside a delivery is allowed.
    cache_set_log_handler(reentrant_handler, ctx, CACHE_LOG_DEBUG);
}

} // namespace

TEST(Log, HandlerMayCallIntoTheLibrary)
{
    ServerProcess server = ServerProcess::redis();
    server.start();
    cache_t *c = open_ok("redis://127.0.0.1:" + std::to_string(server.port()) + "/0?slow_ms=1");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "k", kValue), CACHE_OK);
    Reentrant r;
    r.cache = c;
    ASSERT_EQ(cache_set_log_handler(reentrant_handler, &r, CACHE_LOG_DEBUG), CACHE_OK);
    server.pause();
    std::thread resume([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        server.resume();
    });
    EXPECT_EQ(get_str(c, "k"), CACHE_OK);
    resume.join();
    cache_set_log_handler(nullptr, nullptr, 0);
    // One slow get logged; the handler's own get may be slow too (its line
    // is delivered after the handler returns, not inside it), so at least one.
    EXPECT_GE(r.calls.load(), 1);
    EXPECT_EQ(r.gets_ok.load(), r.calls.load());
    cache_close(c);
}

TEST(Log, ManyThreadsWhileTheHandlerChanges)
{
    ServerProcess server = ServerProcess::redis();
    server.start();
    std::string uri = "redis://127.0.0.1:" + std::to_string(server.port()) +
                      "/0?max_retries=1&retry_delay_ms=1&lazy_connect=1";
    server.stop(); // every call fails and logs
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([&] {
            cache_t *c = open_ok(uri);
            for (int i = 0; i < 200 && !stop.load(); i++)
                get_str(c, "k");
            cache_close(c);
        });
    // Each handler is replaced (by the next one, then by NULL in its
    // destructor) and freed while the threads log: cache_set_log_handler
    // returns only once no delivery to it is running, so ASan sees no
    // Recorder freed under a delivery.
    for (int i = 0; i < 50; i++) {
        Recorder r(i % 2 ? CACHE_LOG_INFO : CACHE_LOG_WARN);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        r.expect_clean(kForbidden);
    }
    stop = true;
    for (auto &t : threads)
        t.join();
}

namespace {

struct SlowHandler {
    std::atomic<int> entered{0};
    std::atomic<int> returned{0};
};

void slow_handler(void *ctx, int, const char *)
{
    auto *h = static_cast<SlowHandler *>(ctx);
    if (h->entered.fetch_add(1) == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        h->returned = 1;
    }
}

} // namespace

TEST(Log, ReplacingTheHandlerWaitsForDeliveriesInOtherThreads)
{
    ServerProcess server = ServerProcess::redis();
    server.start();
    std::string uri = "redis://127.0.0.1:" + std::to_string(server.port()) +
                      "/0?max_retries=1&retry_delay_ms=1&lazy_connect=1";
    server.stop(); // the call fails and logs
    auto *h = new SlowHandler;
    ASSERT_EQ(cache_set_log_handler(slow_handler, h, CACHE_LOG_DEBUG), CACHE_OK);
    std::thread worker([&] {
        cache_t *c = open_ok(uri);
        get_str(c, "k");
        cache_close(c);
    });
    for (int i = 0; i < 1000 && h->entered.load() == 0; i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GT(h->entered.load(), 0) << "no line was delivered";
    ASSERT_EQ(cache_set_log_handler(nullptr, nullptr, 0), CACHE_OK);
    // The delivery in the worker was running: it has ended now, so ctx may go.
    EXPECT_EQ(h->returned.load(), 1);
    delete h;
    worker.join();
}
