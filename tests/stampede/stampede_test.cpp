// Stampede protection through the C API: cache_fetch, the cache_lease_*
// protocol and its four parameters, on every backend that shares leases
// (one parameterised suite), plus the argument errors. The many-process
// herd is tests/stampede/herd_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "stampede/stampede_uris.h"
#include "support/cache_io.h"
#include "unicache.h"

using namespace unicache_test;

namespace {

int64_t now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// A compute that counts its calls, sleeps, and returns "v<n>".
struct Counting {
    std::atomic<int> calls{0};
    int sleep = 0;
    int status = CACHE_OK;
    cache_int64 ttl_override = -100; // -100: leave *ttl_ms
    cache_t *delete_from = nullptr;  // deletes the key during the compute
};

int counting_compute(void *ctx, const void *key, size_t key_len, cache_buf *value,
                     cache_int64 *ttl_ms)
{
    auto *c = static_cast<Counting *>(ctx);
    int n = ++c->calls;
    if (c->sleep)
        sleep_ms(c->sleep);
    if (c->delete_from)
        cache_delete(c->delete_from, key, key_len);
    if (c->ttl_override != -100)
        *ttl_ms = c->ttl_override;
    if (c->status != CACHE_OK)
        return c->status;
    std::string v = "v" + std::to_string(n);
    if (cache_buf_alloc(value, v.size()) != CACHE_OK)
        return CACHE_ENOMEM;
    std::memcpy(value->data, v.data(), v.size());
    return CACHE_OK;
}

int fetch(cache_t *c, const std::string &key, Counting *ctx, cache_int64 ttl, std::string *out)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_fetch(c, key.data(), key.size(), counting_compute, ctx, ttl, &b);
    if (out)
        *out = b.data ? std::string(static_cast<char *>(b.data), b.size) : "";
    cache_buf_free(&b);
    return rc;
}

class Stampede : public ::testing::TestWithParam<StampedeBackend> {
protected:
    // A handle on the backend with extra query parameters; a fresh key
    // prefix per test so the shared servers hold nothing of other tests.
    cache_t *open(const std::string &query = "")
    {
        std::string uri = GetParam().uri(query_with_prefix(query));
        cache_t *c = nullptr;
        int rc = cache_open(uri.c_str(), &c);
        EXPECT_EQ(rc, CACHE_OK) << uri << ": " << cache_last_error();
        handles_.push_back(c);
        return c;
    }
    std::string query_with_prefix(const std::string &query)
    {
        std::string p = "prefix=st" + std::to_string(getpid()) + "_" +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name();
        for (char &ch : p)
            if (ch == '/')
                ch = '_';
        return query.empty() ? p : p + "&" + query;
    }
    void TearDown() override
    {
        for (cache_t *c : handles_) {
            if (c)
                cache_clear(c);
            cache_close(c);
        }
    }
    std::vector<cache_t *> handles_;
};

TEST_P(Stampede, FetchComputesOnceAndThenHits)
{
    cache_t *c = open();
    Counting ctx;
    std::string v;
    ASSERT_EQ(fetch(c, "k", &ctx, 60000, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, "v1");
    ASSERT_EQ(fetch(c, "k", &ctx, 60000, &v), CACHE_OK);
    EXPECT_EQ(v, "v1");
    EXPECT_EQ(ctx.calls.load(), 1);
    EXPECT_EQ(get_string(c, "k"), "v1");
}

TEST_P(Stampede, ConcurrentMissesComputeOnce)
{
    cache_t *c = open();
    Counting ctx;
    ctx.sleep = 150;
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 12; i++)
        threads.emplace_back([&] {
            std::string v;
            if (fetch(c, "herd", &ctx, 60000, &v) == CACHE_OK && v == "v1")
                ok++;
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(ctx.calls.load(), 1);
    EXPECT_EQ(ok.load(), 12);
}

TEST_P(Stampede, DeleteDuringComputeRefusesTheSet)
{
    cache_t *c = open();
    cache_t *other = open();
    cache_lease lease = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &lease), CACHE_MISS) << cache_last_error();
    ASSERT_TRUE(cache_lease_held(&lease));
    cache_delete(other, "k", 1);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &lease, "old", 3, 60000), CACHE_ELEASE);
    EXPECT_FALSE(cache_lease_held(&lease));
    EXPECT_NE(std::string(cache_last_error()).find("lease was lost"), std::string::npos);
    int rc = 0;
    get_string(c, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);

    // The same through cache_fetch: the value is returned, not stored.
    Counting ctx;
    ctx.delete_from = other;
    std::string v;
    EXPECT_EQ(fetch(c, "k2", &ctx, 60000, &v), CACHE_OK);
    EXPECT_EQ(v, "v1");
    get_string(c, "k2", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
}

