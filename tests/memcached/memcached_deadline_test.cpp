// timeout_ms bounds a whole memcached call, not each read (issue 10, item
// 4): through a fault proxy that trickles the server's replies one byte at
// a time (each byte well within timeout_ms of the last), every kind of call
// must fail with CACHE_ETIMEOUT within about timeout_ms, as it does against
// a black hole, on both read paths (the fast get's own socket and
// libmemcached, text and binary protocol), and the same handle must work
// again once the network behaves.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "memcached_test_support.h"
#include "support/fault_proxy.h"

namespace unicache_test {

namespace {

using std::chrono::milliseconds;

constexpr int kTimeoutMs = 300;
// One byte every 200 ms: a per-read timeout of 300 ms never fires, so a
// 100-byte item takes 20 s to arrive.
constexpr milliseconds kTrickle(200);
// What "within timeout_ms" allows for the watcher's tick and scheduling on
// a loaded 2-vCPU machine.
constexpr int64_t kSlackMs = 700;

ServerProcess &server()
{
    static ServerProcess s = ServerProcess::memcached();
    s.start();
    return s;
}

std::string through(const FaultProxy &proxy, const std::string &query)
{
    // retry_timeout_s=0: a server that timed out is tried again at once, so
    // that the next call can show the handle still works.
    return "memcached://127.0.0.1:" + std::to_string(proxy.port()) +
           "?timeout_ms=" + std::to_string(kTimeoutMs) + "&retry_timeout_s=0&" + query;
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
    return {
        {"get", [](cache_t *c) { return get_status(c, "big"); }},
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
        {"incr", [](cache_t *c) { return cache_incr(c, "n", 1, 0, nullptr); }},
        {"set", [](cache_t *c) { return set_str(c, "k", "w"); }},
        {"delete", [](cache_t *c) { return cache_delete(c, "k", 1); }},
        {"ping", [](cache_t *c) { return cache_ping(c); }},
    };
}

void expect_bounded(const std::string &what, int rc, Clock::time_point t0)
{
    int64_t took = ms_since(t0);
    EXPECT_EQ(rc, CACHE_ETIMEOUT) << what << ": " << cache_last_error();
    EXPECT_LT(took, kTimeoutMs + kSlackMs) << what << " must return within timeout_ms";
    std::string m = cache_last_error();
    EXPECT_NE(m.find("timeout_ms=300"), std::string::npos) << what << ": " << m;
}

void check_every_call_under(Fault fault, const std::string &query)
{
    FaultProxy proxy(server().port());
    cache_t *c = open_uri(through(proxy, query));
    ASSERT_NE(c, nullptr);
    // 100 bytes of value plus unicache's header and memcached's framing.
    ASSERT_EQ(set_str(c, "big", std::string(100, 'v'), 600000), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(c, "n", "5"), CACHE_OK) << cache_last_error();
    for (const Call &call : every_call()) {
        SCOPED_TRACE(query + " " + call.name);
        proxy.set_fault(Fault::pass);
        ASSERT_EQ(until_ok(3000, [&] { return cache_ping(c); }), CACHE_OK)
            << call.name << ": " << cache_last_error();
        proxy.set_fault(fault, kTrickle);
        auto t0 = Clock::now();
        expect_bounded(query + " " + call.name, call.run(c), t0);
    }
    proxy.set_fault(Fault::pass);
    EXPECT_EQ(until_ok(3000, [&] { return get_status(c, "big"); }), CACHE_OK) << cache_last_error();
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_get(c, "big", 3, &b), CACHE_OK) << cache_last_error();
    EXPECT_EQ(std::string(static_cast<const char *>(b.data), b.size), std::string(100, 'v'));
    cache_buf_free(&b);
    EXPECT_EQ(set_str(c, "k", "x"), CACHE_OK) << cache_last_error();
    cache_close(c);
}

const char *const kReadPaths[] = {"fast_get=true", "fast_get=false", "binary=true"};

} // namespace

TEST(MemcachedDeadline, TricklingRepliesAreBoundedForEveryCallOnEveryReadPath)
{
    for (const char *path : kReadPaths)
        check_every_call_under(Fault::trickle, path);
}

TEST(MemcachedDeadline, BlackHoleIsBoundedForEveryCallOnEveryReadPath)
{
    for (const char *path : kReadPaths)
        check_every_call_under(Fault::drop, path);
}

TEST(MemcachedDeadline, SlowButSteadyRepliesWithinTheDeadlineSucceed)
{
    // Each reply delayed by 50 ms: well within timeout_ms per call, so every
    // call succeeds (the deadline must not cut short what fits).
    for (const char *path : kReadPaths) {
        SCOPED_TRACE(path);
        FaultProxy proxy(server().port());
        cache_t *c = open_uri(through(proxy, path));
        ASSERT_NE(c, nullptr);
        proxy.set_fault(Fault::delay, milliseconds(50));
        for (int i = 0; i < 3; i++) {
            std::string k = "steady" + std::to_string(i);
            ASSERT_EQ(set_str(c, k, "v"), CACHE_OK) << cache_last_error();
            ASSERT_EQ(get_status(c, k), CACHE_OK) << cache_last_error();
            ASSERT_EQ(cache_incr(c, "steady-n", 1, 0, nullptr), CACHE_OK) << cache_last_error();
        }
        cache_close(c);
    }
}

} // namespace unicache_test
