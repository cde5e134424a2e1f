// The fork matrix: every backend, a handle opened before fork() and used
// after it, in each way a pre-forking program does: fork while idle, fork
// while other threads are inside calls, close in the child, close in the
// parent first, exit without close, and a child that opens caches of its
// own. Each scenario runs in a bounded process of its own, and each child it
// forks is bounded again: a hang is a failure with a message, never a hung
// suite.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "fork/bounded_child.h"
#include "support/every_backend.h"
#include "unicache.h"

using namespace std::chrono;
using unicache_test::BackendServers;
using unicache_test::ChildResult;
using unicache_test::fork_child;
using unicache_test::run_bounded;
using unicache_test::wait_bounded;

namespace {

#if defined(__SANITIZE_ADDRESS__)
// GCC 12's libsanitizer allocator takes no lock across fork(): a child
// forked while another thread is inside malloc can hang in its own first
// malloc, whatever unicache does. Under ASan the hammering threads therefore
// park between calls around each fork; the unsanitized build forks into the
// middle of free-running calls, which is the real check.
constexpr bool kParkForFork = true;
#else
constexpr bool kParkForFork = false;
#endif

// LeakSanitizer in a child forked while other threads were busy: what those
// threads held at the fork (a key being built, a reply being read) is
// unreachable in the child, where they never run again. That is fork(), not
// a leak; the parent's own check at its exit covers every allocation the
// library makes. Set in such children only.
bool g_child_of_busy_parent = false;

} // namespace

extern "C" int __lsan_is_turned_off()
{
    return g_child_of_busy_parent ? 1 : 0;
}

namespace {

constexpr milliseconds kChildLimit(10000);
constexpr milliseconds kScenarioLimit(45000);

std::vector<std::string> backends()
{
    return unicache_test::built_backends();
}

// A URI for the backend; sqlite gets a fresh file per scenario process.
std::string uri_for(const std::string &backend)
{
    if (backend == "memory") // a busy reaper: it is a thread the child lacks
        return "memory://?expiry_interval_ms=2";
    if (backend == "sqlite") {
        std::string path = "/tmp/unicache-fork-" + std::to_string(getpid()) + ".db";
        for (const char *ext : {"", "-wal", "-shm"})
            unlink((path + ext).c_str());
        return "sqlite://" + path;
    }
    if (backend == "redis")
        return "redis://127.0.0.1:" + std::to_string(BackendServers::redis().port()) + "/0";
    return "memcached://127.0.0.1:" + std::to_string(BackendServers::memcached().port());
}

void remove_sqlite_files()
{
    std::string path = "/tmp/unicache-fork-" + std::to_string(getpid()) + ".db";
    for (const char *ext : {"", "-wal", "-shm"})
        unlink((path + ext).c_str());
}

// Scenario bodies return 0 or a failure code after printing why.
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "[pid %d] %s:%d: %s failed: %s\n", int(getpid()), __FILE__, __LINE__,  \
                    #cond, cache_last_error());                                                    \
            return __LINE__ % 200 + 1;                                                             \
        }                                                                                          \
    } while (0)

std::string key_of(const std::string &who, int i)
{
    return who + ":" + std::to_string(i);
}

// `n` set + get round trips on keys of `who`'s own; 0 when all came back.
int round_trips(cache_t *c, const std::string &who, int n)
{
    for (int i = 0; i < n; i++) {
        std::string k = key_of(who, i), v = "v-" + k;
        REQUIRE(cache_set(c, k.data(), k.size(), v.data(), v.size(), 60000) == CACHE_OK);
        cache_buf b = {nullptr, 0};
        REQUIRE(cache_get(c, k.data(), k.size(), &b) == CACHE_OK);
        bool same = std::string(static_cast<char *>(b.data), b.size) == v;
        cache_buf_free(&b);
        REQUIRE(same);
    }
    return 0;
}

int expect_value(cache_t *c, const std::string &k, const std::string &v)
{
    cache_buf b = {nullptr, 0};
    REQUIRE(cache_get(c, k.data(), k.size(), &b) == CACHE_OK);
    bool same = std::string(static_cast<char *>(b.data), b.size) == v;
    cache_buf_free(&b);
    REQUIRE(same);
    return 0;
}

