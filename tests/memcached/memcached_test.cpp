// What the contract suite cannot say about memcached: keys memcached itself
// would refuse, servers that die, pause and come back, prefixes that share a
// server, the item size limit, TTL rules, and the URI. Every test runs
// against real memcached processes on loopback ports.
#include <gtest/gtest.h>
#include <libmemcached/memcached.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "memcached_test_support.h"
#include "support/fork_sharing.h"

namespace unicache_test {

namespace {

std::string get_str(cache_t *c, const std::string &k, int *rc_out = nullptr)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_get(c, k.data(), k.size(), &b);
    if (rc_out)
        *rc_out = rc;
    std::string out = rc == CACHE_OK ? std::string(static_cast<char *>(b.data), b.size) : "";
    cache_buf_free(&b);
    return out;
}

std::vector<cache_slice> slices_of(const std::vector<std::string> &keys)
{
    std::vector<cache_slice> out;
    for (const auto &k : keys)
        out.push_back({k.data(), k.size()});
    return out;
}

// One cache_get_many: its status, each key's status and value ("" for a
// miss). Checks that exactly the hits got a buffer, and frees them.
struct Batch {
    int rc;
    std::vector<int> statuses;
    std::vector<std::string> values;
};

Batch get_many(cache_t *c, const std::vector<cache_slice> &keys)
{
    size_t n = keys.size();
    std::vector<cache_buf> out(n, cache_buf{nullptr, 0});
    Batch b{0, std::vector<int>(n, 99), {}};
    b.rc = cache_get_many(c, keys.data(), n, out.data(), b.statuses.data());
    for (size_t i = 0; i < n; i++) {
        bool hit = b.rc == CACHE_OK && b.statuses[i] == CACHE_OK;
        EXPECT_EQ(out[i].data != nullptr, hit) << "key " << i;
        b.values.push_back(out[i].data ? std::string(static_cast<char *>(out[i].data), out[i].size)
                                       : "");
        cache_buf_free(&out[i]);
    }
    return b;
}

std::string key_named(int i)
{
    return "key:" + std::to_string(i);
}

// Two fresh servers, and the URI of a cache over both.
struct TwoServers {
    ServerProcess a = ServerProcess::memcached(), b = ServerProcess::memcached();
    TwoServers()
    {
        a.start();
        b.start();
    }
    std::string uri(const std::string &params = "") const
    {
        return "memcached://" + addr(a) + "," + addr(b) + (params.empty() ? "" : "?" + params);
    }
};

} // namespace

TEST(Memcached, AHandleUsedAcrossForkGivesEachProcessItsOwnConnections)
{
    // A pre-forking server opens the cache, then forks workers that use it
    // at the same time as the parent. Sharing a connection would hand one
    // process the other's replies. Both read paths: the fast get's own
    // sockets and libmemcached's.
    ServerProcess s = ServerProcess::memcached();
    s.start();
    for (const char *fast : {"true", "false"}) {
        cache_t *c = open_uri("memcached://" + addr(s) + "?fast_get=" + fast, "fork:");
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(wrong_answers_across_fork(c, fast), 0) << "fast_get=" << fast;
        cache_close(c);
    }
}