TEST_P(Stampede, NewerSetDuringComputeWins)
{
    cache_t *c = open();
    cache_t *other = open();
    cache_lease lease = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &lease), CACHE_MISS);
    ASSERT_EQ(set_string(other, "k", "newer", 60000), CACHE_OK);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &lease, "older", 5, 60000), CACHE_ELEASE);
    EXPECT_EQ(get_string(c, "k"), "newer");
}

TEST_P(Stampede, WaitersGetTheHoldersValueAndNowaitSaysWait)
{
    cache_t *c = open();
    cache_t *other = open();
    cache_lease lease = CACHE_LEASE_INIT, theirs = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &lease), CACHE_MISS);
    EXPECT_EQ(cache_lease_get(other, "k", 1, CACHE_LEASE_NOWAIT, &b, &theirs), CACHE_WAIT);
    EXPECT_FALSE(cache_lease_held(&theirs));
    std::thread holder([&] {
        sleep_ms(100);
        cache_lease_set(c, "k", 1, &lease, "val", 3, 60000);
    });
    int64_t t0 = now_ms();
    int rc = cache_lease_get(other, "k", 1, 0, &b, &theirs);
    int64_t waited = now_ms() - t0;
    holder.join();
    ASSERT_EQ(rc, CACHE_OK) << cache_last_error();
    EXPECT_EQ(std::string(static_cast<char *>(b.data), b.size), "val");
    EXPECT_FALSE(cache_lease_held(&theirs));
    EXPECT_LT(waited, 4000); // well inside lock_timeout (5 s)
    cache_buf_free(&b);
}

TEST_P(Stampede, FailedComputeReleasesTheLeaseAtOnce)
{
    cache_t *c = open();
    cache_t *other = open();
    Counting failing;
    failing.sleep = 100;
    failing.status = CACHE_EUNAVAILABLE;
    Counting good;
    std::thread t([&] { EXPECT_EQ(fetch(c, "k", &failing, 60000, nullptr), CACHE_EUNAVAILABLE); });
    sleep_ms(30);
    int64_t t0 = now_ms();
    std::string v;
    EXPECT_EQ(fetch(other, "k", &good, 60000, &v), CACHE_OK);
    int64_t waited = now_ms() - t0;
    t.join();
    EXPECT_EQ(v, "v1");
    EXPECT_EQ(good.calls.load(), 1);
    EXPECT_LT(waited, 3000); // lock_timeout is 5 s: it did not wait that out
    EXPECT_EQ(get_string(c, "k"), "v1");
}

TEST_P(Stampede, ExpiredLeaseIsTakenOverAndTheOldHolderRefused)
{
    cache_t *c = open("lease_ttl=150");
    cache_lease a = CACHE_LEASE_INIT, b2 = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &a), CACHE_MISS);
    // The holder "hangs": after lease_ttl the next caller takes over.
    int64_t t0 = now_ms();
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &b2), CACHE_MISS) << cache_last_error();
    EXPECT_TRUE(cache_lease_held(&b2));
    EXPECT_LT(now_ms() - t0, 3000);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &a, "late", 4, 60000), CACHE_ELEASE);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &b2, "new", 3, 60000), CACHE_OK);
    EXPECT_EQ(get_string(c, "k"), "new");
}

TEST_P(Stampede, LockTimeoutLetsAWaiterComputeWithoutStoring)
{
    cache_t *c = open("lock_timeout=100");
    cache_lease a = CACHE_LEASE_INIT, b2 = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &a), CACHE_MISS);
    int64_t t0 = now_ms();
    EXPECT_EQ(cache_lease_get(c, "k", 1, 0, &b, &b2), CACHE_MISS);
    EXPECT_GE(now_ms() - t0, 90);
    EXPECT_FALSE(cache_lease_held(&b2));
    EXPECT_EQ(cache_lease_set(c, "k", 1, &b2, "x", 1, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_release(c, "k", 1, &a), CACHE_OK);
}

TEST_P(Stampede, StaleWhileRevalidate)
{
    cache_t *c = open("stale_ttl=5000");
    Counting ctx;
    std::string v;
    ASSERT_EQ(fetch(c, "k", &ctx, 300, &v), CACHE_OK);
    EXPECT_EQ(v, "v1");
    // The stale copy and the lease are never listed as keys.
    cache_buf_array listed = {nullptr, 0};
    int listing = cache_keys(c, "*", 1, 0, &listed);
    if (listing != CACHE_ENOTSUP) { // memcached cannot list keys
        ASSERT_EQ(listing, CACHE_OK) << cache_last_error();
        EXPECT_EQ(listed.count, 1u);
    }
    cache_buf_array_free(&listed);
    sleep_ms(450);
    // Expired: the first caller gets the old value and the refresh lease,
    // the next one the old value at once without a lease.
    cache_lease mine = CACHE_LEASE_INIT, theirs = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &mine), CACHE_STALE) << cache_last_error();
    EXPECT_EQ(std::string(static_cast<char *>(b.data), b.size), "v1");
    cache_buf_free(&b);
    EXPECT_TRUE(cache_lease_held(&mine));
    int64_t t0 = now_ms();
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &theirs), CACHE_STALE);
    EXPECT_LT(now_ms() - t0, 1000); // served, not waited
    EXPECT_FALSE(cache_lease_held(&theirs));
    cache_buf_free(&b);
    EXPECT_EQ(fetch(c, "k", &ctx, 300, &v), CACHE_STALE);
    EXPECT_EQ(v, "v1");
    EXPECT_EQ(ctx.calls.load(), 1);
    ASSERT_EQ(cache_lease_set(c, "k", 1, &mine, "v2", 2, 300), CACHE_OK);
    EXPECT_EQ(fetch(c, "k", &ctx, 300, &v), CACHE_OK);
    EXPECT_EQ(v, "v2");
    // A delete removes the stale copy too.
    sleep_ms(450);
    cache_delete(c, "k", 1);
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &mine), CACHE_MISS);
    EXPECT_EQ(cache_lease_release(c, "k", 1, &mine), CACHE_OK);
}

