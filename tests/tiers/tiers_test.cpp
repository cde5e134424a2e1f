// Tiered caches through the C API: the open step's argument errors (each a
// documented status with a message naming what is wrong, at once), the
// nested statistics, and what promotion keeps of an entry's lifetime.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "redis/redis_server.h"
#include "support/cache_io.h"
#include "support/fault_proxy.h"
#include "support/server_process.h"
#include "unicache.h"

namespace unicache_test {

namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

struct BadCase {
    std::string config;
    int status;
    std::string must_mention;
};

void expect_refused(const BadCase &b)
{
    std::string msg;
    EXPECT_EQ(open_with_status(b.config, &msg), b.status) << b.config;
    EXPECT_NE(msg.find(b.must_mention), std::string::npos)
        << b.config << ": message '" << msg << "' does not mention '" << b.must_mention << "'";
}

#if TIERS_WITH_MEMCACHED
std::string memcached_at()
{
    static ServerProcess s = ServerProcess::memcached();
    s.start();
    return "127.0.0.1:" + std::to_string(s.port());
}
#endif

} // namespace

// Two-phase factories: a misspelt parameter is an argument error before any
// connection is tried, on every backend (port 1 refuses connections, so an
// attempt would show as CACHE_EUNAVAILABLE after retries).
TEST(TwoPhaseOpen, AnUnknownParameterIsInvalidAtOnceOnEveryBackend)
{
    std::vector<std::string> uris = {
        "memory://?bogus_param=1",
        R"({"tiers": ["memory://", "memory://?bogus_param=1"]})",
#if TIERS_WITH_REDIS
        "redis://127.0.0.1:1/0?bogus_param=1",
        "redis+unix:///nonexistent/redis.sock?bogus_param=1",
        "tiered+redis://127.0.0.1:1/0?bogus_param=1&l1_ttl=1000",
        R"({"tiers": ["memory://", "redis://127.0.0.1:1/0?bogus_param=1"], "l1_ttl": 1000})",
#endif
#if TIERS_WITH_MEMCACHED
        "memcached://127.0.0.1:1?bogus_param=1",
#endif
#if TIERS_WITH_SQLITE
        "sqlite:///nonexistent-dir/for/sure/x.db?bogus_param=1",
#endif
    };
    for (const std::string &u : uris)
        expect_refused({u, CACHE_EINVAL, "bogus_param"});
}

#if TIERS_WITH_REDIS
// "At once", without a clock: the servers sit behind black holes that
// accept connections and never answer, so any connection attempt would be
// counted by the proxy and would end in CACHE_ETIMEOUT. Every part of a
// composite is checked before the first one connects, so a typo in the last
// tier or in the fallback never waits on the servers before it.
TEST(TwoPhaseOpen, EveryPartIsCheckedBeforeAnyPartConnects)
{
    FaultProxy redis_hole(shared_redis().port());
    redis_hole.set_fault(Fault::drop);
    std::string redis = "redis://127.0.0.1:" + std::to_string(redis_hole.port()) + "/0";
    std::vector<std::string> configs = {
        redis + "?bogus_param=1",
        "tiered+" + redis + "?bogus_param=1&l1_ttl=1000",
        "tiered+" + redis + "?l1_bogus_param=1&l1_ttl=1000",
        R"({"tiers": [")" + redis + R"(", "memory://?bogus_param=1"]})",
        R"({"tiers": ["memory://", ")" + redis + R"(", "memory://?bogus_param=1"], "l1_ttl": 1})",
        R"({"tiers": ["memory://", ")" + redis + R"("], "l1_ttl": 1,
            "fallback": "memory://?bogus_param=1"})",
        R"({"tiers": [{"tiers": ["memory://", ")" + redis + R"("], "l1_ttl": 1},
                      {"backend": "memory", "bogus_param": 1}]})",