TEST(Memcached, LongAndUnsafeKeysWork)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    for (const char *proto : {"false", "true"}) {
        cache_t *c = open_uri("memcached://" + addr(s) + "?binary=" + proto, "p:");
        ASSERT_NE(c, nullptr);
        std::string shared(250, 's');
        const std::vector<std::string> keys = {
            std::string(300, 'a'),     std::string(10 * 1024, 'b'),      "with space",
            "line\r\nbreak",           std::string("tab\tand\0nul", 11), "\x7f\x80\xff",
            std::string(250 - 3, 'c'), // the longest full key ("p:|" + key) sent verbatim
            std::string(251 - 3, 'c'), // one more byte: sent as a digest
            shared + "-first",
            shared + "-second", // same first 250 bytes as the one before
        };
        for (size_t i = 0; i < keys.size(); i++)
            ASSERT_EQ(set_str(c, keys[i], "v" + std::to_string(i)), CACHE_OK)
                << proto << " key " << i << ": " << cache_last_error();
        for (size_t i = 0; i < keys.size(); i++) {
            int rc;
            EXPECT_EQ(get_str(c, keys[i], &rc), "v" + std::to_string(i)) << proto << " key " << i;
            EXPECT_EQ(rc, CACHE_OK);
            int64_t ttl = 0;
            EXPECT_EQ(cache_ttl(c, keys[i].data(), keys[i].size(), &ttl), CACHE_OK);
            EXPECT_EQ(ttl, -1);
        }
        // The 250-byte full key is its own memcached key; one byte more is not.
        memcached_return_t mrc;
        Bare(s).get("p:|" + keys[6], &mrc);
        EXPECT_EQ(mrc, MEMCACHED_SUCCESS);
        Bare(s).get("p:|" + keys[7], &mrc);
        EXPECT_NE(mrc, MEMCACHED_SUCCESS);
        // Every operation takes the long, unsafe key, batches included.
        const std::string &k = keys[1];
        int64_t v = 0;
        ASSERT_EQ(cache_incr(c, "line\r\nbreak", 11, 1, &v), CACHE_ENAN);
        ASSERT_EQ(set_str(c, k, "5"), CACHE_OK);
        ASSERT_EQ(cache_incr(c, k.data(), k.size(), -7, &v), CACHE_OK) << cache_last_error();
        EXPECT_EQ(v, -2);
        EXPECT_EQ(get_str(c, k), "-2");
        EXPECT_EQ(cache_add(c, k.data(), k.size(), "x", 1, 0), CACHE_MISS);
        EXPECT_EQ(cache_touch(c, k.data(), k.size(), 60000), CACHE_OK);
        std::vector<cache_slice> slices = slices_of(keys);
        Batch got = get_many(c, slices);
        ASSERT_EQ(got.rc, CACHE_OK) << cache_last_error();
        for (size_t i = 0; i < keys.size(); i++) {
            EXPECT_EQ(got.statuses[i], CACHE_OK) << i;
            EXPECT_EQ(got.values[i], i == 1 ? "-2" : "v" + std::to_string(i));
        }
        size_t deleted = 0;
        ASSERT_EQ(cache_delete_many(c, slices.data(), slices.size(), &deleted), CACHE_OK);
        EXPECT_EQ(deleted, keys.size());
        EXPECT_EQ(cache_exists(c, keys[9].data(), keys[9].size()), CACHE_MISS);
        cache_close(c);
    }
}

TEST(Memcached, EntriesSpreadOverServersAndSurviveAKill)
{
    TwoServers two;
    ServerProcess &a = two.a, &b = two.b;
    cache_t *c = open_uri(two.uri("timeout_ms=500&retry_timeout_s=1"), "spread:");
    ASSERT_NE(c, nullptr);
    const int n = 200;
    for (int i = 0; i < n; i++)
        ASSERT_EQ(set_str(c, key_named(i), "v" + std::to_string(i)), CACHE_OK)
            << cache_last_error();
    uint64_t on_a = Bare(a).stat("curr_items"), on_b = Bare(b).stat("curr_items");
    EXPECT_GT(on_a, uint64_t(n / 5));
    EXPECT_GT(on_b, uint64_t(n / 5));

    b.kill_hard();
    std::vector<int> survived;
    int errors = 0;
    int64_t slowest = 0;
    for (int i = 0; i < n; i++) {
        auto t0 = Clock::now();
        int rc;
        std::string v = get_str(c, key_named(i), &rc);
        slowest = std::max(slowest, ms_since(t0));
        if (rc == CACHE_OK) {
            EXPECT_EQ(v, "v" + std::to_string(i));
            survived.push_back(i);
        } else {
            EXPECT_TRUE(rc == CACHE_EUNAVAILABLE || rc == CACHE_ETIMEOUT) << rc;
            EXPECT_NE(std::string(cache_last_error()).find(addr(b)), std::string::npos)
                << cache_last_error();
            errors++;
        }
    }
    // The dead server's keys fail fast; the live one's all still read (its
    // items are our entries plus two generation counters: the root's and
    // the namespace's, named under it).
    EXPECT_EQ(survived.size(), size_t(on_a - 2));
    EXPECT_EQ(errors, n - int(on_a - 2));
    EXPECT_LT(slowest, 500 + 500);
    EXPECT_EQ(cache_ping(c), CACHE_EUNAVAILABLE);
    EXPECT_NE(std::string(cache_last_error()).find(addr(b)), std::string::npos)
        << cache_last_error();
    std::vector<std::string> names;
    for (int i = 0; i < 10; i++)
        names.push_back(key_named(i));
    int brc = get_many(c, slices_of(names)).rc; // (no buffers when it fails)
    EXPECT_TRUE(brc == CACHE_EUNAVAILABLE || brc == CACHE_ETIMEOUT) << brc;

    // Back on the same port: after retry_timeout_s, writes go through again.
    b.start();
    auto t0 = Clock::now();
    int written = 0;
    while (written < n && ms_since(t0) < 10000) {
        written = 0;
        for (int i = 0; i < n; i++)
            written += set_str(c, "after:" + std::to_string(i), "w") == CACHE_OK;
        if (written < n)
            sleep_ms(200);
    }
    EXPECT_EQ(written, n) << cache_last_error();
    EXPECT_GT(Bare(b).stat("curr_items"), 0u);
    // The surviving server's entries were never lost: each server has its own
    // generation, so the restart of one resets only its own entries.
    for (int i : survived)
        EXPECT_EQ(get_str(c, key_named(i)), "v" + std::to_string(i));
    cache_close(c);
}

