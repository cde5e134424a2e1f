// redis-sentinel:// on a real master, replica and three sentinels
// (sentinel_fixture.h): the contract suite, the separate passwords, bad
// input, and the two ways a master changes: a failover the sentinels are
// asked for (the old master lives on as a replica and answers READONLY) and
// a master that dies. Every call must end within its deadline, and the cache
// must follow the new master.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "contract/contract_suite.h"
#include "sentinel_fixture.h"
#include "support/cache_io.h"
#include "unicache.h"

namespace unicache_test {

INSTANTIATE_TEST_SUITE_P(Sentinel, Contract,
                         ::testing::Values(ContractTarget{
                             "sentinel", [] { return SentinelSet::shared().uri("", 1); }}),
                         contract_name);

namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void expect_no_secret(const std::string &msg)
{
    EXPECT_EQ(msg.find(kDataPassword), std::string::npos) << msg;
    EXPECT_EQ(msg.find(kSentinelPassword), std::string::npos) << msg;
    EXPECT_EQ(msg.find("wrong-guess"), std::string::npos) << msg;
}

std::string sentinel_hosts()
{
    SentinelSet &s = SentinelSet::shared();
    std::string h;
    for (size_t i = 0; i < s.sentinels.size(); i++)
        h += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(s.sentinels[i]->port());
    return h;
}

// Waits (at most 20 s) until the sentinels name a master other than old_port
// and that server says it is a master; returns its port.
int wait_for_new_master(SentinelSet &s, int old_port)
{
    auto until = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < until) {
        int p = s.master_port();
        if (p && p != old_port && s.ask_node(p, {"ROLE"}).rfind("master", 0) == 0)
            return p;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
}

} // namespace