int child_status(pid_t pid)
{
    ChildResult r = wait_bounded(pid, kChildLimit);
    if (!r.ok())
        fprintf(stderr, "[pid %d] %s\n", int(getpid()), r.describe().c_str());
    return r.ok() ? 0 : 150 + (r.hung ? 1 : 0);
}

// Threads that keep calling into c (sets with short TTLs, gets, counters,
// deletes) until stop: the calls a fork lands in the middle of.
class Hammer {
public:
    Hammer(cache_t *c, int threads) : running_(threads)
    {
        for (int t = 0; t < threads; t++)
            threads_.emplace_back([this, c, t] { run(c, t); });
    }
    ~Hammer() { stop(); }
    void stop()
    {
        stop_ = true;
        for (auto &t : threads_)
            if (t.joinable())
                t.join();
    }
    long calls() const { return calls_; }

    // Forks with the hammering threads mid-call, or parked between calls
    // under ASan (kParkForFork); the caller must not hold a lock they need.
    pid_t fork_into(const std::function<int()> &body, bool exit_normally)
    {
        if (kParkForFork) {
            park_ = true;
            while (parked_.load() < running_.load())
                std::this_thread::yield();
        }
        pid_t pid = fork_child(
            [&] {
                g_child_of_busy_parent = true;
                return body();
            },
            exit_normally);
        park_ = false;
        return pid;
    }

private:
    void run(cache_t *c, int t)
    {
        auto until = steady_clock::now() + seconds(30);
        for (int i = 0; !stop_ && steady_clock::now() < until; i++) {
            if (park_) {
                parked_++;
                while (park_ && !stop_)
                    std::this_thread::yield();
                parked_--;
            }
            std::string k = "hammer" + std::to_string(t) + ":" + std::to_string(i % 500);
            cache_set(c, k.data(), k.size(), "x", 1, 1 + i % 5);
            cache_buf b = {nullptr, 0};
            cache_get(c, k.data(), k.size(), &b);
            cache_buf_free(&b);
            cache_int64 n;
            cache_incr(c, "hammer-count", 12, 1, &n);
            if (i % 7 == 0)
                cache_delete(c, k.data(), k.size());
            calls_ += 4;
        }
        running_--;
    }
    std::atomic<bool> stop_{false};
    std::atomic<bool> park_{false};
    std::atomic<int> parked_{0}, running_{0};
    std::atomic<long> calls_{0};
    std::vector<std::thread> threads_;
};

class ForkMatrix : public ::testing::TestWithParam<std::string> {
protected:
    // Runs the scenario in a bounded process of its own.
    void run(const std::function<int(const std::string &uri)> &scenario)
    {
        std::string backend = GetParam();
        ChildResult r = run_bounded(
            [&] {
                int rc = scenario(uri_for(backend));
                remove_sqlite_files();
                return rc;
            },
            kScenarioLimit);
        EXPECT_TRUE(r.ok()) << backend << ": " << r.describe();
    }
};

} // namespace

TEST_P(ForkMatrix, ForkIdleThenCloseInTheChild)
{
    run([](const std::string &uri) {
        cache_t *c = nullptr;
        REQUIRE(cache_open(uri.c_str(), &c) == CACHE_OK);
        REQUIRE(cache_set(c, "before", 6, "fork", 4, CACHE_TTL_NONE) == CACHE_OK);
        std::this_thread::sleep_for(milliseconds(20)); // the reaper is waiting now
        pid_t pid = fork_child([&] {
            REQUIRE(expect_value(c, "before", "fork") == 0);
            REQUIRE(round_trips(c, "child" + std::to_string(getpid()), 50) == 0);
            cache_close(c);
            return 0;
        });
        REQUIRE(child_status(pid) == 0);
        REQUIRE(round_trips(c, "parent", 50) == 0);
        cache_close(c);
        return 0;
    });
}