TEST(Memcached, BigBatchesAcrossServersMatchEveryReply)
{
    // Replies of two servers interleave; misses, repeats, digest-named and
    // expiring entries are mixed in; 1200 requests are more than the C API
    // keeps on its stack.
    TwoServers two;
    cache_t *c = open_uri(two.uri(), "bb:");
    const size_t n = 1200;
    std::vector<std::string> keys, values;
    for (size_t i = 0; i < n; i++) {
        std::string k =
            i % 7 == 3 ? std::string(300, 'L') + std::to_string(i) : "k" + std::to_string(i);
        keys.push_back(i % 100 == 99 ? keys[i / 2] : k); // every 100th repeats an earlier key
        values.push_back("v" + std::to_string(i));
    }
    // Only even positions are stored; every 10th with a TTL.
    std::vector<std::string> expect(n);
    for (size_t i = 0; i < n; i++) {
        if (i % 2 || i % 100 == 99)
            continue;
        ASSERT_EQ(cache_set(c, keys[i].data(), keys[i].size(), values[i].data(), values[i].size(),
                            i % 10 == 0 ? 60000 : CACHE_TTL_NONE),
                  CACHE_OK)
            << cache_last_error();
    }
    for (size_t i = 0; i < n; i++) {
        size_t from = i % 100 == 99 ? i / 2 : i; // a repeat reads the earlier key's entry
        if (from % 2 == 0 && from % 100 != 99)
            expect[i] = values[from];
    }
    std::vector<cache_slice> ks = slices_of(keys);
    Batch got = get_many(c, ks);
    ASSERT_EQ(got.rc, CACHE_OK) << cache_last_error();
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        bool hit = !expect[i].empty();
        hits += hit;
        EXPECT_EQ(got.statuses[i], hit ? CACHE_OK : CACHE_MISS) << i;
        EXPECT_EQ(got.values[i], expect[i]) << i;
    }
    EXPECT_GT(hits, n / 3);
    // A NULL item anywhere fails the whole batch up front.
    ks[n - 1] = {nullptr, 3};
    EXPECT_EQ(get_many(c, ks).rc, CACHE_EINVAL);
    cache_close(c);
}

TEST(Memcached, AClearKeepsEveryKeyOnItsServer)
{
    // The generation is kept in each entry, not in its name: after a clear,
    // every key is written again under the same name, on the same server,
    // over its old entry.
    TwoServers two;
    ServerProcess &a = two.a, &b = two.b;
    cache_t *c = open_uri(two.uri(), "keep:");
    const int n = 100;
    for (int i = 0; i < n; i++)
        ASSERT_EQ(set_str(c, key_named(i), "1"), CACHE_OK) << cache_last_error();
    uint64_t on_a = Bare(a).stat("curr_items"), on_b = Bare(b).stat("curr_items");
    ASSERT_EQ(cache_clear(c), CACHE_OK) << cache_last_error();
    for (int i = 0; i < n; i++)
        ASSERT_EQ(set_str(c, key_named(i), "2"), CACHE_OK) << cache_last_error();
    // Each server holds as many items as before: the new entries (plus its
    // own generation counter), none left over from before the clear.
    EXPECT_EQ(Bare(a).stat("curr_items"), on_a);
    EXPECT_EQ(Bare(b).stat("curr_items"), on_b);
    for (int i = 0; i < n; i++)
        EXPECT_EQ(get_str(c, key_named(i)), "2");
    cache_close(c);
}

TEST(Memcached, AClearThatMissesAServerSaysSo)
{
    TwoServers two;
    ServerProcess &b = two.b;
    cache_t *c = open_uri(two.uri("timeout_ms=500"), "half:");
    const int n = 50;
    for (int i = 0; i < n; i++)
        ASSERT_EQ(set_str(c, key_named(i), "v"), CACHE_OK) << cache_last_error();
    b.kill_hard();
    EXPECT_EQ(cache_clear(c), CACHE_EUNAVAILABLE);
    std::string msg = cache_last_error();
    EXPECT_NE(msg.find("not cleared"), std::string::npos) << msg;
    EXPECT_NE(msg.find(addr(b)), std::string::npos) << msg;
    // The live server's part is cleared all the same.
    int hits = 0, misses = 0;
    for (int i = 0; i < n; i++) {
        int rc = cache_exists(c, key_named(i).data(), key_named(i).size());
        hits += rc == CACHE_OK;
        misses += rc == CACHE_MISS;
    }
    EXPECT_EQ(hits, 0);
    EXPECT_GT(misses, 0);
    cache_close(c);
}