TEST(Sentinel, FindsTheMasterWithSeparatePasswords)
{
    SentinelSet &s = SentinelSet::shared();
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(s.uri("prefix=sep:").c_str(), &c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_string(c, "k", "v"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_string(c, "k"), "v");
    // The write is on the master the sentinels name, under the prefix.
    EXPECT_EQ(s.ask_node(s.master_port(), {"GET", "sep:|k"}), "v");
    cache_close(c);
}

TEST(Sentinel, RefusedPasswordsAreAuthErrorsWithoutTheSecret)
{
    SentinelSet &s = SentinelSet::shared();
    std::string msg;
    // The sentinels' password is wrong: the data nodes are never reached.
    std::string bad_sentinel = "redis-sentinel://:" + std::string(kDataPassword) + "@" +
                               sentinel_hosts() +
                               "/0?master=mymaster&sentinel_password=wrong-guess";
    EXPECT_EQ(open_with_status(bad_sentinel, &msg), CACHE_EAUTH) << msg;
    EXPECT_NE(msg.find("sentinel"), std::string::npos) << msg;
    expect_no_secret(msg);
    // No sentinel password at all.
    std::string none = "redis-sentinel://:" + std::string(kDataPassword) + "@" + sentinel_hosts() +
                       "/0?master=mymaster";
    EXPECT_EQ(open_with_status(none, &msg), CACHE_EAUTH) << msg;
    expect_no_secret(msg);
    // The data nodes' password is wrong; the sentinels' is right.
    std::string bad_data = "redis-sentinel://:wrong-guess@" + sentinel_hosts() +
                           "/0?master=mymaster&sentinel_password=" + kSentinelPassword;
    EXPECT_EQ(open_with_status(bad_data, &msg), CACHE_EAUTH) << msg;
    EXPECT_NE(msg.find("refused the password"), std::string::npos) << msg;
    expect_no_secret(msg);
    (void)s;
}

TEST(Sentinel, BadInput)
{
    std::string msg;
    EXPECT_EQ(open_with_status("redis-sentinel:///0?master=mymaster", &msg), CACHE_EINVAL);
    EXPECT_NE(msg.find("names no sentinel"), std::string::npos) << msg;
    EXPECT_EQ(open_with_status("redis-sentinel://" + sentinel_hosts() + "/0", &msg), CACHE_EINVAL);
    EXPECT_NE(msg.find("master="), std::string::npos) << msg;
    EXPECT_EQ(open_with_status("redis-sentinel://" + sentinel_hosts() + "/x?master=m", &msg),
              CACHE_EINVAL);
    EXPECT_EQ(open_with_status("redis-sentinel://" + sentinel_hosts() +
                                   "/0?master=mymaster&sentinel_user=u",
                               &msg),
              CACHE_EINVAL);
    EXPECT_EQ(open_with_status("redis-sentinel://" + sentinel_hosts() +
                                   "/0?master=mymaster&sentinel_pasword=x",
                               &msg),
              CACHE_EINVAL);
    expect_no_secret(msg);
    // A master the sentinels do not monitor.
    std::string unknown = "redis-sentinel://:" + std::string(kDataPassword) + "@" +
                          sentinel_hosts() +
                          "/0?master=nosuch&sentinel_password=" + kSentinelPassword;
    EXPECT_EQ(open_with_status(unknown, &msg), CACHE_EINVAL) << msg;
    EXPECT_NE(msg.find("monitors no master named 'nosuch'"), std::string::npos) << msg;
    expect_no_secret(msg);
    // No sentinel listening: unavailable, within the timeout.
    std::string nobody =
        "redis-sentinel://127.0.0.1:" + std::to_string(ServerProcess::free_port()) +
        ",127.0.0.1:" + std::to_string(ServerProcess::free_port()) +
        "/0?master=mymaster&timeout_ms=500&connect_timeout_ms=200";
    auto t0 = Clock::now();
    EXPECT_EQ(open_with_status(nobody, &msg), CACHE_EUNAVAILABLE) << msg;
    EXPECT_LT(ms_since(t0), 3000);
    EXPECT_NE(msg.find("no sentinel named the master"), std::string::npos) << msg;
}

// Both failovers in one test, in order: asked for, then a dead master.
TEST(Sentinel, FollowsTheMasterThroughFailovers)
{
    SentinelSet &s = SentinelSet::shared();
    const int64_t timeout_ms = 1000;
    cache_t *c = nullptr;
    ASSERT_EQ(
        cache_open(s.uri("prefix=fo:&timeout_ms=1000&max_retries=4&retry_delay_ms=50", 0).c_str(),
                   &c),
        CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(set_string(c, "a", "1"), CACHE_OK) << cache_last_error();

    // 1. SENTINEL FAILOVER: the old master lives on as a replica, so the
    // pool's connections to it still work, and a write there is READONLY.
    int first = s.master_port();
    ASSERT_NE(first, 0);
    int replica = s.nodes[0]->port() == first ? s.nodes[1]->port() : s.nodes[0]->port();
    // Only what the replica holds survives a failover.
    auto synced_a = Clock::now() + std::chrono::seconds(10);
    while (s.ask_node(replica, {"GET", "fo:|a"}) != "1" && Clock::now() < synced_a)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(s.ask_sentinel(0, {"SENTINEL", "FAILOVER", "mymaster"}), "OK");
    auto asked = Clock::now();
    int second = wait_for_new_master(s, first);
    std::printf("sentinel: a new master after %lld ms\n", (long long)ms_since(asked));
    ASSERT_NE(second, 0) << "no failover within 20 s";
    // The sentinels would demote it on their next look at it (up to 10 s);
    // do what they would do at once.
    s.ask_node(first, {"REPLICAOF", "127.0.0.1", std::to_string(second)});
    auto demoted = Clock::now() + std::chrono::seconds(20);
    while (s.ask_node(first, {"ROLE"}).rfind("slave", 0) != 0 && Clock::now() < demoted)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(s.ask_node(first, {"ROLE"}).rfind("slave", 0), 0u);
    std::printf("sentinel: the old master a replica after %lld ms\n", (long long)ms_since(asked));
    auto t0 = Clock::now();
    EXPECT_EQ(set_string(c, "b", "2"), CACHE_OK) << cache_last_error();
    EXPECT_LT(ms_since(t0), timeout_ms + 500);
    EXPECT_EQ(s.ask_node(second, {"GET", "fo:|b"}), "2");
    EXPECT_EQ(get_string(c, "a"), "1");

    // 2. The master dies. A write it acknowledged and its replica holds
    // must be readable from the new master.
    ASSERT_EQ(set_string(c, "kept", "yes"), CACHE_OK) << cache_last_error();
    auto synced = Clock::now() + std::chrono::seconds(10);
    while (s.ask_node(first, {"GET", "fo:|kept"}) != "yes" && Clock::now() < synced)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(s.ask_node(first, {"GET", "fo:|kept"}), "yes") << "the replica never caught up";
    s.node_on(second)->kill_hard();
    auto killed = Clock::now();
    int64_t longest_call = 0, failed_calls = 0, served_after = -1;
    while (ms_since(killed) < 20000) {
        auto call = Clock::now();
        int rc = set_string(c, "after", "x");
        int64_t took = ms_since(call);
        longest_call = std::max(longest_call, took);
        EXPECT_LE(took, timeout_ms + 500) << "a call outlived its deadline: " << cache_last_error();
        if (rc == CACHE_OK) {
            served_after = ms_since(killed);
            break;
        }
        failed_calls++;
        EXPECT_TRUE(rc == CACHE_EUNAVAILABLE || rc == CACHE_ETIMEOUT) << rc << cache_last_error();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_GE(served_after, 0) << "the cache never followed the new master";
    std::printf("sentinel failover: served again %lld ms after the master was killed "
                "(%lld calls failed, longest call %lld ms)\n",
                (long long)served_after, (long long)failed_calls, (long long)longest_call);
    // down-after-milliseconds 400 + the election: a few seconds at most.
    EXPECT_LT(served_after, 10000);
    EXPECT_EQ(s.master_port(), first);
    EXPECT_EQ(get_string(c, "kept"), "yes");
    EXPECT_EQ(get_string(c, "after"), "x");
    cache_close(c);
}

} // namespace unicache_test
