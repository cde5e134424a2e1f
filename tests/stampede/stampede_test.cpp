// Stampede protection through the C API: cache_fetch, the cache_lease_*
// protocol and its four parameters, on every backend that shares leases
// (one parameterised suite), plus the argument errors. The many-process
// herd is tests/stampede/herd_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
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
