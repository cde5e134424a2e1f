// redis-cluster:// on a real cluster of 3 masters and 3 replicas
// (cluster_fixture.h): the contract suite, batches of 1,000 keys over every
// slot, patterns and clear across masters, tags, hash tags, replica reads,
// and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "cluster_fixture.h"
#include "contract/contract_suite.h"
#include "support/cache_io.h"
#include "unicache.h"

namespace unicache_test {

INSTANTIATE_TEST_SUITE_P(Cluster, Contract,
                         ::testing::Values(ContractTarget{
                             "cluster", [] { return ClusterSet::shared().uri(); }}),
                         contract_name);

namespace {

using Clock = std::chrono::steady_clock;

cache_t *open_cluster(const std::string &query)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open(ClusterSet::shared().uri(query).c_str(), &c), CACHE_OK)
        << cache_last_error();
    return c;
}

int64_t dbsize(int port)
{
    return std::atoll(ClusterSet::ask(port, {"DBSIZE"}).c_str());
}

} // namespace

TEST(Cluster, SlotHashingMatchesTheServer)
{
    ClusterSet &cl = ClusterSet::shared();
    cache_t *c = open_cluster("prefix=slot:");
    ASSERT_NE(c, nullptr);
    // Each key where the server says its slot lives: {hash tags} included.
    for (const std::string k : {"a", "user:1", "{user1}:x", "{user1}:y", "{}x", "x{}y{z}", "{a"}) {
        ASSERT_EQ(set_string(c, k, "v"), CACHE_OK) << cache_last_error();
        // The stored key: the namespace "slot:", its '|', the key.
        int port = cl.master_of_slot(cl.slot_of("slot:|" + k));
        EXPECT_EQ(ClusterSet::ask(port, {"GET", "slot:|" + k}), "v") << k;
    }
    EXPECT_EQ(cl.slot_of("slot:|{user1}:x"), cl.slot_of("whatever{user1}"));
    cache_close(c);
    // A prefix that is a hash tag still pins every key of it to one slot.
    cache_t *pinned = open_cluster("prefix={app}");
    ASSERT_NE(pinned, nullptr);
    int slot = cl.slot_of("app");
    for (const std::string k : {"a", "b", "{other}c"}) {
        EXPECT_EQ(cl.slot_of("{app}|" + k), slot) << k;
        ASSERT_EQ(set_string(pinned, k, "v"), CACHE_OK) << cache_last_error();
        EXPECT_EQ(ClusterSet::ask(cl.master_of_slot(slot), {"GET", "{app}|" + k}), "v") << k;
    }
    EXPECT_EQ(cache_clear(pinned), CACHE_OK);
    cache_close(pinned);
}

TEST(Cluster, ABatchOfAThousandKeysOverEverySlot)
{
    ClusterSet &cl = ClusterSet::shared();
    cache_t *c = open_cluster("prefix=batch:");
    ASSERT_NE(c, nullptr);
    const size_t n = 1000;
    std::vector<std::string> keys, values;
    for (size_t i = 0; i < n; i++) {
        keys.push_back("k" + std::to_string(i));
        values.push_back("v" + std::to_string(i * 7));
    }
    std::vector<cache_slice> ks, vs;
    for (size_t i = 0; i < n; i++) {
        ks.push_back({keys[i].data(), keys[i].size()});
        vs.push_back({values[i].data(), values[i].size()});
    }
    std::vector<int64_t> before;
    for (int m : cl.masters())
        before.push_back(dbsize(m));
    ASSERT_EQ(cache_set_many(c, ks.data(), vs.data(), n, CACHE_TTL_NONE), CACHE_OK)
        << cache_last_error();
    // Spread over all three masters.
    std::vector<int> ms = cl.masters();
    for (size_t i = 0; i < ms.size(); i++)
        EXPECT_GT(dbsize(ms[i]) - before[i], 200) << ms[i];
    // Answers come back in the caller's order, with misses in place.
    std::vector<cache_slice> gs = ks;
    std::string missing = "never-written";
    gs.insert(gs.begin() + 500, cache_slice{missing.data(), missing.size()});
    std::vector<cache_buf> bufs(n + 1);
    std::vector<int> st(n + 1);
    ASSERT_EQ(cache_get_many(c, gs.data(), n + 1, bufs.data(), st.data()), CACHE_OK)
        << cache_last_error();
    for (size_t i = 0; i <= n; i++) {
        if (i == 500) {
            EXPECT_EQ(st[i], CACHE_MISS);
            continue;
        }
        size_t k = i < 500 ? i : i - 1;
        ASSERT_EQ(st[i], CACHE_OK) << i;
        EXPECT_EQ(std::string(static_cast<char *>(bufs[i].data), bufs[i].size), values[k]) << i;
        cache_buf_free(&bufs[i]);
    }
    size_t removed = 0;
    ASSERT_EQ(cache_delete_many(c, ks.data(), n, &removed), CACHE_OK);
    EXPECT_EQ(removed, n);
    EXPECT_EQ(get_string(c, keys[17]), "");
    cache_close(c);
}