TEST(Memcached, RemoveFailedServersMovesKeysToTheLiveServer)
{
    TwoServers two;
    ServerProcess &b = two.b;
    cache_t *c =
        open_uri(two.uri("timeout_ms=500&retry_timeout_s=1&remove_failed_servers=true&pool_size=1"),
                 "eject:");
    ASSERT_NE(c, nullptr);
    const int n = 100;
    for (int i = 0; i < n; i++)
        ASSERT_EQ(set_str(c, key_named(i), "old"), CACHE_OK) << cache_last_error();
    b.kill_hard();
    // A few calls notice the failure; then the dead server leaves the ring
    // and its keys land on the live one.
    auto t0 = Clock::now();
    int ok = 0;
    while (ok < n && ms_since(t0) < 10000) {
        ok = 0;
        for (int i = 0; i < n; i++)
            ok += set_str(c, key_named(i), "new") == CACHE_OK;
    }
    EXPECT_EQ(ok, n) << cache_last_error();
    for (int i = 0; i < n; i++)
        EXPECT_EQ(get_str(c, key_named(i)), "new") << i;
    cache_close(c);
}

TEST(Memcached, RemoveFailedServersWithOneServerFailsFastAndRecovers)
{
    // With one server there is no ring (and nowhere to move keys to): its
    // failure is reported, and it is used again once it is back.
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri("memcached://" + addr(s) +
                              "?timeout_ms=300&retry_timeout_s=1&remove_failed_servers=true",
                          "one:");
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << cache_last_error();
    s.kill_hard();
    for (int i = 0; i < 4; i++) {
        auto t0 = Clock::now();
        int rc;
        get_str(c, "k", &rc);
        EXPECT_TRUE(rc == CACHE_EUNAVAILABLE || rc == CACHE_ETIMEOUT) << rc;
        EXPECT_LT(ms_since(t0), 300 * 2 + 200);
    }
    s.start();
    ASSERT_EQ(until_ok(10000, [&] { return set_str(c, "k", "again"); }), CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(get_str(c, "k"), "again");
    cache_close(c);
}

TEST(Memcached, AStoppedServerTimesOutInsteadOfHanging)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri("memcached://" + addr(s) + "?timeout_ms=300&retry_timeout_s=1", "pause:");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << cache_last_error();
    s.pause();
    // SIGSTOP takes effect asynchronously: on a loaded machine the server
    // has been seen answering right after kill() returned.
    bool silent = false;
    for (int i = 0; i < 50 && !silent; i++)
        silent = !Bare(s).answers();
    ASSERT_TRUE(silent) << "the paused memcached still answers";
    for (int round = 0; round < 3; round++) {
        auto t0 = Clock::now();
        int rc;
        get_str(c, "k", &rc);
        int64_t took = ms_since(t0);
        EXPECT_TRUE(rc == CACHE_ETIMEOUT || rc == CACHE_EUNAVAILABLE) << rc;
        EXPECT_LT(took, 300 * 2 + 200) << "round " << round;
        t0 = Clock::now();
        rc = set_str(c, "k2", "v");
        EXPECT_TRUE(rc == CACHE_ETIMEOUT || rc == CACHE_EUNAVAILABLE) << rc;
        EXPECT_LT(ms_since(t0), 300 * 2 + 200);
    }
    s.resume();
    int rc = until_ok(5000, [&] {
        int got;
        get_str(c, "k", &got);
        return got;
    });
    EXPECT_EQ(rc, CACHE_OK) << cache_last_error();
    cache_close(c);
}

TEST(Memcached, NoServerMeansUnavailableNotAHang)
{
    int port = ServerProcess::free_port();
    std::string where = "127.0.0.1:" + std::to_string(port);
    // Like libmemcached, opening does not connect: servers may come later.
    cache_t *c = open_uri("memcached://" + where + "?timeout_ms=300");
    ASSERT_NE(c, nullptr);
    auto t0 = Clock::now();
    int rc;
    get_str(c, "k", &rc);
    EXPECT_EQ(rc, CACHE_EUNAVAILABLE);
    EXPECT_NE(std::string(cache_last_error()).find(where), std::string::npos) << cache_last_error();
    EXPECT_EQ(set_str(c, "k", "v"), CACHE_EUNAVAILABLE);
    EXPECT_EQ(cache_ping(c), CACHE_EUNAVAILABLE);
    EXPECT_EQ(cache_clear(c), CACHE_EUNAVAILABLE);
    EXPECT_LT(ms_since(t0), 2000);
    cache_close(c);
}