TEST_P(Stampede, EarlyRefreshHappensBeforeExpiryWithoutMisses)
{
    // beta 4 and a 40 ms compute against a 600 ms TTL: with a request
    // every ~5 ms, one of them elects itself well before expiry.
    cache_t *c = open("early_refresh=4");
    std::atomic<int> misses{0}, early{0}, stale{0};
    std::atomic<bool> stop{false};
    auto worker = [&] {
        while (!stop) {
            cache_lease l = CACHE_LEASE_INIT;
            cache_buf b = {nullptr, 0};
            int rc = cache_lease_get(c, "k", 1, 0, &b, &l);
            cache_buf_free(&b);
            if (rc == CACHE_MISS)
                misses++;
            if (rc == CACHE_STALE)
                stale++;
            if (cache_lease_held(&l)) {
                if (rc == CACHE_OK)
                    early++;
                sleep_ms(40);
                cache_lease_set(c, "k", 1, &l, "v", 1, 600);
            }
            sleep_ms(5);
        }
    };
    // The first fill, then steady traffic for three TTLs.
    {
        cache_lease l = CACHE_LEASE_INIT;
        cache_buf b = {nullptr, 0};
        ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
        sleep_ms(40);
        ASSERT_EQ(cache_lease_set(c, "k", 1, &l, "v", 1, 600), CACHE_OK);
    }
    std::vector<std::thread> ts;
    for (int i = 0; i < 2; i++)
        ts.emplace_back(worker);
    sleep_ms(1900);
    stop = true;
    for (auto &t : ts)
        t.join();
    EXPECT_GE(early.load(), 2) << "refreshes before expiry";
    EXPECT_EQ(misses.load(), 0);
    EXPECT_EQ(stale.load(), 0);
}

TEST_P(Stampede, LeaseMisuseIsInvalid)
{
    cache_t *c = open();
    cache_t *other = open();
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    // Not held.
    EXPECT_EQ(cache_lease_set(c, "k", 1, &l, "v", 1, 0), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("not held"), std::string::npos);
    EXPECT_EQ(cache_lease_release(c, "k", 1, &l), CACHE_EINVAL);
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
    // Held: a second get on it, another key, another handle.
    EXPECT_EQ(cache_lease_get(c, "j", 1, 0, &b, &l), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_set(c, "j", 1, &l, "v", 1, 0), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("another key"), std::string::npos);
    EXPECT_EQ(cache_lease_set(other, "k", 1, &l, "v", 1, 0), CACHE_EINVAL);
    EXPECT_TRUE(cache_lease_held(&l)) << "a misdirected lease is left as it was";
    // After release, and a copy used after release.
    cache_lease copy = l;
    EXPECT_EQ(cache_lease_release(c, "k", 1, &l), CACHE_OK);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &l, "v", 1, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_release(c, "k", 1, &l), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &copy, "v", 1, 0), CACHE_ELEASE);
    int rc = 0;
    get_string(c, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    // A bad TTL ends the lease: the next caller gets it at once.
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &l, "v", 1, -7), CACHE_EINVAL);
    EXPECT_FALSE(cache_lease_held(&l));
    EXPECT_EQ(cache_lease_get(c, "k", 1, CACHE_LEASE_NOWAIT, &b, &l), CACHE_MISS);
    EXPECT_EQ(cache_lease_release(c, "k", 1, &l), CACHE_OK);
}

