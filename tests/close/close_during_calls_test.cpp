// cache_close while other threads are inside calls on the handle: it waits
// for them, and they return normally, on every backend (issue 10, break 5:
// before, the handle was freed under them, a use-after-free under ASan and
// a segfault or abort otherwise).
//
// The calls must really be in flight when cache_close starts. On Redis and
// memcached they wait behind a fault proxy that holds each reply 300 ms;
// on memory and sqlite they are large get_many batches. Each thread says it
// is about to call; the closer waits for all of them and a little more, so
// every call has started (a call starting after cache_close is the
// caller's bug, documented in unicache.h, and is not what this tests).
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/cache_io.h"
#include "support/fault_proxy.h"
#include "support/server_process.h"
#include "unicache.h"

using namespace std::chrono;
using unicache_test::Fault;
using unicache_test::FaultProxy;
using unicache_test::ServerProcess;

namespace {

constexpr int kThreads = 3;

ServerProcess *g_redis = nullptr;
ServerProcess *g_memcached = nullptr;

class Servers : public ::testing::Environment {
public:
    void SetUp() override
    {
#ifdef UNICACHE_TEST_REDIS
        g_redis = new ServerProcess(ServerProcess::redis());
        g_redis->start();
#endif
#ifdef UNICACHE_TEST_MEMCACHED
        g_memcached = new ServerProcess(ServerProcess::memcached());
        g_memcached->start();
#endif
    }
    void TearDown() override
    {
        delete g_redis;
        delete g_memcached;
    }
};
const auto *g_env = ::testing::AddGlobalTestEnvironment(new Servers);

std::vector<std::string> backends()
{
    std::vector<std::string> b = {"memory"};
#ifdef UNICACHE_TEST_SQLITE
    b.push_back("sqlite");
#endif
#ifdef UNICACHE_TEST_REDIS
    b.push_back("redis");
#endif
#ifdef UNICACHE_TEST_MEMCACHED
    b.push_back("memcached");
#endif
    return b;
}

std::string sqlite_path() { return "/tmp/unicache-close-" + std::to_string(getpid()) + ".db"; }

void remove_sqlite_files()
{
    for (const char *ext : {"", "-wal", "-shm"})
        unlink((sqlite_path() + ext).c_str());
}

struct Keys {
    std::vector<std::string> names;
    std::vector<cache_slice> slices;
    explicit Keys(size_t n)
    {
        for (size_t i = 0; i < n; i++)
            names.push_back("k" + std::to_string(i));
        for (auto &k : names)
            slices.push_back({k.data(), k.size()});
    }
};

class CloseDuringCalls : public ::testing::TestWithParam<std::string> {};

TEST_P(CloseDuringCalls, WaitsForTheCallsInFlightOnOtherThreads)
{
    const std::string backend = GetParam();
    const bool network = backend == "redis" || backend == "memcached";
    std::unique_ptr<FaultProxy> proxy;
    std::string uri;
    if (backend == "memory") {
        uri = "memory://";
    } else if (backend == "sqlite") {
        remove_sqlite_files();
        uri = "sqlite://" + sqlite_path();
    } else {
        proxy.reset(new FaultProxy(backend == "redis" ? g_redis->port() : g_memcached->port()));
        uri = backend + "://127.0.0.1:" + std::to_string(proxy->port()) +
              (backend == "redis" ? "/0" : "") + "?timeout_ms=10000";
    }
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();

    // Every key of the batch is stored, so a call that completes on a live
    // handle answers CACHE_OK with every status CACHE_OK.
    const size_t n = network ? 50 : backend == "memory" ? 200000 : 20000;
    Keys keys(n);
    std::vector<cache_slice> values(n, cache_slice{"v", 1});
    for (size_t i = 0; i < n; i += 1000) {
        size_t m = std::min<size_t>(1000, n - i);
        ASSERT_EQ(cache_set_many(c, &keys.slices[i], &values[i], m, CACHE_TTL_NONE), CACHE_OK)
            << cache_last_error();
    }
    if (proxy)
        proxy->set_fault(Fault::delay, milliseconds(300));

    std::atomic<int> about_to_call{0};
    std::vector<int> rc(kThreads, -1000);
    std::vector<size_t> hits(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&, t] {
            std::vector<cache_buf> out(n);
            std::vector<int> statuses(n);
            about_to_call.fetch_add(1);
            rc[t] = cache_get_many(c, keys.slices.data(), n, out.data(), statuses.data());
            for (size_t i = 0; i < n; i++) {
                hits[t] += statuses[i] == CACHE_OK && out[i].size == 1;
                cache_buf_free(&out[i]);
            }
        });
    while (about_to_call.load() < kThreads)
        std::this_thread::sleep_for(milliseconds(1));
    std::this_thread::sleep_for(milliseconds(network ? 50 : 2));
    cache_close(c);
    for (auto &th : threads)
        th.join();
    for (int t = 0; t < kThreads; t++) {
        EXPECT_EQ(rc[t], CACHE_OK) << "thread " << t;
        EXPECT_EQ(hits[t], n) << "thread " << t;
    }
    if (backend == "sqlite")
        remove_sqlite_files();
}

// Closing with no call in flight, and NULL, still works (the wait is
// not a hang when nothing is running, nor after threads have ended).
TEST(CloseAfterCalls, ReturnsWithNothingInFlight)
{
    for (int round = 0; round < 50; round++) {
        cache_t *c = nullptr;
        ASSERT_EQ(cache_open("memory://", &c), CACHE_OK);
        std::thread([c] { EXPECT_EQ(unicache_test::set_string(c, "a", "b"), CACHE_OK); }).join();
        EXPECT_EQ(unicache_test::get_string(c, "a"), "b");
        cache_close(c);
    }
    cache_close(nullptr);
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, CloseDuringCalls, ::testing::ValuesIn(backends()),
                         [](const auto &info) { return info.param; });

} // namespace
