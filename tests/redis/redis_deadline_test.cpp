// timeout_ms bounds a whole Redis call, not each read: through a fault
// proxy that trickles the server's replies one byte at a time (each byte
// well within timeout_ms of the last), every kind of call (open with its
// AUTH and SELECT, get, set, incr, batches, scripts, ping) must fail with
// CACHE_ETIMEOUT within about timeout_ms, as it does against a black hole,
// and the same handle must work again once the network behaves.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "redis_server.h"
#include "support/fault_proxy.h"
#include "unicache.h"

namespace unicache_test {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kTimeoutMs = 300;
// One byte every 150 ms: a per-read timeout of 300 ms never fires, so a
// 100-byte value takes 15 s to arrive.
constexpr milliseconds kTrickle(150);
// What "within timeout_ms" allows for scheduling on a loaded 2-vCPU machine.
constexpr int64_t kSlackMs = 700;

const char kPassword[] = "dl-S3cret-2b9a";

int64_t ms_since(Clock::time_point t)
{
    return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count();
}

ServerProcess &password_server()
{
    static ServerProcess server = ServerProcess::redis({"--requirepass", kPassword});
    server.start();
    return server;
}

std::string through(const FaultProxy &proxy, const std::string &query)
{
    return std::string("redis://:") + kPassword + "@127.0.0.1:" + std::to_string(proxy.port()) +
           "/1?timeout_ms=" + std::to_string(kTimeoutMs) + "&" + query;
}

int set_str(cache_t *c, const std::string &k, const std::string &v)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE);
}

int get_status(cache_t *c, const std::string &k)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_get(c, k.data(), k.size(), &b);
    cache_buf_free(&b);
    return rc;
}

struct Call {
    const char *name;
    std::function<int(cache_t *)> run;
};

std::vector<Call> every_call()
{
    static const std::string big(100, 'v');
    return {
        {"get", [](cache_t *c) { return get_status(c, "big"); }},
        {"set", [](cache_t *c) { return set_str(c, "k", "w"); }},
        {"incr", [](cache_t *c) { return cache_incr(c, "n", 1, 0, nullptr); }},
        {"exists", [](cache_t *c) { return cache_exists(c, "big", 3); }},
        {"ttl",
         [](cache_t *c) {
             cache_int64 ms = 0;
             return cache_ttl(c, "big", 3, &ms);
         }},
        {"get_many",
         [](cache_t *c) {
             cache_slice keys[2] = {{"big", 3}, {"k", 1}};
             cache_buf values[2] = {{nullptr, 0}, {nullptr, 0}};
             int statuses[2] = {0, 0};
             int rc = cache_get_many(c, keys, 2, values, statuses);
             cache_buf_free(&values[0]);
             cache_buf_free(&values[1]);
             return rc;
         }},
        {"set_many",
         [](cache_t *c) {
             cache_slice keys[2] = {{"a", 1}, {"b", 1}};
             cache_slice values[2] = {{"1", 1}, {"2", 1}};
             return cache_set_many(c, keys, values, 2, CACHE_TTL_NONE);
         }},
        {"set_tagged (script)",
         [](cache_t *c) {
             cache_slice tags[1] = {{"t", 1}};
             return cache_set_tagged(c, "tk", 2, big.data(), big.size(), CACHE_TTL_NONE, tags, 1);
         }},
        {"invalidate_tags (script)",
         [](cache_t *c) {
             cache_slice tags[1] = {{"t", 1}};
             size_t n = 0;
             return cache_invalidate_tags(c, tags, 1, &n);
         }},
        {"ping", [](cache_t *c) { return cache_ping(c); }},
    };
}

void expect_bounded(const char *what, int rc, Clock::time_point t0)
{
    int64_t took = ms_since(t0);
    EXPECT_EQ(rc, CACHE_ETIMEOUT) << what << ": " << cache_last_error();
    EXPECT_LT(took, kTimeoutMs + kSlackMs) << what << " must return within timeout_ms";
    std::string m = cache_last_error();
    EXPECT_NE(m.find("timeout_ms"), std::string::npos) << what << ": " << m;
    EXPECT_EQ(m.find(kPassword), std::string::npos) << m;
}