TEST_P(Stampede, BadComputesAreInvalidAndCacheNothing)
{
    cache_t *c = open();
    std::string v;
    for (int garbage : {77, CACHE_STALE, CACHE_MISS, -999, INT_MIN}) {
        Counting ctx;
        ctx.status = garbage;
        EXPECT_EQ(fetch(c, "k", &ctx, 60000, &v), CACHE_EINVAL) << garbage;
        EXPECT_NE(std::string(cache_last_error()).find("compute returned"), std::string::npos);
    }
    Counting neg;
    neg.ttl_override = -5;
    EXPECT_EQ(fetch(c, "k", &neg, 60000, &v), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("negative TTL"), std::string::npos);
    Counting huge;
    huge.ttl_override = INT64_MAX;
    EXPECT_EQ(fetch(c, "k", &huge, 60000, &v), CACHE_EINVAL);
    Counting err;
    err.status = CACHE_ETIMEOUT;
    EXPECT_EQ(fetch(c, "k", &err, 60000, &v), CACHE_ETIMEOUT);
    int rc = 0;
    get_string(c, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    // None of them left a lease behind: the next fetch computes at once.
    Counting good;
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_lease_get(c, "k", 1, CACHE_LEASE_NOWAIT, &b, &l), CACHE_MISS);
    EXPECT_EQ(cache_lease_release(c, "k", 1, &l), CACHE_OK);
    EXPECT_EQ(fetch(c, "k", &good, CACHE_TTL_DEFAULT, &v), CACHE_OK);
    EXPECT_EQ(v, "v1");
}

// ------------------------------------------- per-call settings (opts)

cache_fetch_options stale_for(cache_int64 ms)
{
    cache_fetch_options o = CACHE_FETCH_OPTIONS_INIT;
    o.stale_ttl_ms = ms;
    return o;
}

int fetch_ext(cache_t *c, const std::string &key, Counting *ctx, cache_int64 ttl,
              const cache_fetch_options *opts, std::string *out)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_fetch_ext(c, key.data(), key.size(), counting_compute, ctx, ttl, opts, &b);
    if (out)
        *out = b.data ? std::string(static_cast<char *>(b.data), b.size) : "";
    cache_buf_free(&b);
    return rc;
}

// The status a plain cache_lease_get answers (the lease it may get is released).
int plain_read(cache_t *c, const std::string &key)
{
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    int rc = cache_lease_get(c, key.data(), key.size(), CACHE_LEASE_NOWAIT, &b, &l);
    cache_buf_free(&b);
    if (cache_lease_held(&l))
        cache_lease_release(c, key.data(), key.size(), &l);
    return rc;
}

TEST_P(Stampede, StaleWindowIsTheWritersPerCall)
{
    // Neither handle has a stale_ttl of its own: the windows come from
    // the calls that wrote each value, and every reader honours them.
    cache_t *c = open();
    cache_t *reader = open();
    cache_t *wide = open("stale_ttl=5000");
    Counting ctx;
    std::string v;
    cache_fetch_options five = stale_for(5000), none = stale_for(0);
    ASSERT_EQ(fetch_ext(c, "windowed", &ctx, 300, &five, &v), CACHE_OK) << cache_last_error();
    ASSERT_EQ(fetch_ext(c, "plain", &ctx, 300, nullptr, &v), CACHE_OK);
    // A handle with stale_ttl=5000 that asks for none per call keeps none.
    ASSERT_EQ(fetch_ext(wide, "opted_out", &ctx, 300, &none, &v), CACHE_OK);
    // And a lease pair with its own window.
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "pair", 4, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_ext(c, "pair", 4, &l, "p1", 2, 300, &five), CACHE_OK);
    sleep_ms(450);
    EXPECT_EQ(plain_read(reader, "windowed"), CACHE_STALE);
    EXPECT_EQ(plain_read(reader, "pair"), CACHE_STALE);
    EXPECT_EQ(plain_read(reader, "plain"), CACHE_MISS);
    EXPECT_EQ(plain_read(reader, "opted_out"), CACHE_MISS);
    // The stale value is served by a fetch without options too, which
    // refreshes it (with the cache's settings: no window from now on).
    EXPECT_EQ(fetch_ext(reader, "windowed", &ctx, 300, nullptr, &v), CACHE_OK);
    EXPECT_EQ(v, "v4") << "the refresher computes and returns the new value";
    sleep_ms(450);
    EXPECT_EQ(plain_read(reader, "windowed"), CACHE_MISS);
}

TEST_P(Stampede, TheRefresherKeepsTheStaleValueServedWhileItRecomputes)
{
    // Rails' race_condition_ttl: a stale read that takes the lease (with a
    // stale_ttl of its own) keeps the old value served that long from now,
    // even past the window the fill wrote.
    cache_t *c = open();
    cache_t *reader = open();
    cache_fetch_options written = stale_for(400), refresh = stale_for(3000);
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_ext(c, "k", 1, &l, "old", 3, 200, &written), CACHE_OK);
    ASSERT_EQ(cache_lease_get(c, "j", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_ext(c, "j", 1, &l, "old", 3, 200, &written), CACHE_OK);
    sleep_ms(300);
    // "k": the refresher asks for 3 s more; "j": one that asks for nothing.
    cache_lease k_lease = CACHE_LEASE_INIT, j_lease = CACHE_LEASE_INIT;
    ASSERT_EQ(cache_lease_get_ext(c, "k", 1, 0, &refresh, &b, &k_lease), CACHE_STALE);
    cache_buf_free(&b);
    ASSERT_TRUE(cache_lease_held(&k_lease));
    ASSERT_EQ(cache_lease_get(c, "j", 1, 0, &b, &j_lease), CACHE_STALE);
    cache_buf_free(&b);
    ASSERT_TRUE(cache_lease_held(&j_lease));
    sleep_ms(500); // past the 600 ms the fill wrote
    EXPECT_EQ(plain_read(reader, "k"), CACHE_STALE) << "served while the refresher computes";
    // The fill's window is over: not served stale (a wait for the holder;
    // memcached, whose refresh lease is an item of its own, grants a new one).
    int j = plain_read(reader, "j");
    EXPECT_TRUE(j == CACHE_WAIT || j == CACHE_MISS) << j;
    EXPECT_EQ(cache_lease_set(c, "k", 1, &k_lease, "new", 3, 60000), CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(get_string(reader, "k"), "new");
    EXPECT_EQ(cache_lease_release(c, "j", 1, &j_lease), CACHE_OK);
}

TEST_P(Stampede, LeaseTtlAndLockTimeoutPerCall)
{
    cache_t *c = open();
    // memcached counts leases in whole seconds on a clock that ticks once a
    // second, so a 1 s lease may end at once: it gets 2 s (1-2 s).
    const bool memcached = GetParam().name.rfind("memcached", 0) == 0;
    cache_fetch_options o = CACHE_FETCH_OPTIONS_INIT;
    o.lease_ttl_ms = memcached ? 2000 : 300;
    cache_lease holder = CACHE_LEASE_INIT, next = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get_ext(c, "k", 1, 0, &o, &b, &holder), CACHE_MISS) << cache_last_error();
    EXPECT_EQ(cache_lease_get(c, "k", 1, CACHE_LEASE_NOWAIT, &b, &next), CACHE_WAIT);
    // A waiter with lock_timeout 50 gives up after about that long.
    cache_fetch_options quick = CACHE_FETCH_OPTIONS_INIT;
    quick.lock_timeout_ms = 50;
    int64_t t0 = now_ms();
    ASSERT_EQ(cache_lease_get_ext(c, "k", 1, 0, &quick, &b, &next), CACHE_MISS);
    EXPECT_FALSE(cache_lease_held(&next)) << "no lease: compute without storing";
    EXPECT_LT(now_ms() - t0, 1000) << "not the cache's 5000 ms";
    // The holder's lease (300 ms; 2 s on memcached; not the cache's 10 s)
    // runs out: taken over.
    sleep_ms(memcached ? 2300 : 400);
    ASSERT_EQ(cache_lease_get(c, "k", 1, CACHE_LEASE_NOWAIT, &b, &next), CACHE_MISS);
    EXPECT_TRUE(cache_lease_held(&next));
    EXPECT_EQ(cache_lease_set(c, "k", 1, &holder, "old", 3, 0), CACHE_ELEASE);
    EXPECT_EQ(cache_lease_set(c, "k", 1, &next, "new", 3, 0), CACHE_OK);
    EXPECT_EQ(get_string(c, "k"), "new");
}

TEST_P(Stampede, EarlyRefreshPerCall)
{
    // The handle has no early_refresh; the calls ask for beta 50 (a 40 ms
    // compute then elects a hit well before a 2 s expiry).
    cache_t *c = open();
    cache_fetch_options early = CACHE_FETCH_OPTIONS_INIT;
    early.early_refresh = 50;
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get_ext(c, "k", 1, 0, &early, &b, &l), CACHE_MISS);
    sleep_ms(40);
    ASSERT_EQ(cache_lease_set_ext(c, "k", 1, &l, "v", 1, 2000, &early), CACHE_OK);
    int elected = 0, plain_elected = 0;
    for (int i = 0; i < 20 && !elected; i++) {
        cache_lease p = CACHE_LEASE_INIT;
        ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &p), CACHE_OK);
        cache_buf_free(&b);
        plain_elected += cache_lease_held(&p);
        if (cache_lease_held(&p))
            cache_lease_release(c, "k", 1, &p);
        ASSERT_EQ(cache_lease_get_ext(c, "k", 1, 0, &early, &b, &l), CACHE_OK);
        cache_buf_free(&b);
        if (cache_lease_held(&l)) {
            elected++;
            EXPECT_EQ(cache_lease_set_ext(c, "k", 1, &l, "w", 1, 2000, &early), CACHE_OK);
        }
        sleep_ms(20);
    }
    EXPECT_EQ(elected, 1) << "a per-call beta of 50 refreshes early";
    EXPECT_EQ(plain_elected, 0) << "the cache's early_refresh is 0";
    EXPECT_EQ(get_string(c, "k"), "w");
}

// The top-level counter name of a handle's statistics.
int64_t counter(cache_t *c, const char *name)
{
    std::string s = stats_of(c), field = std::string("\"") + name + "\":";
    size_t at = s.find(field);
    return at == std::string::npos ? -1 : std::atoll(s.c_str() + at + field.size());
}

struct Counts {
    int64_t hits, misses, sets;
};