TEST(Memcached, ClearingOnePrefixLeavesTheOthers)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    std::string uri = "memcached://" + addr(s);
    cache_t *a = open_uri(uri, "A:");
    cache_t *b = open_uri(uri, "B:");
    cache_t *bare = open_uri(uri); // no prefix at all
    ASSERT_EQ(set_str(a, "k", "a"), CACHE_OK);
    ASSERT_EQ(set_str(b, "k", "b"), CACHE_OK);
    ASSERT_EQ(set_str(bare, "k", "none"), CACHE_OK);
    uint64_t items = Bare(s).stat("curr_items");
    ASSERT_EQ(cache_clear(a), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(a, "k", 1), CACHE_MISS);
    EXPECT_EQ(get_str(b, "k"), "b");
    EXPECT_EQ(get_str(bare, "k"), "none");
    // No flush_all: nothing was removed from the server.
    EXPECT_EQ(Bare(s).stat("curr_items"), items);
    EXPECT_EQ(Bare(s).stat("cmd_flush"), 0u);
    // A second handle with the same prefix in this process sees it at once.
    cache_t *a2 = open_uri(uri + "?generation_cache_ms=60000", "A:");
    ASSERT_EQ(set_str(a2, "k", "again"), CACHE_OK);
    EXPECT_EQ(get_str(a, "k"), "again");
    ASSERT_EQ(cache_clear(a), CACHE_OK);
    EXPECT_EQ(cache_exists(a2, "k", 1), CACHE_MISS);
    for (cache_t *c : {a, a2, b, bare})
        cache_close(c);
}

TEST(Memcached, AClearedEntryIsAbsentForEveryOperation)
{
    // Until a new write replaces it, the old item is still in memcached
    // under the same name; its generation makes it absent for everything.
    ServerProcess s = ServerProcess::memcached();
    s.start();
    for (const char *proto : {"false", "true"}) {
        cache_t *c = open_uri("memcached://" + addr(s) + "?binary=" + proto, "cl:");
        std::string long_key(300, 'L'); // digest-named
        std::vector<std::string> keys = {"get", "add", "incr", "touch", "ttl", "del", long_key};
        for (const auto &k : keys)
            ASSERT_EQ(set_str(c, k, "5", 60000), CACHE_OK) << cache_last_error();
        ASSERT_EQ(cache_clear(c), CACHE_OK) << cache_last_error();
        int rc;
        get_str(c, "get", &rc);
        EXPECT_EQ(rc, CACHE_MISS) << proto;
        get_str(c, long_key, &rc);
        EXPECT_EQ(rc, CACHE_MISS) << proto;
        EXPECT_EQ(cache_add(c, "add", 3, "new", 3, 0), CACHE_OK) << cache_last_error();
        EXPECT_EQ(get_str(c, "add"), "new");
        int64_t v = 0;
        ASSERT_EQ(cache_incr(c, "incr", 4, 2, &v), CACHE_OK) << cache_last_error();
        EXPECT_EQ(v, 2);
        EXPECT_EQ(cache_touch(c, "touch", 5, 1000), CACHE_MISS);
        int64_t ttl = 0;
        EXPECT_EQ(cache_ttl(c, "ttl", 3, &ttl), CACHE_MISS);
        EXPECT_EQ(cache_delete(c, "del", 3), CACHE_MISS);
        std::vector<cache_slice> slices = slices_of(keys);
        Batch got = get_many(c, slices);
        ASSERT_EQ(got.rc, CACHE_OK) << cache_last_error();
        for (size_t i = 0; i < keys.size(); i++) {
            bool rewritten = keys[i] == "add" || keys[i] == "incr";
            EXPECT_EQ(got.statuses[i], rewritten ? CACHE_OK : CACHE_MISS) << proto << " " << i;
        }
        EXPECT_EQ(got.values[1], "new");
        size_t deleted = 9;
        ASSERT_EQ(cache_delete_many(c, slices.data(), slices.size(), &deleted), CACHE_OK);
        EXPECT_EQ(deleted, 2u); // "add" and "incr", written after the clear
        cache_close(c);
    }
}