#if TIERS_WITH_SQLITE
        R"({"tiers": [")" + redis + R"(", "sqlite:///nonexistent-dir/x.db?bogus_param=1"]})",
#endif
    };
#if TIERS_WITH_MEMCACHED
    ServerProcess memcached = ServerProcess::memcached();
    memcached.start();
    FaultProxy memcached_hole(memcached.port());
    memcached_hole.set_fault(Fault::drop);
    std::string mc = "memcached://127.0.0.1:" + std::to_string(memcached_hole.port());
    configs.push_back(mc + "?bogus_param=1");
    configs.push_back(R"({"tiers": ["memory://", ")" + redis + R"(", ")" + mc +
                      R"(?bogus_param=1"], "l1_ttl": 1})");
#endif
    for (const std::string &c : configs)
        expect_refused({c, CACHE_EINVAL, "bogus_param"});
#if TIERS_WITH_MEMCACHED
    // l1_ttl over memcached is known to be needed before it connects.
    expect_refused({"tiered+" + mc, CACHE_EINVAL, "l1_ttl is required"});
    expect_refused(
        {R"({"tiers": ["memory://", ")" + mc + R"("]})", CACHE_EINVAL, "l1_ttl is required"});
#endif
    EXPECT_EQ(redis_hole.accepted(), 0u) << "a part connected before every part was checked";
#if TIERS_WITH_MEMCACHED
    EXPECT_EQ(memcached_hole.accepted(), 0u);
#endif

    // The control: without the typo the same open does reach the hole, and
    // waits on it until its timeout.
    std::string msg;
    EXPECT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + redis +
                                   R"(?timeout_ms=100&max_retries=0"], "l1_ttl": 1})",
                               &msg),
              CACHE_ETIMEOUT)
        << msg;
    EXPECT_GE(redis_hole.accepted(), 1u);
}
#endif

TEST(TieredOpen, BadTierConfigurationsAreRefusedNamingTheProblem)
{
    std::vector<BadCase> cases = {
        {R"({"tiers": []})", CACHE_EINVAL, "empty"},
        {R"({"tiers": "memory://"})", CACHE_EINVAL, "'tiers' must be a JSON array"},
        {R"({"tiers": {"a": 1}})", CACHE_EINVAL, "'tiers' must be a JSON array"},
        {R"({"tiers": [5]})", CACHE_EINVAL, "element 0 of 'tiers'"},
        {R"({"tiers": ["memory://"], "bogus": 1})", CACHE_EINVAL, "'bogus'"},
        {R"({"tiers": ["memory://"], "breaker_failures": 0})", CACHE_EINVAL, "breaker_failures"},
        {R"({"tiers": ["memory://"], "outage_writes": "maybe"})", CACHE_EINVAL, "outage_writes"},
        {R"({"tiers": ["memory://"], "fallback": 5})", CACHE_EINVAL, "fallback"},
        {R"({"tiers": ["memory://"], "fallback": ["memory://"]})", CACHE_EINVAL, "fallback"},
        {R"({"tiers": ["memory://"], "fallback": "memory://?nope=1"})", CACHE_EINVAL, "nope"},
        {R"({"tiers": ["memory://", "memory://?max_items=-5"]})", CACHE_EINVAL, "tier 2"},
        {R"({"tiers": ["memory://", "nonsense"]})", CACHE_EINVAL, "tier 2"},
        {R"({"tiers": ["memory://", "nosuch://x"]})", CACHE_EINVAL, "tier 2"},
        {R"({"tiers": ["memory://", {"backend": "memory", "prefix": "x"}]})", CACHE_EINVAL,
         "applies to the whole"},
        {R"({"tiers": ["memory://", {"backend": "memory", "max_items": {"a": 1}}]})", CACHE_EINVAL,
         "must be a string, number or boolean"},
        {"tiered://", CACHE_EINVAL, "needs \"tiers\""},
        {"tiered+memory://?l1_bogus=2", CACHE_EINVAL, "bogus"},
        {R"({"backend": "memory", "max_items": [1]})", CACHE_EINVAL,
         "must be a string, number or boolean"},
    };
    for (const BadCase &b : cases)
        expect_refused(b);
}

#if TIERS_WITH_REDIS
TEST(TieredOpen, ATierThatFailsToOpenFailsTheWholeOpenNamingIt)
{
    int port = ServerProcess::free_port(); // nothing listens there
    std::string msg;
    std::string config = R"({"tiers": ["memory://", "redis://127.0.0.1:)" + std::to_string(port) +
                         R"(/0?max_retries=0&connect_timeout_ms=200"], "l1_ttl": 1000})";
    EXPECT_EQ(open_with_status(config, &msg), CACHE_EUNAVAILABLE);
    EXPECT_NE(msg.find("tier 2 (redis://127.0.0.1:" + std::to_string(port)), std::string::npos)
        << msg;
}
#endif

#if TIERS_WITH_MEMCACHED
// memcached cannot tell this process about other clients' writes: a copy
// above it must have a bounded life.
TEST(TieredOpen, L1TtlIsRequiredOverMemcached)
{
    std::string msg;
    std::string l2 = "memcached://" + memcached_at();
    EXPECT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + l2 + R"("]})", &msg), CACHE_EINVAL);
    EXPECT_NE(msg.find("l1_ttl is required"), std::string::npos) << msg;
    EXPECT_NE(msg.find("memcached://"), std::string::npos) << msg;
    EXPECT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + l2 + R"("], "l1_ttl": 500})", &msg),
              CACHE_OK)
        << msg;
}
#endif

