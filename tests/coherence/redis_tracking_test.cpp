// Redis client tracking (lib/backends/redis/redis_tracking.h), white-box:
// a recording listener stands where the tier's L1 will, and real servers
// (this binary's own) make the writes, flushes, kills and stalls.
//
// The bound these tests hold the tracking to: a write is told within
// kBound on a loaded machine (the bench, bench/coherence_lag.cpp, measures
// the real lag: well under a millisecond on loopback).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <hiredis.h>

#include "backends/factories.h"
#include "backends/redis/redis_options.h"
#include "backends/redis/redis_tracking.h"
#include "core/config.h"
#include "recording_listener.h"
#include "redis/redis_server.h"
#include "support/fault_proxy.h"

namespace unicache_test {

namespace {

using namespace std::chrono_literals;
constexpr auto kBound = 250ms;

std::unique_ptr<unicache::Backend> open_redis(const std::string &uri, const std::string &prefix)
{
    unicache::Config c = unicache::Config::parse(uri);
    c.prefix = prefix;
    auto b = unicache::make_redis_backend(c);
    c.params.finish("redis");
    return b;
}

unicache::RedisOptions options(const std::string &uri, const std::string &prefix)
{
    unicache::Config c = unicache::Config::parse(uri);
    c.prefix = prefix;
    return unicache::parse_redis_options(c);
}

// Another client of the server, as redis-cli would be.
class RawClient {
public:
    explicit RawClient(int port) : ctx_(redisConnect("127.0.0.1", port))
    {
        EXPECT_TRUE(ctx_ && !ctx_->err);
    }
    ~RawClient() { redisFree(ctx_); }
    std::string run(const std::vector<std::string> &args)
    {
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        for (const auto &a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto *r = static_cast<redisReply *>(
            redisCommandArgv(ctx_, int(args.size()), argv.data(), lens.data()));
        EXPECT_NE(r, nullptr);
        if (!r)
            return "";
        std::string out = r->str ? std::string(r->str, r->len) : std::to_string(r->integer);
        EXPECT_NE(r->type, REDIS_REPLY_ERROR) << out;
        freeReplyObject(r);
        return out;
    }

private:
    redisContext *ctx_;
};

std::string uri(const std::string &query = "")
{
    return redis_uri(query);
}

} // namespace

TEST(RedisTracking, ForeignAndOwnWritesUnderThePrefixAreTold)
{
    RecordingListener l;
    auto b = open_redis(uri(), "app:");
    ASSERT_TRUE(b->watch_changes(&l));
    // The first words: nothing can be trusted from before, and now live.
    EXPECT_EQ(l.events(), (std::vector<std::string>{"all", "live"}));

    RawClient cli(shared_redis().port());
    cli.run({"SET", "app:k", "from redis-cli"});
    EXPECT_TRUE(l.wait_for("changed:app:k", kBound));

    // Outside the prefix: not told (app:z, written after, is the sentinel).
    cli.run({"SET", "other:k", "x"});
    cli.run({"SET", "app:z", "x"});
    EXPECT_TRUE(l.wait_for("changed:app:z", kBound));
    EXPECT_EQ(l.count("changed:other:k"), 0u);

    // Writes through this handle, and through another handle.
    b->set("app:own", "v", 0);
    EXPECT_TRUE(l.wait_for("changed:app:own", kBound));
    auto other = open_redis(uri(), "app:");
    other->set("app:h2", "v", 0);
    EXPECT_TRUE(l.wait_for("changed:app:h2", kBound));
    EXPECT_TRUE(other->del("app:h2"));
    EXPECT_TRUE(l.wait_for("changed:app:h2", kBound, 2));
    cli.run({"EXPIRE", "app:k", "100"});
    EXPECT_TRUE(l.wait_for("changed:app:k", kBound, 2));
    EXPECT_EQ(l.count("down"), 0u);
    std::string info = b->info();
    EXPECT_NE(info.find("tracking:live\r\n"), std::string::npos) << info;
    EXPECT_NE(info.find("tracking_subscribes:1\r\n"), std::string::npos) << info;
    EXPECT_EQ(other->info().find("tracking:"), std::string::npos); // nothing watches there
}

TEST(RedisTracking, FlushIsChangedAll)
{
    RecordingListener l;
    auto b = open_redis(uri(), "flush:");
    ASSERT_TRUE(b->watch_changes(&l));
    ASSERT_EQ(l.count("all"), 1u);
    RawClient cli(shared_redis().port());
    cli.run({"SELECT", "3"}); // any database: L1 cannot tell them apart
    cli.run({"FLUSHDB"});
    EXPECT_TRUE(l.wait_for("all", kBound, 2));
    cli.run({"FLUSHALL"});
    EXPECT_TRUE(l.wait_for("all", kBound, 3));
    EXPECT_EQ(l.count("down"), 0u);
}

TEST(RedisTracking, KilledInvalidationConnectionGoesDownAndComesBackLive)
{
    RecordingListener l;
    auto opts = options(uri(), "kill:");
    unicache::RedisTracking t(opts, &l, true);
    ASSERT_TRUE(t.supported());
    ASSERT_TRUE(l.wait_for("live", kBound));
    int64_t first_id = t.counts().client_id;
    l.clear();

    RawClient cli(shared_redis().port());
    cli.run({"CLIENT", "KILL", "ID", std::to_string(first_id)});
    ASSERT_TRUE(l.wait_for("live", 2000ms));
    // Down (bypass, no flush), then a flush before live (backend.h, 3).
    EXPECT_EQ(l.events(), (std::vector<std::string>{"down", "all", "live"}));
    auto n = t.counts();
    EXPECT_NE(n.client_id, first_id); // a new connection, redirecting to itself
    EXPECT_EQ(n.subscribes, 2u);
    EXPECT_EQ(n.losses, 1u);
    EXPECT_NE(n.last_error.find("lost"), std::string::npos) << n.last_error;

    cli.run({"SET", "kill:after", "v"});
    EXPECT_TRUE(l.wait_for("changed:kill:after", kBound));
}

TEST(RedisTracking, SilentInvalidationConnectionIsCaughtByTheHeartbeat)
{
    RecordingListener l;
    auto opts = options(uri("tracking_heartbeat_ms=100"), "beat:");
    unicache::RedisTracking t(opts, &l, true);
    ASSERT_TRUE(l.wait_for("live", kBound));
    l.clear();

    // The connection stays open but the server answers nobody for 1.5 s:
    // only the unanswered PING can tell (within 2 * 100 ms, plus slack).
    RawClient cli(shared_redis().port());
    auto start = std::chrono::steady_clock::now();
    cli.run({"CLIENT", "PAUSE", "1500", "ALL"});
    ASSERT_TRUE(l.wait_for("down", 1200ms));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, 1200ms);
    EXPECT_NE(t.counts().last_error.find("heartbeat"), std::string::npos) << t.counts().last_error;
    // Live again once the server answers and it has subscribed anew.
    ASSERT_TRUE(l.wait_for("live", 4000ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 1400ms);
    cli.run({"SET", "beat:after", "v"});
    EXPECT_TRUE(l.wait_for("changed:beat:after", kBound));
}

TEST(RedisTracking, BlackHoledInvalidationConnectionIsCaughtWhileDataFlows)
{
    // The invalidation connection goes through a proxy that stops
    // forwarding; the data connections go straight to the server and keep
    // working. Only the heartbeat can tell.
    FaultProxy proxy(shared_redis().port());
    RecordingListener l;
    auto opts = options("redis://127.0.0.1:" + std::to_string(proxy.port()) +
                            "?tracking_heartbeat_ms=100&timeout_ms=300",
                        "hole:");
    unicache::RedisTracking t(opts, &l, true);
    ASSERT_TRUE(l.wait_for("live", kBound));
    auto data = open_redis(uri(), "hole:");
    l.clear();

    proxy.set_fault(Fault::drop);
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(l.wait_for("down", 2000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms); // 2 x 100 ms, plus slack
    EXPECT_EQ(l.events(), (std::vector<std::string>{"down"}));
    EXPECT_NE(t.counts().last_error.find("heartbeat"), std::string::npos) << t.counts().last_error;
    data->set("hole:k", "v", 0); // the server still answers
    unicache::OwnedBuffer out;
    EXPECT_TRUE(data->get("hole:k", &out));
    // Not live while the hole lasts (each new subscription times out).
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(l.count("live"), 0u);

    proxy.set_fault(Fault::pass);
    ASSERT_TRUE(l.wait_for("live", 4000ms));
    data->set("hole:after", "v", 0);
    EXPECT_TRUE(l.wait_for("changed:hole:after", kBound));
}

TEST(RedisTracking, ServerDownIsNotLiveAndTheStartIsToldWhenItComesBack)
{
    ServerProcess server = ServerProcess::redis();
    server.start();
    RecordingListener l;
    auto opts = options("redis://127.0.0.1:" + std::to_string(server.port()), "gone:");
    unicache::RedisTracking t(opts, &l, true);
    ASSERT_TRUE(l.wait_for("live", kBound));
    server.stop();
    ASSERT_TRUE(l.wait_for("down", 2000ms));
    server.start(); // the same port
    ASSERT_TRUE(l.wait_for("live", 4000ms, 2));
    RawClient cli(server.port());
    cli.run({"SET", "gone:k", "v"});
    EXPECT_TRUE(l.wait_for("changed:gone:k", kBound));
}

TEST(RedisTracking, PasswordWorksAndNeverShowsInTheError)
{
    const std::string pw = "tracking-s3cret-pw";
    ServerProcess server = ServerProcess::redis({"--requirepass", pw});
    server.start();
    std::string base = "redis://:" + pw + "@127.0.0.1:" + std::to_string(server.port());
    RecordingListener ok;
    auto good = options(base, "pw:");
    unicache::RedisTracking t(good, &ok, true);
    EXPECT_TRUE(ok.wait_for("live", kBound));

    RecordingListener bad;
    auto wrong =
        options("redis://:wrong-" + pw + "@127.0.0.1:" + std::to_string(server.port()), "pw:");
    unicache::RedisTracking t2(wrong, &bad, true);
    EXPECT_EQ(bad.events(), (std::vector<std::string>{"down"}));
    std::string why = t2.counts().last_error;
    EXPECT_NE(why.find("refused the password"), std::string::npos) << why;
    EXPECT_EQ(why.find(pw), std::string::npos) << why;
}

TEST(RedisTracking, ServerThatCannotTrackIsNotWatched)
{
    // As a server before Redis 6 (or with CLIENT renamed away) answers.
    ServerProcess server = ServerProcess::redis({"--rename-command", "CLIENT", "\"\""});
    server.start();
    RecordingListener l;
    auto b = open_redis("redis://127.0.0.1:" + std::to_string(server.port()), "old:");
    EXPECT_FALSE(b->watch_changes(&l)); // the tier then requires l1_ttl
    EXPECT_EQ(l.count("live"), 0u);
    b->set("old:k", "v", 0); // data is unaffected
    unicache::OwnedBuffer out;
    EXPECT_TRUE(b->get("old:k", &out));
}

TEST(RedisTracking, LazyConnectWatchesWithoutWaitingForTheServer)
{
    FaultProxy proxy(shared_redis().port());
    proxy.set_fault(Fault::drop); // accepts, never answers
    RecordingListener l;
    auto b = open_redis("redis://127.0.0.1:" + std::to_string(proxy.port()) +
                            "?lazy_connect=true&timeout_ms=1000",
                        "lazy:");
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(b->watch_changes(&l));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
    EXPECT_EQ(l.events(), (std::vector<std::string>{"down"}));
    proxy.set_fault(Fault::pass);
    ASSERT_TRUE(l.wait_for("live", 5000ms));
    RawClient cli(shared_redis().port());
    cli.run({"SET", "lazy:k", "v"});
    EXPECT_TRUE(l.wait_for("changed:lazy:k", kBound));
}

TEST(RedisTracking, ForkedChildWatchesOnItsOwn)
{
    RecordingListener l;
    auto b = open_redis(uri(), "fork:");
    ASSERT_TRUE(b->watch_changes(&l));
    ASSERT_TRUE(l.wait_for("live", kBound));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        // The child's first call starts the child's tracking.
        unicache::OwnedBuffer out;
        b->get("fork:nothing", &out);
        bool live = l.wait_for("live", 2000ms, 2);
        RawClient cli(shared_redis().port());
        cli.run({"SET", "fork:child", "v"});
        bool told = l.wait_for("changed:fork:child", kBound);
        _exit(live && told ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // The parent kept its own subscription.
    EXPECT_TRUE(l.wait_for("changed:fork:child", kBound));
    EXPECT_EQ(l.count("down"), 0u);
}

} // namespace unicache_test