TEST(Cluster, PatternsAndClearReachEveryMaster)
{
    ClusterSet &cl = ClusterSet::shared();
    cache_t *c = open_cluster("prefix=pat:");
    cache_t *other = open_cluster("prefix=keep:");
    ASSERT_NE(c, nullptr);
    ASSERT_NE(other, nullptr);
    for (int i = 0; i < 300; i++) {
        ASSERT_EQ(set_string(c, "user:" + std::to_string(i), "x"), CACHE_OK);
        ASSERT_EQ(set_string(c, "item:" + std::to_string(i), "x"), CACHE_OK);
    }
    ASSERT_EQ(set_string(other, "user:1", "stay"), CACHE_OK);
    std::set<int> owners;
    for (int i = 0; i < 300; i++)
        owners.insert(cl.master_of_slot(cl.slot_of("pat:user:" + std::to_string(i))));
    EXPECT_EQ(owners.size(), 3u);
    cache_buf_array list{};
    ASSERT_EQ(cache_keys(c, "user:*", 6, 0, &list), CACHE_OK) << cache_last_error();
    EXPECT_EQ(list.count, 300u);
    cache_buf_array_free(&list);
    ASSERT_EQ(cache_keys(c, "user:*", 6, 10, &list), CACHE_OK);
    EXPECT_EQ(list.count, 10u);
    cache_buf_array_free(&list);
    size_t removed = 0;
    ASSERT_EQ(cache_delete_pattern(c, "user:*", 6, &removed), CACHE_OK) << cache_last_error();
    EXPECT_EQ(removed, 300u);
    EXPECT_EQ(get_string(c, "item:5"), "x");
    ASSERT_EQ(cache_clear(c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(cache_keys(c, "*", 1, 0, &list), CACHE_OK);
    EXPECT_EQ(list.count, 0u);
    cache_buf_array_free(&list);
    EXPECT_EQ(get_string(other, "user:1"), "stay");
    cache_close(other);
    cache_close(c);
}

TEST(Cluster, TagsSpanSlotsAndMasters)
{
    cache_t *c = open_cluster("prefix=tag:");
    ASSERT_NE(c, nullptr);
    cache_slice red[] = {{"red", 3}};
    cache_slice both[] = {{"red", 3}, {"blue", 4}};
    for (int i = 0; i < 60; i++) {
        std::string k = "e" + std::to_string(i);
        ASSERT_EQ(cache_set_tagged(c, k.data(), k.size(), "v", 1, CACHE_TTL_NONE,
                                   i % 2 ? both : red, i % 2 ? 2 : 1),
                  CACHE_OK)
            << cache_last_error();
    }
    // Overwritten by a plain set: no longer the tagged value.
    ASSERT_EQ(set_string(c, "e0", "plain"), CACHE_OK);
    cache_slice blue[] = {{"blue", 4}};
    size_t removed = 0;
    ASSERT_EQ(cache_invalidate_tags(c, blue, 1, &removed), CACHE_OK) << cache_last_error();
    EXPECT_EQ(removed, 30u);
    EXPECT_EQ(get_string(c, "e1"), "");
    EXPECT_EQ(get_string(c, "e2"), "v");
    ASSERT_EQ(cache_invalidate_tags(c, red, 1, &removed), CACHE_OK);
    EXPECT_EQ(removed, 29u); // e0 was overwritten, the odd ones are gone already
    EXPECT_EQ(get_string(c, "e2"), "");
    EXPECT_EQ(get_string(c, "e0"), "plain");
    cache_close(c);
}

TEST(Cluster, ReadsFromReplicas)
{
    for (const char *mode : {"replica", "nearest"}) {
        cache_t *w = open_cluster("prefix=rr:");
        cache_t *r = open_cluster(std::string("prefix=rr:&read_from=") + mode);
        ASSERT_NE(w, nullptr);
        ASSERT_NE(r, nullptr);
        ASSERT_EQ(set_string(w, "k", mode), CACHE_OK);
        // Replication is asynchronous: the value arrives within a moment.
        auto until = Clock::now() + std::chrono::seconds(5);
        std::string got;
        while ((got = get_string(r, "k")) != mode && Clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_EQ(got, mode);
        // Writes through a replica-reading handle still go to the master.
        EXPECT_EQ(set_string(r, "w", "1"), CACHE_OK) << cache_last_error();
        EXPECT_EQ(get_string(w, "w"), "1");
        cache_close(r);
        cache_close(w);
    }
}

TEST(Cluster, LeasesLiveInTheKeysSlot)
{
    ClusterSet &cl = ClusterSet::shared();
    cache_t *a = open_cluster("prefix=lease:");
    cache_t *b = open_cluster("prefix=lease:");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    for (const std::string key : {"plain", "{tagged}x", "open{brace"}) {
        cache_buf v{nullptr, 0};
        cache_lease la = CACHE_LEASE_INIT, lb = CACHE_LEASE_INIT;
        ASSERT_EQ(cache_lease_get(a, key.data(), key.size(), 0, &v, &la), CACHE_MISS)
            << key << ": " << cache_last_error();
        ASSERT_EQ(cache_lease_held(&la), 1) << key;
        // Another handle finds the lease taken.
        EXPECT_EQ(cache_lease_get(b, key.data(), key.size(), CACHE_LEASE_NOWAIT, &v, &lb),
                  CACHE_WAIT)
            << key << ": " << cache_last_error();
        ASSERT_EQ(cache_lease_set(a, key.data(), key.size(), &la, "v", 1, CACHE_TTL_NONE), CACHE_OK)
            << key << ": " << cache_last_error();
        EXPECT_EQ(get_string(b, key), "v") << key;
        EXPECT_EQ(ClusterSet::ask(cl.master_of_slot(cl.slot_of("lease:|" + key)),
                                  {"GET", "lease:|" + key}),
                  "v");
        // A delete ends the lease and the key in one command (one slot).
        cache_lease lc = CACHE_LEASE_INIT;
        ASSERT_EQ(cache_delete(a, key.data(), key.size()), CACHE_OK) << cache_last_error();
        ASSERT_EQ(cache_lease_get(a, key.data(), key.size(), 0, &v, &lc), CACHE_MISS);
        cache_slice one{key.data(), key.size()};
        size_t removed = 0;
        ASSERT_EQ(cache_delete_many(a, &one, 1, &removed), CACHE_OK) << cache_last_error();
        EXPECT_EQ(cache_lease_set(a, key.data(), key.size(), &lc, "late", 4, CACHE_TTL_NONE),
                  CACHE_ELEASE)
            << key;
    }
    cache_close(b);
    cache_close(a);
}

// The cluster as the L2 of a tier: every master's tracking feeds the L1, so
// no l1_ttl is needed and a foreign write on any master reaches the copy;
// an invalidation connection killed on one master bypasses the L1 until it
// is back (and then empties it), so no copy outlives a write meanwhile.
TEST(Cluster, UnderAnL1ForeignWritesOnEveryMasterReachTheCopies)
{
    ClusterSet &cl = ClusterSet::shared();
    cache_t *t = nullptr, *p = nullptr;
    ASSERT_EQ(
        open_with_status(R"({"tiers": ["memory://", ")" + cl.uri() + R"("], "prefix": "l1:"})",
                         nullptr, &t),
        CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(cache_open(cl.uri("prefix=l1:").c_str(), &p), CACHE_OK);
    std::vector<std::string> keys;
    std::set<int> owners;
    for (int i = 0; i < 30; i++) {
        keys.push_back("k" + std::to_string(i));
        owners.insert(cl.master_of_slot(cl.slot_of("l1:" + keys.back())));
    }
    ASSERT_EQ(owners.size(), 3u);
    auto round = [&](const std::string &old_value, const std::string &new_value) {
        for (const std::string &k : keys)
            ASSERT_EQ(set_string(p, k, old_value), CACHE_OK);
        for (const std::string &k : keys)
            EXPECT_EQ(get_string(t, k), old_value); // now copied into L1
        for (const std::string &k : keys)
            ASSERT_EQ(set_string(p, k, new_value), CACHE_OK);
        auto start = Clock::now();
        for (const std::string &k : keys) {
            std::string seen;
            while ((seen = get_string(t, k)) != new_value &&
                   Clock::now() - start < std::chrono::seconds(2))
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            EXPECT_EQ(seen, new_value) << k << ": the L1 copy outlived a foreign write";
        }
    };
    round("a", "b");
    // One master's invalidation connection goes away.
    int victim = *owners.begin();
    ClusterSet::ask(victim, {"CLIENT", "KILL", "TYPE", "pubsub"});
    round("c", "d");
    cache_close(t);
    cache_close(p);
}

TEST(Cluster, BadInput)
{
    std::string msg;
    EXPECT_EQ(open_with_status("redis-cluster:///", &msg), CACHE_EINVAL);
    EXPECT_NE(msg.find("names no node"), std::string::npos) << msg;
    EXPECT_EQ(open_with_status(ClusterSet::shared().uri("read_from=any"), &msg), CACHE_EINVAL);
    EXPECT_EQ(open_with_status(ClusterSet::shared().uri("db=1"), &msg), CACHE_EINVAL);
    std::string p = std::to_string(ClusterSet::shared().nodes[0]->port());
    EXPECT_EQ(open_with_status("redis-cluster://127.0.0.1:" + p + "/3", &msg), CACHE_EINVAL);
    EXPECT_NE(msg.find("only database 0"), std::string::npos) << msg;

    // A plain server is not a cluster node.
    ServerProcess plain = ServerProcess::redis();
    plain.start();
    std::string plain_uri = "redis-cluster://127.0.0.1:" + std::to_string(plain.port());
    EXPECT_EQ(open_with_status(plain_uri, &msg), CACHE_EINVAL);
    EXPECT_NE(msg.find("not a Redis Cluster node"), std::string::npos) << msg;
    // ... and the plain backend says so of a cluster node.
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(("redis://127.0.0.1:" + p).c_str(), &c), CACHE_OK);
    int rc = CACHE_OK;
    for (int i = 0; i < 20 && rc == CACHE_OK; i++)
        rc = set_string(c, "probe" + std::to_string(i), "x");
    EXPECT_EQ(rc, CACHE_ENOTSUP);
    EXPECT_NE(std::string(cache_last_error()).find("redis-cluster://"), std::string::npos);
    cache_close(c);

    // Nobody listening.
    std::string nobody = "redis-cluster://127.0.0.1:" + std::to_string(ServerProcess::free_port()) +
                         "?connect_timeout_ms=200&timeout_ms=500";
    auto t0 = Clock::now();
    EXPECT_EQ(open_with_status(nobody, &msg), CACHE_EUNAVAILABLE) << msg;
    EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count(),
              3000);
}

TEST(Cluster, SlotsNotCoveredAreAClearError)
{
    // A one-node cluster that serves only slots 0-8191.
    std::string conf = "/tmp/unicache-test-halfcluster-" + std::to_string(::getpid()) + ".conf";
    std::remove(conf.c_str());
    ServerProcess half(
        std::vector<std::string>{
            "redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no", "--dir", "/tmp", "--dbfilename", conf.substr(5) + ".rdb", "--cluster-enabled",
            "yes", "--cluster-config-file", conf, "--cluster-require-full-coverage", "no"},
        ClusterSet::free_port());
    half.start();
    ASSERT_EQ(ClusterSet::ask(half.port(), {"CLUSTER", "ADDSLOTSRANGE", "0", "8191"}), "OK");
    auto until = Clock::now() + std::chrono::seconds(10);
    while (ClusterSet::ask(half.port(), {"CLUSTER", "INFO"}).find("cluster_state:ok") ==
               std::string::npos &&
           Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(("redis-cluster://127.0.0.1:" + std::to_string(half.port())).c_str(), &c),
              CACHE_OK)
        << cache_last_error();
    // "a" is in slot 15495, "b" in 3300.
    EXPECT_EQ(set_string(c, "b", "1"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(set_string(c, "a", "1"), CACHE_EUNAVAILABLE);
    EXPECT_NE(std::string(cache_last_error()).find("slot 15495 is served by no node"),
              std::string::npos)
        << cache_last_error();
    cache_close(c);
    std::remove(conf.c_str());
}

TEST(Cluster, APasswordOneNodeRefuses)
{
    ClusterSet &cl = ClusterSet::shared();
    int victim = cl.masters().back();
    const std::string pw = "only-Here-4d2";
    ASSERT_EQ(ClusterSet::ask(victim, {"CONFIG", "SET", "requirepass", pw}), "OK");
    std::string msg;
    EXPECT_EQ(open_with_status(cl.uri("prefix=pw:"), &msg), CACHE_EAUTH) << msg;
    EXPECT_NE(msg.find("127.0.0.1:" + std::to_string(victim)), std::string::npos) << msg;
    EXPECT_EQ(msg.find(pw), std::string::npos);
    // lazy_connect: the other masters' keys work, the refusing one's fail.
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(cl.uri("prefix=pw:&lazy_connect=true").c_str(), &c), CACHE_OK);
    int ok = 0, refused = 0;
    for (int i = 0; i < 30; i++) {
        int rc = set_string(c, "k" + std::to_string(i), "v");
        ok += rc == CACHE_OK;
        refused += rc == CACHE_EAUTH;
    }
    EXPECT_GT(ok, 0);
    EXPECT_GT(refused, 0);
    EXPECT_EQ(ok + refused, 30);
    cache_close(c);
    ASSERT_EQ(ClusterSet::ask(victim, {"CONFIG", "SET", "requirepass", ""}, pw), "OK");
}

} // namespace unicache_test