Counts counts(cache_t *c)
{
    return Counts{counter(c, "hits"), counter(c, "misses"), counter(c, "sets")};
}

#define EXPECT_COUNTS(c, h, m, s)                                                                  \
    do {                                                                                           \
        Counts got_ = counts(c);                                                                   \
        EXPECT_EQ(got_.hits, h) << "hits";                                                         \
        EXPECT_EQ(got_.misses, m) << "misses";                                                     \
        EXPECT_EQ(got_.sets, s) << "sets";                                                         \
    } while (0)

TEST_P(Stampede, FetchCountsEachOutcomeOnce)
{
    cache_t *filler = open();
    Counting ctx;
    std::string v;
    // Miss: one miss (the caller's), one set.
    ASSERT_EQ(fetch(filler, "k", &ctx, 300, &v), CACHE_OK);
    EXPECT_COUNTS(filler, 0, 1, 1);
    // Hit: one hit.
    ASSERT_EQ(fetch(filler, "k", &ctx, 300, &v), CACHE_OK);
    EXPECT_COUNTS(filler, 1, 1, 1);
    // Stale: one hit for the value served, on a handle of its own.
    cache_fetch_options five = stale_for(5000);
    ASSERT_EQ(fetch_ext(filler, "s", &ctx, 300, &five, &v), CACHE_OK);
    sleep_ms(450);
    cache_lease refresher = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(filler, "s", 1, 0, &b, &refresher), CACHE_STALE);
    cache_buf_free(&b);
    ASSERT_TRUE(cache_lease_held(&refresher));
    cache_t *stale = open();
    ASSERT_EQ(fetch(stale, "s", &ctx, 300, &v), CACHE_STALE);
    EXPECT_COUNTS(stale, 1, 0, 0);
    EXPECT_EQ(cache_lease_release(filler, "s", 1, &refresher), CACHE_OK);
    // Wait: a caller that waits for another's value counts one hit.
    cache_lease holder = CACHE_LEASE_INIT;
    ASSERT_EQ(cache_lease_get(filler, "w", 1, 0, &b, &holder), CACHE_MISS);
    cache_t *waiter = open();
    std::thread t([&] {
        sleep_ms(150);
        cache_lease_set(filler, "w", 1, &holder, "held", 4, 60000);
    });
    int rc = fetch(waiter, "w", &ctx, 300, &v);
    t.join();
    EXPECT_EQ(rc, CACHE_OK);
    EXPECT_EQ(v, "held");
    EXPECT_COUNTS(waiter, 1, 0, 0);
    // A waiter past lock_timeout computes without storing: one miss.
    ASSERT_EQ(cache_lease_get(filler, "t", 1, 0, &b, &holder), CACHE_MISS);
    cache_t *late = open();
    cache_fetch_options quick = CACHE_FETCH_OPTIONS_INIT;
    quick.lock_timeout_ms = 30;
    ASSERT_EQ(fetch_ext(late, "t", &ctx, 300, &quick, &v), CACHE_OK);
    EXPECT_COUNTS(late, 0, 1, 0);
    EXPECT_EQ(cache_lease_release(filler, "t", 1, &holder), CACHE_OK);
}