void check_every_call_under(Fault fault)
{
    FaultProxy proxy(password_server().port());
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(through(proxy, "pool_size=2").c_str(), &c), CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(set_str(c, "big", std::string(100, 'v')), CACHE_OK) << cache_last_error();
    for (const Call &call : every_call()) {
        proxy.set_fault(Fault::pass);
        ASSERT_EQ(cache_ping(c), CACHE_OK) << call.name << ": " << cache_last_error();
        proxy.set_fault(fault, kTrickle);
        auto t0 = Clock::now();
        expect_bounded(call.name, call.run(c), t0);
    }
    proxy.set_fault(Fault::pass);
    EXPECT_EQ(get_status(c, "big"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(set_str(c, "k", "x"), CACHE_OK) << cache_last_error();
    cache_close(c);
}

} // namespace

TEST(RedisDeadline, TricklingRepliesAreBoundedForEveryCall)
{
    check_every_call_under(Fault::trickle);
}

TEST(RedisDeadline, BlackHoleIsBoundedForEveryCall)
{
    check_every_call_under(Fault::drop);
}

TEST(RedisDeadline, OpenWithAuthAndSelectIsBoundedWhileTrickling)
{
    // +OK for AUTH, +OK for SELECT, +PONG: 17 bytes, 2.5 s at this pace.
    FaultProxy proxy(password_server().port());
    proxy.set_fault(Fault::trickle, kTrickle);
    cache_t *c = nullptr;
    auto t0 = Clock::now();
    int rc = cache_open(through(proxy, "").c_str(), &c);
    expect_bounded("open", rc, t0);
    EXPECT_EQ(c, nullptr);

    // lazy_connect: the first call opens the connection, within its deadline.
    ASSERT_EQ(cache_open(through(proxy, "lazy_connect=true").c_str(), &c), CACHE_OK)
        << cache_last_error();
    t0 = Clock::now();
    expect_bounded("first get (connects)", get_status(c, "big"), t0);
    proxy.set_fault(Fault::pass);
    EXPECT_NE(get_status(c, "big"), CACHE_ETIMEOUT) << cache_last_error();
    cache_close(c);
}

TEST(RedisDeadline, SlowButSteadyRepliesWithinTheDeadlineSucceed)
{
    // Each reply delayed by 50 ms: well within timeout_ms per call, so every
    // call succeeds (the deadline must not cut short what fits).
    FaultProxy proxy(password_server().port());
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(through(proxy, "").c_str(), &c), CACHE_OK) << cache_last_error();
    proxy.set_fault(Fault::delay, milliseconds(50));
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), "v"), CACHE_OK) << cache_last_error();
        ASSERT_EQ(get_status(c, "k" + std::to_string(i)), CACHE_OK) << cache_last_error();
    }
    cache_close(c);
}

} // namespace unicache_test

namespace unicache_test {

TEST(RedisSpin, SpinUsIsCheckedAndZeroStillWorks)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open(redis_uri("spin_us=1001").c_str(), &c), CACHE_EINVAL);
    EXPECT_EQ(c, nullptr);
    EXPECT_NE(std::string(cache_last_error()).find("spin_us"), std::string::npos)
        << cache_last_error();
    EXPECT_EQ(cache_open(redis_uri("spin_us=-1").c_str(), &c), CACHE_EINVAL);
    for (const char *spin : {"spin_us=0", "spin_us=1000"}) {
        ASSERT_EQ(cache_open(redis_uri(spin).c_str(), &c), CACHE_OK) << cache_last_error();
        for (int i = 0; i < 50; i++) {
            ASSERT_EQ(set_str(c, "spin", std::to_string(i)), CACHE_OK) << cache_last_error();
            cache_buf b = {nullptr, 0};
            ASSERT_EQ(cache_get(c, "spin", 4, &b), CACHE_OK) << cache_last_error();
            EXPECT_EQ(std::string(static_cast<const char *>(b.data), b.size), std::to_string(i));
            cache_buf_free(&b);
        }
        cache_buf info = {nullptr, 0};
        ASSERT_EQ(cache_backend_info(c, &info), CACHE_OK);
        std::string text(static_cast<const char *>(info.data), info.size);
        EXPECT_NE(text.find(std::string(spin).replace(7, 1, ":")), std::string::npos) << text;
        cache_buf_free(&info);
        cache_close(c);
    }
}

} // namespace unicache_test
