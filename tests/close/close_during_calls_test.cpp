// cache_close while other threads are inside calls on the handle: it waits
// for them, and they return normally, on every backend (issue 10, break 5:
// before, the handle was freed under them, a use-after-free under ASan and
// a segfault or abort otherwise).
//
// The calls must really be in flight when cache_close starts (a call
// starting after cache_close is the caller's bug, documented in unicache.h,
// and is not what this tests). So each thread's call is a cache_fetch of a
// missing key whose compute callback, run inside the call, says so and then
// takes 100 ms: the closer starts once every callback has spoken. (A thread
// saying "about to call" before the call, as this test once did, could be
// descheduled long enough on a loaded machine to call after the close.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/cache_io.h"
#include "support/every_backend.h"
#include "support/fault_proxy.h"
#include "unicache.h"

using namespace std::chrono;
using unicache_test::BackendServers;
using unicache_test::Fault;
using unicache_test::FaultProxy;

namespace {

constexpr int kThreads = 3;

std::vector<std::string> backends()
{
    return unicache_test::built_backends();
}

std::string sqlite_path()
{
    return "/tmp/unicache-close-" + std::to_string(getpid()) + ".db";
}

void remove_sqlite_files()
{
    for (const char *ext : {"", "-wal", "-shm"})
        unlink((sqlite_path() + ext).c_str());
}

class CloseDuringCalls : public ::testing::TestWithParam<std::string> {};

TEST_P(CloseDuringCalls, WaitsForTheCallsInFlightOnOtherThreads)
{
    const std::string backend = GetParam();
    std::unique_ptr<FaultProxy> proxy;
    std::string uri;
    if (backend == "memory") {
        uri = "memory://";
    } else if (backend == "sqlite") {
        remove_sqlite_files();
        uri = "sqlite://" + sqlite_path();
    } else {
        proxy.reset(new FaultProxy(backend == "redis" ? BackendServers::redis().port()
                                                      : BackendServers::memcached().port()));
        uri = backend + "://127.0.0.1:" + std::to_string(proxy->port()) +
              (backend == "redis" ? "/0" : "") + "?timeout_ms=10000";
    }
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();

    struct Shared {
        std::atomic<int> inside{0};
    } shared;
    cache_compute_fn compute = [](void *ctx, const void *, size_t, cache_buf *value,
                                  cache_int64 *) -> int {
        static_cast<Shared *>(ctx)->inside.fetch_add(1);
        std::this_thread::sleep_for(milliseconds(100));
        int rc = cache_buf_alloc(value, 1);
        if (rc == CACHE_OK)
            static_cast<char *>(value->data)[0] = 'v';
        return rc;
    };
    std::vector<int> rc(kThreads, -1000);
    std::vector<std::string> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&, t] {
            std::string key = "absent-" + std::to_string(t);
            cache_buf out = {nullptr, 0};
            rc[t] = cache_fetch(c, key.data(), key.size(), compute, &shared, 60000, &out);
            if (out.data)
                got[t].assign(static_cast<const char *>(out.data), out.size);
            cache_buf_free(&out);
        });
    auto deadline = steady_clock::now() + seconds(30);
    while (shared.inside.load() < kThreads && steady_clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds(1));
    EXPECT_EQ(shared.inside.load(), kThreads) << "the computes did not all start";
    cache_close(c);
    for (auto &th : threads)
        th.join();
    for (int t = 0; t < kThreads; t++) {
        EXPECT_EQ(rc[t], CACHE_OK) << "thread " << t;
        EXPECT_EQ(got[t], "v") << "thread " << t;
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