TEST_P(Stampede, BadFetchOptionsAreInvalid)
{
    cache_t *c = open();
    Counting ctx;
    std::string v;
    struct Bad {
        const char *what;
        cache_fetch_options opts;
    };
    cache_fetch_options base = CACHE_FETCH_OPTIONS_INIT;
    std::vector<Bad> bad;
    auto with = [&](const char *what, auto change) {
        cache_fetch_options o = base;
        change(o);
        bad.push_back({what, o});
    };
    with("version", [](cache_fetch_options &o) { o.version = 0; });
    with("version", [](cache_fetch_options &o) { o.version = 99; });
    with("lease_ttl_ms", [](cache_fetch_options &o) { o.lease_ttl_ms = 0; });
    with("lease_ttl_ms", [](cache_fetch_options &o) { o.lease_ttl_ms = -2; });
    with("lock_timeout_ms", [](cache_fetch_options &o) { o.lock_timeout_ms = -5; });
    with("stale_ttl_ms", [](cache_fetch_options &o) { o.stale_ttl_ms = INT64_MAX; });
    with("early_refresh", [](cache_fetch_options &o) { o.early_refresh = 101; });
    with("early_refresh", [](cache_fetch_options &o) { o.early_refresh = std::nan(""); });
    for (const Bad &x : bad) {
        EXPECT_EQ(fetch_ext(c, "k", &ctx, 60000, &x.opts, &v), CACHE_EINVAL) << x.what;
        EXPECT_NE(std::string(cache_last_error()).find(x.what), std::string::npos)
            << cache_last_error();
        cache_lease l = CACHE_LEASE_INIT;
        cache_buf b = {nullptr, 0};
        EXPECT_EQ(cache_lease_get_ext(c, "k", 1, 0, &x.opts, &b, &l), CACHE_EINVAL) << x.what;
        EXPECT_FALSE(cache_lease_held(&l));
        // A bad opts on the set leaves the lease held.
        ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
        EXPECT_EQ(cache_lease_set_ext(c, "k", 1, &l, "v", 1, 0, &x.opts), CACHE_EINVAL) << x.what;
        EXPECT_TRUE(cache_lease_held(&l));
        EXPECT_EQ(cache_lease_release(c, "k", 1, &l), CACHE_OK);
    }
    EXPECT_EQ(ctx.calls.load(), 0) << "compute is never called with bad options";
    // Boundaries and CACHE_FETCH_KEEP are fine.
    cache_fetch_options edge = CACHE_FETCH_OPTIONS_INIT;
    edge.lease_ttl_ms = 1;
    edge.lock_timeout_ms = 0;
    edge.stale_ttl_ms = INT64_MAX / 4;
    edge.early_refresh = 100;
    EXPECT_EQ(fetch_ext(c, "k", &ctx, 60000, &edge, &v), CACHE_OK) << cache_last_error();
    cache_fetch_options init;
    EXPECT_EQ(cache_fetch_options_init(&init, CACHE_FETCH_OPTIONS_VERSION), CACHE_OK);
    EXPECT_EQ(init.version, 1u);
    EXPECT_EQ(init.lease_ttl_ms, CACHE_FETCH_KEEP);
    EXPECT_EQ(init.lock_timeout_ms, CACHE_FETCH_KEEP);
    EXPECT_EQ(init.stale_ttl_ms, CACHE_FETCH_KEEP);
    EXPECT_LT(init.early_refresh, 0);
    EXPECT_EQ(cache_fetch_options_init(&init, 2), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch_options_init(&init, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch_options_init(nullptr, 1), CACHE_EINVAL);
}

TEST_P(Stampede, TaggedLeaseSetIsLeaseChecked)
{
    cache_t *c = open();
    cache_t *other = open();
    cache_slice tags[2] = {{"t", 1}, {"u", 1}};
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    int rc = 0;
    // A delete during the compute refuses the tagged set.
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_delete(other, "k", 1), CACHE_MISS);
    EXPECT_EQ(cache_lease_set_tagged(c, "k", 1, &l, "old", 3, 60000, tags, 2, nullptr),
              CACHE_ELEASE);
    EXPECT_FALSE(cache_lease_held(&l));
    get_string(c, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    // So does a newer set, which stays.
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_set(other, "k", 1, "newer", 5, 60000), CACHE_OK);
    EXPECT_EQ(cache_lease_set_tagged(c, "k", 1, &l, "old", 3, 60000, tags, 2, nullptr),
              CACHE_ELEASE);
    EXPECT_EQ(get_string(c, "k"), "newer");
    // A held lease stores with its tags: an invalidation of either removes it.
    cache_delete(c, "k", 1);
    ASSERT_EQ(cache_lease_get(c, "k", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_tagged(c, "k", 1, &l, "v", 1, 60000, tags, 2, nullptr), CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(get_string(other, "k"), "v");
    ASSERT_EQ(cache_invalidate_tags(other, &tags[1], 1, nullptr), CACHE_OK);
    get_string(c, "k", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    // With a stale window of its own, and no tags at all.
    cache_fetch_options five = stale_for(5000);
    ASSERT_EQ(cache_lease_get(c, "s", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_tagged(c, "s", 1, &l, "s1", 2, 300, tags, 1, &five), CACHE_OK);
    ASSERT_EQ(cache_lease_get(c, "n", 1, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_tagged(c, "n", 1, &l, "n1", 2, 60000, nullptr, 0, nullptr), CACHE_OK);
    EXPECT_EQ(get_string(c, "n"), "n1");
    ASSERT_EQ(cache_lease_get(c, "s2", 2, 0, &b, &l), CACHE_MISS);
    ASSERT_EQ(cache_lease_set_tagged(c, "s2", 2, &l, "s1", 2, 300, &tags[1], 1, &five), CACHE_OK);
    ASSERT_EQ(cache_invalidate_tags(other, &tags[1], 1, nullptr), CACHE_OK);
    sleep_ms(450);
    EXPECT_EQ(plain_read(other, "s"), CACHE_STALE);
    // An invalidated entry leaves no stale copy: fresh or stale, it is gone.
    EXPECT_EQ(plain_read(other, "s2"), CACHE_MISS);
    ASSERT_EQ(cache_invalidate_tags(other, &tags[0], 1, nullptr), CACHE_OK);
    EXPECT_EQ(plain_read(other, "s"), CACHE_MISS);
    // Bad tags leave the lease held.
    ASSERT_EQ(cache_lease_get(c, "b", 1, 0, &b, &l), CACHE_MISS);
    cache_slice empty = {"", 0}, null_data = {nullptr, 3};
    EXPECT_EQ(cache_lease_set_tagged(c, "b", 1, &l, "v", 1, 0, nullptr, 1, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_set_tagged(c, "b", 1, &l, "v", 1, 0, &empty, 1, nullptr), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("tag 0"), std::string::npos);
    EXPECT_EQ(cache_lease_set_tagged(c, "b", 1, &l, "v", 1, 0, &null_data, 1, nullptr),
              CACHE_EINVAL);
    EXPECT_TRUE(cache_lease_held(&l));
    EXPECT_EQ(cache_lease_release(c, "b", 1, &l), CACHE_OK);
}

INSTANTIATE_TEST_SUITE_P(Backends, Stampede, ::testing::ValuesIn(stampede_backends()),
                         [](const auto &info) { return info.param.name; });

// ------------------------------------------------- arguments, any backend

int bad_shape(void *, const void *, size_t, cache_buf *value, cache_int64 *)
{
    value->data = nullptr;
    value->size = 5;
    return CACHE_OK;
}

TEST(StampedeArgs, NullArgumentsAreInvalid)
{
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://", &c), CACHE_OK);
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_fetch(c, "k", 1, nullptr, nullptr, 0, &b), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("compute callback is NULL"), std::string::npos);
    EXPECT_EQ(cache_fetch(nullptr, "k", 1, counting_compute, nullptr, 0, &b), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch(c, nullptr, 1, counting_compute, nullptr, 0, &b), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch(c, "k", 1, counting_compute, nullptr, 0, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch(c, "k", 1, counting_compute, nullptr, -2, &b), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch(c, "", 0, counting_compute, nullptr, 0, &b), CACHE_EINVAL);
    EXPECT_EQ(cache_fetch(c, "k", 1, bad_shape, nullptr, 0, &b), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("value.data NULL"), std::string::npos);
    cache_lease l = CACHE_LEASE_INIT;
    EXPECT_EQ(cache_lease_get(c, "k", 1, 0, &b, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_get(c, "k", 1, 0, nullptr, &l), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_get(c, "k", 1, 4, &b, &l), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("unknown flag"), std::string::npos);
    EXPECT_EQ(cache_lease_set(c, "k", 1, nullptr, "v", 1, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_release(nullptr, "k", 1, &l), CACHE_EINVAL);
    EXPECT_EQ(cache_lease_held(nullptr), 0);
    cache_lease_init(nullptr);
    cache_lease_init(&l);
    EXPECT_EQ(cache_lease_held(&l), 0);
    cache_close(c);
}

TEST(StampedeArgs, BufAlloc)
{
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_buf_alloc(&b, SIZE_MAX), CACHE_ETOOBIG);
    EXPECT_EQ(b.data, nullptr);
    EXPECT_NE(std::string(cache_last_error()).find("more than any backend"), std::string::npos);
    EXPECT_EQ(cache_buf_alloc(&b, SIZE_MAX / 2 + 1), CACHE_ETOOBIG);
    EXPECT_EQ(cache_buf_alloc(nullptr, 4), CACHE_EINVAL);
    ASSERT_EQ(cache_buf_alloc(&b, 0), CACHE_OK);
    EXPECT_EQ(b.data, nullptr);
    ASSERT_EQ(cache_buf_alloc(&b, 3), CACHE_OK);
    EXPECT_EQ(b.size, 3u);
    EXPECT_EQ(static_cast<char *>(b.data)[3], '\0');
    cache_buf_free(&b);
    EXPECT_STREQ(cache_strerror(CACHE_STALE), "stale value");
    EXPECT_STREQ(cache_strerror(CACHE_ELEASE), "lease lost");
}

TEST(StampedeArgs, ParametersAreCheckedOnEveryBackend)
{
    for (const auto &be : stampede_backends()) {
        for (const char *bad : {"lease_ttl=abc", "lease_ttl=0", "lock_timeout=-1", "stale_ttl=1e3x",
                                "early_refresh=nan", "early_refresh=-1", "early_refresh=101",
                                "stale_ttl=99999999999999999999"}) {
            std::string msg;
            EXPECT_EQ(open_with_status(be.uri(bad), &msg), CACHE_EINVAL) << be.name << " " << bad;
            std::string name(bad, std::strchr(bad, '=') - bad);
            EXPECT_NE(msg.find("'" + name + "'"), std::string::npos) << msg;
        }
        EXPECT_EQ(open_with_status(be.uri("lease_ttl=500&lock_timeout=0&stale_ttl=100&"
                                          "early_refresh=0.5")),
                  CACHE_OK)
            << be.name << ": " << cache_last_error();
    }
    std::string msg;
    EXPECT_EQ(
        open_with_status("{\"backend\":\"memory\",\"early_refresh\":1.5,\"stale_ttl\":100}", &msg),
        CACHE_OK)
        << msg;
    EXPECT_EQ(open_with_status("{\"backend\":\"memory\",\"early_refresh\":\"x\"}", &msg),
              CACHE_EINVAL);
    EXPECT_NE(msg.find("'early_refresh'"), std::string::npos) << msg;
}

} // namespace