TEST_P(ForkMatrix, ForkIdleThenExitWithoutClose)
{
    run([](const std::string &uri) {
        cache_t *c = nullptr;
        REQUIRE(cache_open(uri.c_str(), &c) == CACHE_OK);
        REQUIRE(round_trips(c, "parent", 10) == 0);
        std::this_thread::sleep_for(milliseconds(20));
        pid_t pid = fork_child(
            [&] {
                REQUIRE(round_trips(c, "child" + std::to_string(getpid()), 20) == 0);
                return 0; // exit() with the handle open: atexit and static destructors run
            },
            true);
        REQUIRE(child_status(pid) == 0);
        REQUIRE(round_trips(c, "parent-after", 10) == 0);
        cache_close(c);
        return 0;
    });
}

TEST_P(ForkMatrix, CloseInTheParentWhileTheChildUsesIt)
{
    run([](const std::string &uri) {
        cache_t *c = nullptr;
        REQUIRE(cache_open(uri.c_str(), &c) == CACHE_OK);
        REQUIRE(cache_set(c, "before", 6, "fork", 4, CACHE_TTL_NONE) == CACHE_OK);
        int go[2];
        REQUIRE(pipe(go) == 0);
        pid_t pid = fork_child([&] {
            char b;
            REQUIRE(read(go[0], &b, 1) == 1); // the parent has closed its handle
            REQUIRE(expect_value(c, "before", "fork") == 0);
            REQUIRE(round_trips(c, "child" + std::to_string(getpid()), 50) == 0);
            cache_close(c);
            return 0;
        });
        cache_close(c);
        REQUIRE(write(go[1], "g", 1) == 1);
        REQUIRE(child_status(pid) == 0);
        return 0;
    });
}

TEST_P(ForkMatrix, TheChildOpensCachesOfItsOwn)
{
    run([](const std::string &uri) {
        cache_t *c = nullptr;
        REQUIRE(cache_open(uri.c_str(), &c) == CACHE_OK);
        REQUIRE(round_trips(c, "parent", 10) == 0);
        pid_t pid = fork_child(
            [&] {
                cache_t *mine = nullptr;
                REQUIRE(cache_open(uri.c_str(), &mine) == CACHE_OK);
                REQUIRE(round_trips(mine, "own" + std::to_string(getpid()), 20) == 0);
                REQUIRE(round_trips(c, "inherited" + std::to_string(getpid()), 20) == 0);
                cache_close(mine);
                cache_close(c);
                return 0;
            },
            true);
        REQUIRE(child_status(pid) == 0);
        cache_close(c);
        return 0;
    });
}

TEST_P(ForkMatrix, ForkWhileOtherThreadsAreInsideCalls)
{
    run([](const std::string &uri) {
        cache_t *c = nullptr;
        REQUIRE(cache_open(uri.c_str(), &c) == CACHE_OK);
        REQUIRE(cache_set(c, "before", 6, "fork", 4, CACHE_TTL_NONE) == CACHE_OK);
        Hammer hammer(c, 4);
        while (hammer.calls() < 400)
            std::this_thread::sleep_for(milliseconds(1));
        // Every child forks from the middle of the hammering; half close the
        // inherited handle, half leave through exit() with it open.
        for (int round = 0; round < 8; round++) {
            pid_t pid = hammer.fork_into(
                [&] {
                    REQUIRE(expect_value(c, "before", "fork") == 0);
                    REQUIRE(round_trips(c, "child" + std::to_string(getpid()), 100) == 0);
                    cache_t *mine = nullptr;
                    REQUIRE(cache_open(uri.c_str(), &mine) == CACHE_OK);
                    REQUIRE(round_trips(mine, "own" + std::to_string(getpid()), 10) == 0);
                    cache_close(mine);
                    if (round % 2 == 0)
                        cache_close(c);
                    return 0;
                },
                true);
            REQUIRE(child_status(pid) == 0);
            std::this_thread::sleep_for(milliseconds(3));
        }
        hammer.stop();
        REQUIRE(round_trips(c, "parent", 20) == 0);
        cache_close(c);
        return 0;
    });
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, ForkMatrix, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });
