// The Redis backend when things go wrong: passwords, a server that is not
// there, one that dies in the middle of a loop and comes back on the same
// port, one that stops answering (SIGSTOP), and a connect that never
// completes. Every failing call must return its status within its timeout,
// say what failed, never contain the password, and the same handle must
// work again once the server is back.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "support/server_process.h"
#include "unicache.h"

namespace unicache_test {

namespace {

const char kPassword[] = "pw-S3cret-7f4e";
const char kAlicePassword[] = "alice-Pw-91c2";

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void expect_no_secret(const std::string &msg)
{
    EXPECT_EQ(msg.find(kPassword), std::string::npos) << msg;
    EXPECT_EQ(msg.find(kAlicePassword), std::string::npos) << msg;
    EXPECT_EQ(msg.find("wrong-guess"), std::string::npos) << msg;
}

ServerProcess &password_server()
{
    static ServerProcess server =
        ServerProcess::redis({"--requirepass", kPassword, "--user", "alice", "on",
                              std::string(">") + kAlicePassword, "~*", "&*", "+@all"});
    server.start();
    return server;
}

std::string at(int port, const std::string &userinfo = "", const std::string &query = "")
{
    return "redis://" + userinfo + (userinfo.empty() ? "" : "@") +
           "127.0.0.1:" + std::to_string(port) + (query.empty() ? "" : "?" + query);
}

int open_status(const std::string &uri, cache_t **out, std::string *msg)
{
    *out = nullptr;
    int rc = cache_open(uri.c_str(), out);
    *msg = cache_last_error();
    return rc;
}

// A handle on server with the right password and the given parameters.
cache_t *open_authed(const ServerProcess &server, const std::string &query)
{
    cache_t *c = nullptr;
    std::string msg;
    EXPECT_EQ(open_status(at(server.port(), std::string(":") + kPassword, query), &c, &msg),
              CACHE_OK)
        << msg;
    return c;
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

} // namespace

// ------------------------------------------------------------ passwords

TEST(RedisAuth, RightPasswordInEveryFormWorks)
{
    int port = password_server().port();
    std::string uris[] = {
        at(port, std::string(":") + kPassword),
        at(port, std::string("alice:") + kAlicePassword),
        at(port, "", std::string("password=") + kPassword),
        R"({"backend":"redis","host":"127.0.0.1","port":)" + std::to_string(port) +
            R"(,"password":")" + kPassword + R"(","db":1})",
        R"({"backend":"redis","port":)" + std::to_string(port) + R"(,"user":"alice","password":")" +
            kAlicePassword + R"("})",
    };
    for (const auto &uri : uris) {
        cache_t *c = nullptr;
        std::string msg;
        ASSERT_EQ(open_status(uri, &c, &msg), CACHE_OK) << msg;
        EXPECT_EQ(set_str(c, "authkey", "v"), CACHE_OK) << cache_last_error();
        EXPECT_EQ(get_status(c, "authkey"), CACHE_OK);
        cache_buf j = {nullptr, 0};
        ASSERT_EQ(cache_stats_json(c, &j), CACHE_OK);
        expect_no_secret(std::string(static_cast<char *>(j.data), j.size));
        cache_buf_free(&j);
        cache_buf info = {nullptr, 0};
        ASSERT_EQ(cache_backend_info(c, &info), CACHE_OK);
        expect_no_secret(std::string(static_cast<char *>(info.data), info.size));
        cache_buf_free(&info);
        cache_delete(c, "authkey", 7);
        cache_close(c);
    }
}

TEST(RedisAuth, WrongOrMissingPasswordIsEauthWithoutThePassword)
{
    int port = password_server().port();
    struct Case {
        std::string uri;
        const char *says;
    } cases[] = {
        {at(port, ":wrong-guess-1"), "refused the password"},
        {at(port, "alice:wrong-guess-2"), "for user 'alice'"},
        {at(port, std::string("alice:") + kPassword), "for user 'alice'"}, // someone else's
        {at(port), "requires a password"},
        {R"({"backend":"redis","port":)" + std::to_string(port) + R"(,"password":"wrong-guess-3"})",
         "refused"},
    };
    for (const auto &c : cases) {
        cache_t *h = nullptr;
        std::string msg;
        EXPECT_EQ(open_status(c.uri, &h, &msg), CACHE_EAUTH) << c.uri;
        EXPECT_EQ(h, nullptr);
        EXPECT_NE(msg.find(c.says), std::string::npos) << msg;
        EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
        expect_no_secret(msg);
    }
    // Opened lazily, the first operation reports the same thing.
    cache_t *h = nullptr;
    std::string msg;
    ASSERT_EQ(open_status(at(port, ":wrong-guess-4", "lazy_connect=true"), &h, &msg), CACHE_OK)
        << msg;
    EXPECT_EQ(get_status(h, "k"), CACHE_EAUTH);
    expect_no_secret(cache_last_error());
    cache_close(h);
    // A password given to a server that has none is refused too.
    ServerProcess open_server = ServerProcess::redis();
    open_server.start();
    EXPECT_EQ(open_status(at(open_server.port(), ":wrong-guess-5"), &h, &msg), CACHE_EAUTH);
    expect_no_secret(msg);
}

TEST(RedisFull, OutOfMemoryServerIsAnIoErrorThatSaysWhy)
{
    ServerProcess server =
        ServerProcess::redis({"--maxmemory", "2mb", "--maxmemory-policy", "noeviction"});
    server.start();
    cache_t *c = nullptr;
    std::string msg;
    ASSERT_EQ(open_status(at(server.port()), &c, &msg), CACHE_OK) << msg;
    std::string v(64 * 1024, 'x');
    int rc = CACHE_OK;
    for (int i = 0; i < 200 && rc == CACHE_OK; i++)
        rc = set_str(c, "fill" + std::to_string(i), v);
    EXPECT_EQ(rc, CACHE_EIO);
    msg = cache_last_error();
    EXPECT_NE(msg.find("out of memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("allkeys-lru"), std::string::npos) << msg;
    EXPECT_EQ(get_status(c, "fill0"), CACHE_OK) << "reads still work";
    EXPECT_EQ(cache_clear(c), CACHE_OK) << "and deletes: " << cache_last_error();
    EXPECT_EQ(set_str(c, "again", "v"), CACHE_OK) << cache_last_error();
    cache_close(c);
}

// ------------------------------------------------------------ unreachable

TEST(RedisDown, NothingListeningIsUnavailableQuickly)
{
    int port = ServerProcess::free_port();
    cache_t *h = nullptr;
    std::string msg;
    auto t0 = Clock::now();
    EXPECT_EQ(open_status(at(port, std::string(":") + kPassword, "timeout_ms=500"), &h, &msg),
              CACHE_EUNAVAILABLE);
    EXPECT_LT(ms_since(t0), 1500);
    EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << msg;
    EXPECT_NE(msg.find("connect"), std::string::npos) << msg;
    expect_no_secret(msg);

    ASSERT_EQ(open_status(at(port, std::string(":") + kPassword, "lazy_connect=1&timeout_ms=500"),
                          &h, &msg),
              CACHE_OK)
        << msg;
    for (int i = 0; i < 3; i++) {
        t0 = Clock::now();
        EXPECT_EQ(set_str(h, "k", "v"), CACHE_EUNAVAILABLE);
        EXPECT_LT(ms_since(t0), 1500);
        expect_no_secret(cache_last_error());
    }
    EXPECT_EQ(cache_ping(h), CACHE_EUNAVAILABLE);
    cache_buf info = {nullptr, 0};
    EXPECT_EQ(cache_backend_info(h, &info), CACHE_EUNAVAILABLE);
    cache_buf j = {nullptr, 0};
    EXPECT_EQ(cache_stats_json(h, &j), CACHE_OK) << "statistics never fail";
    cache_buf_free(&j);
    cache_close(h);
}

TEST(RedisDown, ConnectThatNeverCompletesTimesOut)
{
    // A listener that never accepts, with its queue full: the kernel drops
    // further SYNs, so connect() hangs until connect_timeout_ms.
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(lfd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(lfd, 0), 0);
    socklen_t len = sizeof addr;
    getsockname(lfd, reinterpret_cast<sockaddr *>(&addr), &len);
    int port = ntohs(addr.sin_port);
    std::vector<int> fillers;
    for (int i = 0; i < 4; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
        fillers.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cache_t *h = nullptr;
    std::string msg;
    auto t0 = Clock::now();
    EXPECT_EQ(open_status(at(port, "", "connect_timeout_ms=300&timeout_ms=300"), &h, &msg),
              CACHE_ETIMEOUT);
    int64_t took = ms_since(t0);
    EXPECT_GE(took, 250);
    EXPECT_LT(took, 1500);
    EXPECT_NE(msg.find("connect_timeout_ms"), std::string::npos) << msg;
    for (int fd : fillers)
        close(fd);
    close(lfd);
}

// ------------------------------------------------------------ dying servers

TEST(RedisRecovery, KilledMidLoopThenRestartedOnTheSamePort)
{
    ServerProcess server = ServerProcess::redis({"--requirepass", kPassword});
    server.start();
    cache_t *c = open_authed(server, "timeout_ms=500&retry_delay_ms=10&max_retries=2&pool_size=4");
    ASSERT_NE(c, nullptr);

    std::atomic<bool> stop{false};
    std::atomic<int64_t> slowest_failure{0};
    std::atomic<int> successes{0};
    std::mutex mu;
    std::map<int, int> statuses;
    std::vector<std::string> messages;
    auto worker = [&](int t) {
        int i = 0;
        while (!stop) {
            std::string k = "loop" + std::to_string(t) + ":" + std::to_string(i++ % 20);
            auto t0 = Clock::now();
            int rcs[3] = {set_str(c, k, "v"), get_status(c, k),
                          cache_incr(c, "loopcount", 9, 1, nullptr)};
            int64_t took = ms_since(t0);
            std::lock_guard<std::mutex> lock(mu);
            for (int rc : rcs) {
                statuses[rc]++;
                if (rc == CACHE_OK)
                    successes++;
                if (rc < 0) {
                    int64_t prev = slowest_failure;
                    while (took > prev && !slowest_failure.compare_exchange_weak(prev, took)) {
                    }
                    if (messages.size() < 50)
                        messages.push_back(cache_last_error());
                }
            }
        }
    };
    std::thread a(worker, 0), b(worker, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int before = successes;
    server.kill_hard();
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    server.start(); // same port
    auto t0 = Clock::now();
    int at_restart = successes;
    while (successes < at_restart + 50 && ms_since(t0) < 10000)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    int64_t recovered_after = ms_since(t0);
    stop = true;
    a.join();
    b.join();

    EXPECT_GT(before, 0);
    EXPECT_LT(recovered_after, 5000) << "the handle did not recover by itself";
    // While down: only "unavailable" or "timeout", each within the 500 ms
    // timeout (three calls per measurement, plus scheduling slack).
    for (const auto &s : statuses)
        EXPECT_TRUE(s.first == CACHE_OK || s.first == CACHE_MISS || s.first == CACHE_EUNAVAILABLE ||
                    s.first == CACHE_ETIMEOUT)
            << "status " << s.first << " x" << s.second;
    EXPECT_GT(statuses[CACHE_EUNAVAILABLE] + statuses[CACHE_ETIMEOUT], 0);
    EXPECT_LT(slowest_failure.load(), 3 * 500 + 1000);
    for (const auto &m : messages) {
        EXPECT_NE(m.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos) << m;
        expect_no_secret(m);
    }
    // The same handle, every kind of operation.
    EXPECT_EQ(set_str(c, "after", "v"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_status(c, "after"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "afterctr", 8, 1, nullptr), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

// A restart while the handle sits idle is invisible: its pooled connections
// are found closed and replaced before the first command is sent, including
// commands that must not be sent twice.
TEST(RedisRecovery, RestartWhileIdleIsInvisible)
{
    for (const char *query : {"pool_size=3", "health_check_interval_ms=1"}) {
        ServerProcess server = ServerProcess::redis();
        server.start();
        cache_t *c = nullptr;
        std::string msg;
        ASSERT_EQ(open_status(at(server.port(), "", query), &c, &msg), CACHE_OK) << msg;
        // Fill the pool with several idle connections.
        std::vector<std::thread> ts;
        for (int t = 0; t < 3; t++)
            ts.emplace_back([&] {
                for (int i = 0; i < 100; i++)
                    set_str(c, "warm", "v");
            });
        for (auto &t : ts)
            t.join();
        for (int round = 0; round < 2; round++) {
            server.kill_hard();
            server.start();
            int64_t v = 0;
            EXPECT_EQ(cache_incr(c, "n", 1, 5, &v), CACHE_OK)
                << query << ": " << cache_last_error();
            EXPECT_EQ(v, 5);
            EXPECT_EQ(cache_add(c, "lock", 4, "x", 1, 0), CACHE_OK) << cache_last_error();
            EXPECT_EQ(cache_delete(c, "lock", 4), CACHE_OK) << cache_last_error();
            EXPECT_EQ(get_status(c, "warm"), CACHE_MISS) << cache_last_error(); // data is gone
            EXPECT_EQ(set_str(c, "warm", "v"), CACHE_OK) << cache_last_error();
            server.kill_hard();
            server.start();
            EXPECT_EQ(get_status(c, "warm"), CACHE_MISS) << cache_last_error();
            EXPECT_EQ(cache_ping(c), CACHE_OK) << cache_last_error();
        }
        cache_close(c);
    }
}

TEST(RedisRecovery, StoppedServerTimesOutThenRecovers)
{
    ServerProcess server = ServerProcess::redis({"--requirepass", kPassword});
    server.start();
    cache_t *c = open_authed(server, "timeout_ms=300&pool_size=2");
    ASSERT_NE(c, nullptr);
    std::string msg;
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    server.pause(); // SIGSTOP: the kernel still accepts, nobody answers
    auto check = [&](const char *what, int rc, Clock::time_point t0) {
        int64_t took = ms_since(t0);
        EXPECT_EQ(rc, CACHE_ETIMEOUT) << what << ": " << cache_last_error();
        EXPECT_GE(took, 250) << what;
        EXPECT_LT(took, 300 + 700) << what << " must return within timeout_ms";
        std::string m = cache_last_error();
        EXPECT_NE(m.find("timeout_ms"), std::string::npos) << m;
        expect_no_secret(m);
    };
    auto t0 = Clock::now();
    check("get", get_status(c, "k"), t0);
    t0 = Clock::now();
    check("set", set_str(c, "k", "w"), t0);
    t0 = Clock::now();
    check("incr", cache_incr(c, "n", 1, 1, nullptr), t0);
    t0 = Clock::now();
    check("ping", cache_ping(c), t0);
    // Opening a new handle meanwhile times out too (AUTH never answered).
    cache_t *h = nullptr;
    t0 = Clock::now();
    check("open",
          open_status(at(server.port(), std::string(":") + kPassword, "timeout_ms=300"), &h, &msg),
          t0);
    EXPECT_EQ(h, nullptr);
    server.resume();
    EXPECT_EQ(get_status(c, "k"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(set_str(c, "k", "x"), CACHE_OK) << cache_last_error();
    cache_close(c);
}

} // namespace unicache_test