#if TIERS_WITH_REDIS
class TieredRedis : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string l2 = redis_uri("db=4");
        ASSERT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + l2 +
                                       R"("], "l1_ttl": 30000, "prefix": "tt:"})",
                                   nullptr, &tiered),
                  CACHE_OK)
            << cache_last_error();
        cache_options o = CACHE_OPTIONS_INIT;
        o.prefix = "tt:";
        o.prefix_len = 3;
        ASSERT_EQ(cache_open_ext(l2.c_str(), &o, &plain), CACHE_OK) << cache_last_error();
        cache_clear(plain);
    }
    void TearDown() override
    {
        cache_clear(plain);
        cache_close(tiered);
        cache_close(plain);
    }
    cache_t *tiered = nullptr;
    cache_t *plain = nullptr; // the same redis database, no L1
};

TEST_F(TieredRedis, StatisticsNestEachTiersOwnPart)
{
    ASSERT_EQ(set_string(tiered, "k", "v"), CACHE_OK);
    ASSERT_EQ(set_string(plain, "only_below", "w"), CACHE_OK);
    // Its invalidation may arrive during our read and win over the fill
    // (core/backend.h, 2): let it arrive first.
    sleep_ms(100);
    EXPECT_EQ(get_string(tiered, "only_below"), "w");
    std::string s = stats_of(tiered);
    for (const char *field :
         {"\"backend\":\"tiered\"", "\"promotions\":1", "\"stale_served\":0", "\"tiers\":[{",
          "\"backend\":\"memory\"", "\"backend\":\"redis\"",
          "\"breaker\":{\"state\":\"closed\",\"opened\":0", "\"outage_log\":{\"pending\":0",
          "\"hits\":1", "\"uri\":\"tiered(memory:// > redis://"})
        EXPECT_NE(s.find(field), std::string::npos) << field << " not in " << s;
}