TEST(Memcached, KeysThatLookLikeOurOwnItemsStayApart)
{
    // Without a prefix, the first server's generation counter is "~g0|": a
    // user key of the same bytes must not land on it (nor on a tag counter
    // or another key's digest name).
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri("memcached://" + addr(s));
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << cache_last_error();
    memcached_return_t mrc;
    std::string gen = Bare(s).get("~g0|", &mrc);
    ASSERT_EQ(mrc, MEMCACHED_SUCCESS);
    for (const char *k : {"~g0|", "~t:t", "!x"})
        ASSERT_EQ(set_str(c, k, "user value"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(Bare(s).get("~g0|", &mrc), gen);
    cache_slice tag = {"t", 1};
    ASSERT_EQ(cache_set_tagged(c, "tagged", 6, "1", 1, 0, &tag, 1), CACHE_OK);
    for (const char *k : {"~g0|", "~t:t", "!x"})
        EXPECT_EQ(get_str(c, k), "user value") << k;
    EXPECT_EQ(get_str(c, "k"), "v");
    EXPECT_EQ(get_str(c, "tagged"), "1");
    cache_close(c);
}

TEST(Memcached, AnotherProcessSeesAClearWithinTheGenerationCacheTime)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    std::string uri = "memcached://" + addr(s);
    cache_t *cached = open_uri(uri + "?generation_cache_ms=500", "shared:");
    ASSERT_EQ(set_str(cached, "k", "v"), CACHE_OK);
    ASSERT_EQ(get_str(cached, "k"), "v");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        cache_t *other = nullptr;
        cache_options o = CACHE_OPTIONS_INIT;
        o.prefix = "shared:";
        o.prefix_len = 7;
        int rc = cache_open_ext(uri.c_str(), &o, &other);
        _exit(rc == CACHE_OK && cache_clear(other) == CACHE_OK ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // A handle that reads the generation every time sees the clear at once,
    // the caching one within generation_cache_ms.
    cache_t *strict = open_uri(uri + "?generation_cache_ms=0", "shared:");
    EXPECT_EQ(cache_exists(strict, "k", 1), CACHE_MISS);
    sleep_ms(600);
    EXPECT_EQ(cache_exists(cached, "k", 1), CACHE_MISS);
    cache_close(strict);
    cache_close(cached);
}

TEST(Memcached, CountersAreSignedAndAtomicAcrossHandles)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    std::string uri = "memcached://" + addr(s);
    cache_t *c1 = open_uri(uri, "n:");
    cache_t *c2 = open_uri(uri + "?binary=true", "n:");
    int64_t v = 0;
    ASSERT_EQ(set_str(c1, "x", "5"), CACHE_OK);
    ASSERT_EQ(cache_incr(c1, "x", 1, -7, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, -2);
    EXPECT_EQ(get_str(c2, "x"), "-2");
    ASSERT_EQ(cache_decr(c2, "x", 1, 3, &v), CACHE_OK);
    EXPECT_EQ(v, -5);

    std::atomic<int> failures{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&, t] {
            cache_t *c = t % 2 ? c1 : c2;
            for (int i = 0; i < 300; i++)
                failures += cache_incr(c, "shared", 6, t % 2 ? 2 : -1, nullptr) != CACHE_OK;
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(get_str(c1, "shared"), std::to_string(2 * 300 * 2 - 2 * 300));

    // A counter created by incr gets the default TTL; an existing one keeps its TTL.
    ASSERT_EQ(set_str(c1, "ttl", "1", 100000), CACHE_OK);
    ASSERT_EQ(cache_incr(c1, "ttl", 3, 1, &v), CACHE_OK);
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c1, "ttl", 3, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 90000);
    EXPECT_LE(ttl, 100000);
    cache_close(c1);
    cache_close(c2);
}

TEST(Memcached, TtlRulesMatchTheContract)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri("memcached://" + addr(s), "ttl:");
    const int64_t day = 24 * 3600 * 1000LL;
    int64_t ttl = 0;
    // Over 30 days memcached reads the expiry as a Unix time; sent as a
    // relative one the entry would be gone at once.
    ASSERT_EQ(set_str(c, "month", "v", 31 * day), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(c, "month"), "v");
    ASSERT_EQ(cache_ttl(c, "month", 5, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 31 * day - 5000);
    EXPECT_LE(ttl, 31 * day);
    ASSERT_EQ(cache_touch(c, "month", 5, 45 * day), CACHE_OK);
    ASSERT_EQ(cache_ttl(c, "month", 5, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 45 * day - 5000);
    // Beyond what memcached's clock can hold (2038): still stored, still exact.
    ASSERT_EQ(set_str(c, "century", "v", 100 * 365 * day), CACHE_OK);
    EXPECT_EQ(get_str(c, "century"), "v");
    ASSERT_EQ(cache_ttl(c, "century", 7, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 99 * 365 * day);
    // memcached has whole seconds and may drop an item up to one early;
    // unicache rounds up (+1 s: memcached keeps it about 3 s here), keeps
    // the deadline in ms and expires the entry on time.
    auto t0 = Clock::now();
    ASSERT_EQ(set_str(c, "short", "v", 1500), CACHE_OK);
    sleep_ms(500);
    if (ms_since(t0) < 1400) { // (unless this machine stalled us past the deadline)
        EXPECT_EQ(cache_exists(c, "short", 5), CACHE_OK);
    }
    sleep_ms(1200);
    EXPECT_EQ(cache_exists(c, "short", 5), CACHE_MISS);
    // An expired entry is absent for add() even while memcached still has it.
    EXPECT_EQ(cache_add(c, "short", 5, "new", 3, 0), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(c, "short"), "new");
    cache_close(c);
}

TEST(Memcached, ValuesOverTheItemLimitAreTooBig)
{
    ServerProcess s = ServerProcess::memcached({"-I", "1m"});
    s.start();
    for (const char *proto : {"false", "true"}) {
        cache_t *c = open_uri("memcached://" + addr(s) + "?binary=" + proto, "big:");
        std::string two_mb(2 << 20, 'x');
        for (int round = 0; round < 2; round++) { // the second one fails before sending
            EXPECT_EQ(set_str(c, "k", two_mb), CACHE_ETOOBIG) << proto;
            std::string msg = cache_last_error();
            EXPECT_NE(msg.find("1048576"), std::string::npos) << msg;
            EXPECT_NE(msg.find("2097152"), std::string::npos) << msg;
        }
        EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
        EXPECT_EQ(cache_add(c, "k", 1, two_mb.data(), two_mb.size(), 0), CACHE_ETOOBIG);
        cache_slice tag = {"t", 1};
        EXPECT_EQ(cache_set_tagged(c, "k", 1, two_mb.data(), two_mb.size(), 0, &tag, 1),
                  CACHE_ETOOBIG);
        // Under the limit still works, and the connection is still fine.
        std::string fits(1000 * 1000, 'y');
        ASSERT_EQ(set_str(c, "k", fits), CACHE_OK) << cache_last_error();
        EXPECT_EQ(get_str(c, "k"), fits);
        cache_close(c);
    }
}

TEST(Memcached, KeyListingIsNotSupportedAndSaysWhy)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri("memcached://" + addr(s));
    cache_buf_array arr = {nullptr, 0};
    EXPECT_EQ(cache_keys(c, "*", 1, 0, &arr), CACHE_ENOTSUP);
    std::string msg = cache_last_error();
    EXPECT_NE(msg.find("memcached"), std::string::npos) << msg;
    EXPECT_NE(msg.find("keys"), std::string::npos) << msg;
    EXPECT_EQ(arr.items, nullptr);
    size_t deleted = 7;
    EXPECT_EQ(cache_delete_pattern(c, "a*", 2, &deleted), CACHE_ENOTSUP);
    EXPECT_NE(std::string(cache_last_error()).find("pattern"), std::string::npos);
    // A bad pattern is still a bad pattern.
    EXPECT_EQ(cache_keys(c, "[", 1, 0, &arr), CACHE_EINVAL);
    cache_close(c);
}

TEST(Memcached, TagsAreCheckedOnEveryRead)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    std::string uri = "memcached://" + addr(s);
    cache_t *c1 = open_uri(uri, "tags:");
    cache_t *c2 = open_uri(uri + "?binary=true", "tags:");
    cache_slice t[] = {{"user:1", 6}, {"with space", 10}};
    ASSERT_EQ(cache_set_tagged(c1, "a", 1, "1", 1, 0, t, 2), CACHE_OK) << cache_last_error();
    ASSERT_EQ(cache_set_tagged(c1, "b", 1, "2", 1, 0, t + 1, 1), CACHE_OK);
    size_t n = 99;
    ASSERT_EQ(cache_invalidate_tags(c2, t, 1, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 0u); // lazy: nothing is removed now
    EXPECT_EQ(cache_exists(c1, "a", 1), CACHE_MISS);
    EXPECT_EQ(get_str(c1, "b"), "2");
    // Absent for add() and incr() too.
    EXPECT_EQ(cache_add(c1, "a", 1, "fresh", 5, 0), CACHE_OK);
    EXPECT_EQ(get_str(c2, "a"), "fresh");
    ASSERT_EQ(cache_set_tagged(c1, "n", 1, "41", 2, 0, t, 1), CACHE_OK);
    int64_t v = 0;
    ASSERT_EQ(cache_incr(c1, "n", 1, 1, &v), CACHE_OK);
    EXPECT_EQ(v, 42);
    ASSERT_EQ(cache_invalidate_tags(c1, t, 1, nullptr), CACHE_OK);
    ASSERT_EQ(cache_incr(c1, "n", 1, 1, &v), CACHE_OK);
    EXPECT_EQ(v, 1);
    // Invalidating a tag nobody used is fine.
    cache_slice unused = {"never", 5};
    EXPECT_EQ(cache_invalidate_tags(c1, &unused, 1, nullptr), CACHE_OK);
    cache_close(c1);
    cache_close(c2);
}

TEST(Memcached, AForeignItemUnderOurNameIsReportedNotReturned)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri("memcached://" + addr(s), "f:");
    ASSERT_EQ(set_str(c, "k", "mine"), CACHE_OK);
    Bare bare(s);
    memcached_return_t rc;
    // A short, safe entry's name is its full key (item_keys.h).
    const std::string name = "f:|k";
    std::string mine = bare.get(name, &rc);
    ASSERT_EQ(rc, MEMCACHED_SUCCESS);
    EXPECT_EQ(mine.substr(mine.size() - 4), "mine");
    // Another program's flags, then another program's plain value.
    for (uint32_t flags : {12345u, 0u}) {
        ASSERT_EQ(memcached_set(bare.mc, name.data(), name.size(), "theirs", 6, 0, flags),
                  MEMCACHED_SUCCESS);
        int grc;
        EXPECT_EQ(get_str(c, "k", &grc), "");
        EXPECT_EQ(grc, CACHE_ECORRUPT) << flags;
        EXPECT_NE(std::string(cache_last_error()).find("not written by unicache"),
                  std::string::npos)
            << cache_last_error();
    }
    // A set replaces it.
    ASSERT_EQ(set_str(c, "k", "mine again"), CACHE_OK);
    EXPECT_EQ(get_str(c, "k"), "mine again");
    cache_close(c);
}

TEST(Memcached, InfoDescribesEveryServer)
{
    TwoServers two;
    ServerProcess &a = two.a, &b = two.b;
    cache_t *c = open_uri(two.uri());
    cache_buf info = {nullptr, 0};
    ASSERT_EQ(cache_backend_info(c, &info), CACHE_OK) << cache_last_error();
    std::string text(static_cast<char *>(info.data), info.size);
    cache_buf_free(&info);
    for (const std::string &want : {"[" + addr(a) + "]", "[" + addr(b) + "]",
                                    std::string("curr_items"), std::string("distribution=ketama")})
        EXPECT_NE(text.find(want), std::string::npos) << want << " not in " << text;
    cache_buf json = {nullptr, 0};
    ASSERT_EQ(cache_stats_json(c, &json), CACHE_OK);
    std::string j(static_cast<char *>(json.data), json.size);
    cache_buf_free(&json);
    EXPECT_NE(j.find("\"backend\":\"memcached\""), std::string::npos) << j;
    EXPECT_NE(j.find("\"size\":null"), std::string::npos) << j;
    cache_close(c);
}

TEST(Memcached, BadUrisAreRejectedWithAReason)
{
    struct Case {
        std::string uri, needle;
    };
    const Case cases[] = {
        {"memcached://", "at least one server"},
        {"memcached://?binary=true", "at least one server"},
        {"memcached://127.0.0.1/db", "no path"},
        {"memcached://h:1,h:1", "listed twice"},
        {"memcached://h:1,h", "h:11211"}, // (not twice: different ports) -> must open
        {"memcached://h?timeout_ms=0", "timeout_ms"},
        {"memcached://h?pool_size=0", "pool_size"},
        {"memcached://h?retry_timeout_s=-1", "retry_timeout_s"},
        {"memcached://h?binary=maybe", "binary"},
        {"memcached://h?remove_failed_servers=2", "remove_failed_servers"},
        {"memcached://h?generation_cache_ms=x", "generation_cache_ms"},
        {"memcached://h?max_items=5", "generation_cache_ms"}, // lists the valid ones
        {"memcached://me@h", "user name and a password"},
        {"memcached://me:s3cret@h?fast_get=true", "fast_get"},
    };
    for (const Case &k : cases) {
        cache_t *c = nullptr;
        int rc = cache_open(k.uri.c_str(), &c);
        if (k.needle == "h:11211") {
            EXPECT_EQ(rc, CACHE_OK) << k.uri << ": " << cache_last_error();
            cache_close(c);
            continue;
        }
        EXPECT_EQ(rc, CACHE_EINVAL) << k.uri;
        EXPECT_EQ(c, nullptr);
        std::string msg = cache_last_error();
        EXPECT_NE(msg.find(k.needle), std::string::npos) << k.uri << ": " << msg;
        EXPECT_EQ(msg.find("s3cret"), std::string::npos) << msg;
    }
}

} // namespace unicache_test