TEST_F(TieredRedis, WritesReachTheLowestTierAndDropTheCopies)
{
    ASSERT_EQ(set_string(tiered, "k", "one"), CACHE_OK);
    EXPECT_EQ(get_string(plain, "k"), "one");
    EXPECT_EQ(get_string(tiered, "k"), "one");
    ASSERT_EQ(cache_delete(tiered, "k", 1), CACHE_OK);
    int rc;
    get_string(plain, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    get_string(tiered, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS) << "the L1 copy outlived the delete";
    // incr works on the lowest tier and drops the copy above.
    ASSERT_EQ(set_string(tiered, "n", "5"), CACHE_OK);
    EXPECT_EQ(get_string(tiered, "n"), "5");
    int64_t v = 0;
    ASSERT_EQ(cache_incr(tiered, "n", 1, 2, &v), CACHE_OK);
    EXPECT_EQ(v, 7);
    EXPECT_EQ(get_string(tiered, "n"), "7");
    // A write refused below leaves no copy above.
    ASSERT_EQ(set_string(tiered, "s", "abc"), CACHE_OK);
    EXPECT_EQ(cache_incr(tiered, "s", 1, 1, &v), CACHE_ENAN);
    EXPECT_EQ(get_string(tiered, "s"), "abc");
}

TEST_F(TieredRedis, BatchesFillTheCopiesAndSeeTheLowestTierAfterWrites)
{
    ASSERT_EQ(set_string(plain, "a", "1"), CACHE_OK);
    ASSERT_EQ(set_string(plain, "b", "2"), CACHE_OK);
    sleep_ms(100); // their invalidations first (see above)
    cache_slice keys[] = {{"a", 1}, {"b", 1}, {"c", 1}};
    cache_buf out[3] = {};
    int st[3] = {};
    ASSERT_EQ(cache_get_many(tiered, keys, 3, out, st), CACHE_OK) << cache_last_error();
    EXPECT_EQ(st[0], CACHE_OK);
    EXPECT_EQ(st[1], CACHE_OK);
    EXPECT_EQ(st[2], CACHE_MISS);
    for (auto &b : out)
        cache_buf_free(&b);
    // The second batch is served from L1 (no round trip below for them).
    EXPECT_NE(stats_of(tiered).find("\"promotions\":2"), std::string::npos) << stats_of(tiered);
    // A batch write through the cache replaces them.
    cache_slice vals[] = {{"x", 1}, {"y", 1}, {"z", 1}};
    ASSERT_EQ(cache_set_many(tiered, keys, vals, 3, CACHE_TTL_NONE), CACHE_OK);
    ASSERT_EQ(cache_get_many(tiered, keys, 3, out, st), CACHE_OK);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(st[i], CACHE_OK);
        EXPECT_EQ(std::string(static_cast<char *>(out[i].data), out[i].size),
                  std::string(1, char('x' + i)));
    }
    for (auto &b : out)
        cache_buf_free(&b);
}

TEST_F(TieredRedis, TagInvalidationDropsEveryCopy)
{
    cache_slice tag[] = {{"t", 1}};
    ASSERT_EQ(cache_set_tagged(tiered, "k", 1, "v", 1, CACHE_TTL_NONE, tag, 1), CACHE_OK);
    EXPECT_EQ(get_string(tiered, "k"), "v");
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(tiered, tag, 1, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 1u);
    int rc;
    get_string(tiered, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
}
#endif

#if TIERS_WITH_MEMCACHED
// Over memcached (no push) a copy is trusted for l1_ttl at most, and never
// longer than the entry it copied: the remaining lifetime comes with the
// value, in the same read.
class TieredMemcached : public ::testing::Test {
protected:
    void open(int64_t l1_ttl)
    {
        std::string l2 = "memcached://" + memcached_at();
        ASSERT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + l2 + R"("], "l1_ttl": )" +
                                       std::to_string(l1_ttl) + "}",
                                   nullptr, &tiered),
                  CACHE_OK)
            << cache_last_error();
        ASSERT_EQ(cache_open(l2.c_str(), &plain), CACHE_OK) << cache_last_error();
    }
    void TearDown() override
    {
        cache_clear(plain);
        cache_close(tiered);
        cache_close(plain);
    }
    cache_t *tiered = nullptr;
    cache_t *plain = nullptr;
};

TEST_F(TieredMemcached, PromotionKeepsTheRemainingLifetime)
{
    open(60000);
    ASSERT_EQ(set_string(plain, "short", "v", 2000), CACHE_OK);
    EXPECT_EQ(get_string(tiered, "short"), "v"); // copied into L1
    // Gone below by a path L1 cannot hear of: only its own life ends it.
    ASSERT_EQ(cache_delete(plain, "short", 5), CACHE_OK);
    EXPECT_EQ(get_string(tiered, "short"), "v") << "the L1 copy was not used";
    EXPECT_NE(stats_of(tiered).find("\"promotions\":1"), std::string::npos) << stats_of(tiered);
    sleep_ms(2300);
    int rc;
    get_string(tiered, "short", &rc);
    EXPECT_EQ(rc, CACHE_MISS) << "the copy outlived the entry it copied (l1_ttl is 60 s)";
}

TEST_F(TieredMemcached, CopiesLiveAtMostL1Ttl)
{
    open(300);
    ASSERT_EQ(set_string(plain, "k", "old"), CACHE_OK);
    EXPECT_EQ(get_string(tiered, "k"), "old");
    ASSERT_EQ(set_string(plain, "k", "new"), CACHE_OK);
    EXPECT_EQ(get_string(tiered, "k"), "old"); // the copy, within l1_ttl
    sleep_ms(400);
    EXPECT_EQ(get_string(tiered, "k"), "new");
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(tiered, "k", 1, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1) << "ttl comes from the lowest tier, not the capped copy";
}
#endif

#if TIERS_WITH_REDIS
// Redis tells the tier about other clients' writes (client tracking): no
// l1_ttl is needed, and a foreign write reaches the L1 copy.
TEST(TieredCoherence, AForeignWriteOverRedisReplacesTheCopy)
{
    std::string l2 = redis_uri("db=6");
    cache_t *t = nullptr, *p = nullptr;
    ASSERT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + l2 + R"("]})", nullptr, &t),
              CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(cache_open(l2.c_str(), &p), CACHE_OK);
    ASSERT_EQ(set_string(p, "k", "old"), CACHE_OK);
    EXPECT_EQ(get_string(t, "k"), "old");
    ASSERT_EQ(set_string(p, "k", "new"), CACHE_OK);
    auto start = Clock::now();
    std::string seen;
    while (ms_since(start) < 1000 && (seen = get_string(t, "k")) != "new")
        sleep_ms(1);
    EXPECT_EQ(seen, "new") << "the L1 copy outlived a foreign write by more than 1 s";
    cache_clear(p);
    cache_close(t);
    cache_close(p);
}

TEST(TieredCoherence, AForeignWriteToANamespacesStoredKeyReplacesTheCopy)
{
    // The tier tracks "app|" (BCAST PREFIX of the stored form), so a client
    // writing the stored key "app|k" as it is, as redis-cli would, is told.
    std::string l2 = redis_uri("db=7");
    cache_t *t = nullptr, *p = nullptr;
    ASSERT_EQ(open_with_status(R"({"tiers": ["memory://", ")" + l2 + R"("], "prefix": "app"})",
                               nullptr, &t),
              CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(cache_open(l2.c_str(), &p), CACHE_OK);
    ASSERT_EQ(set_string(p, "app|k", "old"), CACHE_OK);
    EXPECT_EQ(get_string(t, "k"), "old");
    ASSERT_EQ(set_string(p, "app|k", "new"), CACHE_OK);
    auto start = Clock::now();
    std::string seen;
    while (ms_since(start) < 1000 && (seen = get_string(t, "k")) != "new")
        sleep_ms(1);
    EXPECT_EQ(seen, "new") << "the L1 copy outlived a foreign write by more than 1 s";
    cache_clear(p);
    cache_close(t);
    cache_close(p);
}
#endif

} // namespace unicache_test
