#include "contract_suite.h"

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace unicache_test {

namespace {

std::atomic<int> g_seq{0};

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

int set_str(cache_t *c, const std::string &k, const std::string &v, int64_t ttl = CACHE_TTL_NONE)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), ttl);
}

void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::set<std::string> list_keys(cache_t *c, const std::string &pattern, int *rc_out)
{
    cache_buf_array arr = {nullptr, 0};
    *rc_out = cache_keys(c, pattern.data(), pattern.size(), 0, &arr);
    std::set<std::string> out;
    for (size_t i = 0; i < arr.count; i++)
        out.insert(std::string(static_cast<char *>(arr.items[i].data), arr.items[i].size));
    cache_buf_array_free(&arr);
    return out;
}

} // namespace

std::string contract_name(const ::testing::TestParamInfo<ContractTarget> &info)
{
    return info.param.name;
}

cache_t *Contract::open_with_prefix(const std::string &p)
{
    cache_options opts = CACHE_OPTIONS_INIT;
    opts.prefix = p.data();
    opts.prefix_len = p.size();
    cache_t *h = nullptr;
    int rc = cache_open_ext(GetParam().uri().c_str(), &opts, &h);
    EXPECT_EQ(rc, CACHE_OK) << cache_last_error();
    return h;
}

cache_t *Contract::open_raw(const std::string &p)
{
    // prefix_mode=raw in the URI's query, or as a JSON field.
    std::string uri = GetParam().uri();
    if (!uri.empty() && uri[0] == '{')
        uri.insert(1, "\"prefix_mode\":\"raw\",");
    else
        uri += (uri.find('?') == std::string::npos ? "?" : "&") + std::string("prefix_mode=raw");
    cache_options opts = CACHE_OPTIONS_INIT;
    opts.prefix = p.data();
    opts.prefix_len = p.size();
    cache_t *h = nullptr;
    int rc = cache_open_ext(uri.c_str(), &opts, &h);
    EXPECT_EQ(rc, CACHE_OK) << uri << ": " << cache_last_error();
    return h;
}

void Contract::SetUp()
{
    prefix = "ct" + std::to_string(getpid()) + "-" + std::to_string(g_seq++) + ":";
    c = open_with_prefix(prefix);
    ASSERT_NE(c, nullptr);
}

void Contract::TearDown()
{
    if (c)
        EXPECT_EQ(cache_clear(c), CACHE_OK) << cache_last_error();
    cache_close(c);
}

TEST_P(Contract, SetThenGetReturnsTheSameBytes)
{
    ASSERT_EQ(set_str(c, "alpha", "one"), CACHE_OK) << cache_last_error();
    int rc;
    EXPECT_EQ(get_str(c, "alpha", &rc), "one");
    EXPECT_EQ(rc, CACHE_OK);
    ASSERT_EQ(set_str(c, "alpha", "two, longer than before"), CACHE_OK);
    EXPECT_EQ(get_str(c, "alpha"), "two, longer than before");
}

TEST_P(Contract, MissingKeyIsAMissWithEmptyBuffer)
{
    cache_buf b = {reinterpret_cast<void *>(1), 7};
    EXPECT_EQ(cache_get(c, "absent", 6, &b), CACHE_MISS);
    EXPECT_EQ(b.data, nullptr);
    EXPECT_EQ(b.size, 0u);
}

TEST_P(Contract, BinaryKeysAndValuesRoundTrip)
{
    const std::string keys[] = {std::string("a b", 3), std::string("line\r\nbreak"),
                                std::string("nul\0inside", 10), std::string("\xff\xfe\x00", 3),
                                std::string("*?[x]\\")};
    for (const auto &k : keys) {
        std::string v = std::string("v\0\r\n ", 5) + k;
        ASSERT_EQ(set_str(c, k, v), CACHE_OK) << cache_last_error();
    }
    for (const auto &k : keys) {
        int rc;
        EXPECT_EQ(get_str(c, k, &rc), std::string("v\0\r\n ", 5) + k);
        EXPECT_EQ(rc, CACHE_OK);
    }
    // Keys differing only after a NUL are different keys.
    EXPECT_EQ(cache_exists(c, "nul", 3), CACHE_MISS);
}

TEST_P(Contract, EmptyValueIsAHit)
{
    ASSERT_EQ(cache_set(c, "empty", 5, "", 0, CACHE_TTL_NONE), CACHE_OK) << cache_last_error();
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_get(c, "empty", 5, &b), CACHE_OK);
    EXPECT_EQ(b.size, 0u);
    cache_buf_free(&b);
}

TEST_P(Contract, GetIntoCopiesIntoTheCallersBuffer)
{
    const std::string v = "exactly twenty bytes";
    ASSERT_EQ(set_str(c, "into", v), CACHE_OK) << cache_last_error();
    char buf[32];
    std::memset(buf, '#', sizeof buf);
    size_t size = 99;
    // Fits exactly: the value and nothing more is written.
    ASSERT_EQ(cache_get_into(c, "into", 4, buf, v.size(), &size), CACHE_OK) << cache_last_error();
    EXPECT_EQ(size, v.size());
    EXPECT_EQ(std::string(buf, size), v);
    EXPECT_EQ(buf[v.size()], '#');
    // A larger buffer: the same, the rest untouched.
    std::memset(buf, '#', sizeof buf);
    ASSERT_EQ(cache_get_into(c, "into", 4, buf, sizeof buf, &size), CACHE_OK);
    EXPECT_EQ(std::string(buf, size), v);
    EXPECT_EQ(std::string(buf + v.size(), sizeof buf - v.size()),
              std::string(sizeof buf - v.size(), '#'));
    // One byte short: CACHE_ETOOBIG, the length needed, nothing written.
    std::memset(buf, '#', sizeof buf);
    size = 0;
    EXPECT_EQ(cache_get_into(c, "into", 4, buf, v.size() - 1, &size), CACHE_ETOOBIG);
    EXPECT_EQ(size, v.size());
    EXPECT_EQ(std::string(buf, sizeof buf), std::string(sizeof buf, '#'));
    EXPECT_NE(std::string(cache_last_error()).find("20 bytes"), std::string::npos)
        << cache_last_error();
    // Asking for the size alone, with no buffer.
    size = 0;
    EXPECT_EQ(cache_get_into(c, "into", 4, nullptr, 0, &size), CACHE_ETOOBIG);
    EXPECT_EQ(size, v.size());
    EXPECT_EQ(get_str(c, "into"), v) << "a value too big for the buffer stays stored";
}

TEST_P(Contract, GetIntoEmptyValueMissAndBadArguments)
{
    ASSERT_EQ(cache_set(c, "empty", 5, "", 0, CACHE_TTL_NONE), CACHE_OK) << cache_last_error();
    char buf[8] = {'#', '#', '#', '#', '#', '#', '#', '#'};
    size_t size = 99;
    EXPECT_EQ(cache_get_into(c, "empty", 5, buf, sizeof buf, &size), CACHE_OK);
    EXPECT_EQ(size, 0u);
    EXPECT_EQ(buf[0], '#');
    size = 99;
    EXPECT_EQ(cache_get_into(c, "empty", 5, nullptr, 0, &size), CACHE_OK)
        << "an empty value fits a buffer of 0 bytes";
    EXPECT_EQ(size, 0u);

    size = 99;
    EXPECT_EQ(cache_get_into(c, "absent", 6, buf, sizeof buf, &size), CACHE_MISS);
    EXPECT_EQ(size, 0u);
    EXPECT_EQ(buf[0], '#');

    ASSERT_EQ(set_str(c, "k", "value"), CACHE_OK);
    EXPECT_EQ(cache_get_into(c, "k", 1, buf, sizeof buf, nullptr), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("size"), std::string::npos);
    size = 99;
    EXPECT_EQ(cache_get_into(c, "k", 1, nullptr, 4, &size), CACHE_EINVAL);
    EXPECT_EQ(size, 0u);
    EXPECT_NE(std::string(cache_last_error()).find("dst"), std::string::npos);
    size = 99;
    EXPECT_EQ(cache_get_into(c, nullptr, 1, buf, sizeof buf, &size), CACHE_EINVAL);
    EXPECT_EQ(size, 0u);
    EXPECT_EQ(cache_get_into(c, "", 0, buf, sizeof buf, &size), CACHE_EINVAL);
    EXPECT_EQ(cache_get_into(nullptr, "k", 1, buf, sizeof buf, &size), CACHE_EINVAL);
    std::string over(CACHE_KEY_MAX + 1, 'k');
    EXPECT_EQ(cache_get_into(c, over.data(), over.size(), buf, sizeof buf, &size), CACHE_ETOOBIG);
    EXPECT_EQ(size, 0u) << "a key that is too big is not a value that is too big";
    EXPECT_EQ(buf[0], '#');

    // Statistics: a hit and a miss as with cache_get; a value that does not
    // fit counts as neither.
    cache_t *fresh = open_with_prefix(prefix + "stats:");
    ASSERT_NE(fresh, nullptr);
    ASSERT_EQ(cache_set(fresh, "s", 1, "vv", 2, CACHE_TTL_NONE), CACHE_OK);
    EXPECT_EQ(cache_get_into(fresh, "s", 1, buf, sizeof buf, &size), CACHE_OK);
    EXPECT_EQ(cache_get_into(fresh, "s", 1, buf, 1, &size), CACHE_ETOOBIG);
    EXPECT_EQ(cache_get_into(fresh, "t", 1, buf, sizeof buf, &size), CACHE_MISS);
    cache_buf j = {nullptr, 0};
    ASSERT_EQ(cache_stats_json(fresh, &j), CACHE_OK);
    std::string stats(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    EXPECT_NE(stats.find("\"hits\":1,"), std::string::npos) << stats;
    EXPECT_NE(stats.find("\"misses\":1,"), std::string::npos) << stats;
    EXPECT_EQ(cache_clear(fresh), CACHE_OK);
    cache_close(fresh);
}

TEST_P(Contract, KeysUpToTheLimitWorkAndLongerAreTooBig)
{
    std::string big(CACHE_KEY_MAX, 'k');
    big[100] = '\0';
    ASSERT_EQ(set_str(c, big, "v"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(c, big), "v");
    std::string other = big;
    other[CACHE_KEY_MAX - 1] = 'j'; // differs only in the last byte
    EXPECT_EQ(cache_exists(c, other.data(), other.size()), CACHE_MISS);
    std::string over(CACHE_KEY_MAX + 1, 'k');
    EXPECT_EQ(set_str(c, over, "v"), CACHE_ETOOBIG);
    EXPECT_NE(std::string(cache_last_error()).find("65536"), std::string::npos);
    EXPECT_EQ(cache_set(c, "", 0, "v", 1, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_get(c, "", 0, nullptr), CACHE_EINVAL);
}

TEST_P(Contract, OneMegabyteValueRoundTrips)
{
    std::string v(1 << 20, '\0');
    for (size_t i = 0; i < v.size(); i++)
        v[i] = char(i * 7 + 3);
    ASSERT_EQ(set_str(c, "big", v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(c, "big"), v);
}

TEST_P(Contract, DeleteAndExists)
{
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_OK);
    EXPECT_EQ(cache_delete(c, "k", 1), CACHE_OK);
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
    EXPECT_EQ(cache_delete(c, "k", 1), CACHE_MISS);
}

TEST_P(Contract, AddStoresOnlyWhenAbsent)
{
    EXPECT_EQ(cache_add(c, "lock", 4, "a", 1, CACHE_TTL_NONE), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_add(c, "lock", 4, "b", 1, CACHE_TTL_NONE), CACHE_MISS);
    EXPECT_EQ(get_str(c, "lock"), "a");
}

TEST_P(Contract, CountersAreSigned64BitDecimal)
{
    int64_t v = 99;
    ASSERT_EQ(cache_incr(c, "n", 1, 5, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 5);
    ASSERT_EQ(cache_incr(c, "n", 1, -7, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, -2);
    EXPECT_EQ(get_str(c, "n"), "-2");
    ASSERT_EQ(cache_decr(c, "n", 1, 3, &v), CACHE_OK);
    EXPECT_EQ(v, -5);
    ASSERT_EQ(set_str(c, "m", "40"), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "m", 1, 2, &v), CACHE_OK);
    EXPECT_EQ(v, 42);
    ASSERT_EQ(set_str(c, "max", "9223372036854775807"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "max", 3, 1, &v), CACHE_ERANGE);
    EXPECT_EQ(get_str(c, "max"), "9223372036854775807");
    ASSERT_EQ(set_str(c, "min", "-9223372036854775808"), CACHE_OK);
    EXPECT_EQ(cache_decr(c, "min", 3, 1, &v), CACHE_ERANGE);
    ASSERT_EQ(cache_incr(c, "min", 3, 0, &v), CACHE_OK);
    EXPECT_EQ(v, INT64_MIN);
}

TEST_P(Contract, IncrOnANonNumberFailsAndKeepsTheValue)
{
    const char *bad[] = {"abc", "12a", " 12", "1.5", "", "--1", "99999999999999999999"};
    for (const char *b : bad) {
        ASSERT_EQ(set_str(c, "s", b), CACHE_OK);
        int64_t v = 7;
        EXPECT_EQ(cache_incr(c, "s", 1, 1, &v), CACHE_ENAN) << "value '" << b << "'";
        EXPECT_EQ(v, 7);
        EXPECT_STRNE(cache_last_error(), "");
        EXPECT_EQ(get_str(c, "s"), b);
    }
}

// Django's incr: a missing key is an error, never a counter from 0; Rails'
// increment: a TTL for the counter it creates.
TEST_P(Contract, IncrExtExistingOnlyNeverCreates)
{
    int64_t v = 7;
    EXPECT_EQ(cache_incr_ext(c, "n", 1, 5, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v), CACHE_MISS)
        << cache_last_error();
    EXPECT_EQ(v, 7);
    EXPECT_EQ(cache_exists(c, "n", 1), CACHE_MISS);
    ASSERT_EQ(set_str(c, "n", "40"), CACHE_OK);
    ASSERT_EQ(cache_incr_ext(c, "n", 1, 2, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v), CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(v, 42);
    ASSERT_EQ(cache_incr_ext(c, "n", 1, INT64_MIN, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v),
              CACHE_OK);
    EXPECT_EQ(v, INT64_MIN + 42);
    EXPECT_EQ(get_str(c, "n"), std::to_string(INT64_MIN + 42));
    // Counters Redis itself would not parse are still counters.
    ASSERT_EQ(set_str(c, "z", "007"), CACHE_OK);
    ASSERT_EQ(cache_incr_ext(c, "z", 1, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, nullptr),
              CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(get_str(c, "z"), "8");
    ASSERT_EQ(set_str(c, "s", "abc"), CACHE_OK);
    EXPECT_EQ(cache_incr_ext(c, "s", 1, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v), CACHE_ENAN);
    EXPECT_EQ(get_str(c, "s"), "abc");
    ASSERT_EQ(set_str(c, "max", "9223372036854775807"), CACHE_OK);
    EXPECT_EQ(cache_incr_ext(c, "max", 3, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v),
              CACHE_ERANGE);
    // Deleted, then incremented: still absent.
    ASSERT_EQ(cache_delete(c, "n", 1), CACHE_OK);
    EXPECT_EQ(cache_incr_ext(c, "n", 1, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v), CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "n", 1), CACHE_MISS);
}

TEST_P(Contract, IncrExtKeepsTheTtlOfAnExistingCounterAndSetsANewOnes)
{
    int64_t res = GetParam().ttl_resolution_ms;
    int64_t v = 0, ttl = 0;
    ASSERT_EQ(cache_incr_ext(c, "new", 3, 3, 600000, 0, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 3);
    ASSERT_EQ(cache_ttl(c, "new", 3, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 600000 - 5000);
    EXPECT_LE(ttl, 600000 + res);
    // An existing counter keeps its TTL, with or without the flag.
    ASSERT_EQ(cache_incr_ext(c, "new", 3, 1, 5000, 0, &v), CACHE_OK);
    ASSERT_EQ(cache_incr_ext(c, "new", 3, 1, 5000, CACHE_INCR_EXISTING, &v), CACHE_OK);
    EXPECT_EQ(v, 5);
    ASSERT_EQ(cache_ttl(c, "new", 3, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 600000 - 5000);
    ASSERT_EQ(cache_incr_ext(c, "forever", 7, 1, CACHE_TTL_NONE, 0, &v), CACHE_OK);
    ASSERT_EQ(cache_ttl(c, "forever", 7, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    // An expired counter is absent.
    ASSERT_EQ(set_str(c, "short", "1", 300), CACHE_OK);
    sleep_ms(int(300 + 2 * res + 100));
    EXPECT_EQ(cache_incr_ext(c, "short", 5, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, &v),
              CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "short", 5), CACHE_MISS);
}

TEST_P(Contract, IncrExtRejectsBadArguments)
{
    int64_t v = 0;
    EXPECT_EQ(cache_incr_ext(c, "k", 1, 1, CACHE_TTL_DEFAULT, 2u, &v), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("flag"), std::string::npos);
    EXPECT_EQ(cache_incr_ext(c, "k", 1, 1, -5, 0, &v), CACHE_EINVAL);
    EXPECT_EQ(cache_incr_ext(c, "k", 1, 1, -5, CACHE_INCR_EXISTING, &v), CACHE_EINVAL);
    EXPECT_EQ(cache_incr_ext(c, nullptr, 1, 1, CACHE_TTL_DEFAULT, 0, &v), CACHE_EINVAL);
    EXPECT_EQ(cache_incr_ext(c, "", 0, 1, CACHE_TTL_DEFAULT, 0, &v), CACHE_EINVAL);
    EXPECT_EQ(cache_incr_ext(nullptr, "k", 1, 1, CACHE_TTL_DEFAULT, 0, &v), CACHE_EINVAL);
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
}

// Many threads and handles adding to one counter while it is deleted: every
// successful add is counted, and an add after the delete never revives it.
TEST_P(Contract, IncrExtExistingIsAtomicUnderConcurrency)
{
    ASSERT_EQ(set_str(c, "ctr", "0"), CACHE_OK);
    const int threads = 4, per = 200;
    std::atomic<int> ok{0}, errors{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++) {
        ts.emplace_back([&] {
            for (int i = 0; i < per; i++) {
                int rc =
                    cache_incr_ext(c, "ctr", 3, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING, nullptr);
                if (rc == CACHE_OK)
                    ok++;
                else
                    errors++;
            }
        });
    }
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(errors.load(), 0) << cache_last_error();
    EXPECT_EQ(get_str(c, "ctr"), std::to_string(ok.load()));
    ASSERT_EQ(cache_delete(c, "ctr", 3), CACHE_OK);
    std::vector<std::thread> after;
    std::atomic<int> revived{0};
    for (int t = 0; t < threads; t++)
        after.emplace_back([&] {
            for (int i = 0; i < 20; i++)
                if (cache_incr_ext(c, "ctr", 3, 1, CACHE_TTL_DEFAULT, CACHE_INCR_EXISTING,
                                   nullptr) != CACHE_MISS)
                    revived++;
        });
    for (auto &t : after)
        t.join();
    EXPECT_EQ(revived.load(), 0);
    EXPECT_EQ(cache_exists(c, "ctr", 3), CACHE_MISS);
}

TEST_P(Contract, TtlExpiresEntries)
{
    int64_t res = GetParam().ttl_resolution_ms;
    ASSERT_EQ(set_str(c, "short", "v", 300), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(c, "long", "v", 600000), CACHE_OK);
    ASSERT_EQ(set_str(c, "forever", "v", CACHE_TTL_NONE), CACHE_OK);
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c, "long", 4, &ttl), CACHE_OK) << cache_last_error();
    EXPECT_GT(ttl, 600000 - 5000);
    EXPECT_LE(ttl, 600000 + res);
    ASSERT_EQ(cache_ttl(c, "forever", 7, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    EXPECT_EQ(cache_ttl(c, "nobody", 6, &ttl), CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "short", 5), CACHE_OK);
    sleep_ms(int(300 + res + 1100));
    EXPECT_EQ(cache_exists(c, "short", 5), CACHE_MISS);
    int rc;
    get_str(c, "short", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "long", 4), CACHE_OK);
    EXPECT_EQ(cache_set(c, "neg", 3, "v", 1, -5), CACHE_EINVAL);
}

TEST_P(Contract, TouchAndExpireAtChangeLifetime)
{
    ASSERT_EQ(set_str(c, "k", "v", 600000), CACHE_OK);
    EXPECT_EQ(cache_touch(c, "k", 1, CACHE_TTL_NONE), CACHE_OK) << cache_last_error();
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c, "k", 1, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    EXPECT_EQ(cache_touch(c, "k", 1, 300000), CACHE_OK);
    ASSERT_EQ(cache_ttl(c, "k", 1, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 290000);
    EXPECT_LE(ttl, 300000 + GetParam().ttl_resolution_ms);
    EXPECT_EQ(cache_touch(c, "absent", 6, 1000), CACHE_MISS);
    EXPECT_EQ(cache_expire_at(c, "k", 1, 1000), CACHE_OK); // 1970: gone now
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
}

TEST_P(Contract, DefaultTtlApplies)
{
    cache_options opts = CACHE_OPTIONS_INIT;
    std::string p = prefix + "dt:";
    opts.prefix = p.data();
    opts.prefix_len = p.size();
    opts.default_ttl_ms = 400000;
    cache_t *h = nullptr;
    ASSERT_EQ(cache_open_ext(GetParam().uri().c_str(), &opts, &h), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(h, "k", "v", CACHE_TTL_DEFAULT), CACHE_OK);
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(h, "k", 1, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 390000);
    EXPECT_LE(ttl, 400000 + GetParam().ttl_resolution_ms);
    ASSERT_EQ(set_str(h, "n", "v", CACHE_TTL_NONE), CACHE_OK);
    ASSERT_EQ(cache_ttl(h, "n", 1, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    EXPECT_EQ(cache_clear(h), CACHE_OK);
    cache_close(h);
}

TEST_P(Contract, BatchOperations)
{
    std::vector<std::string> ks = {"b1", "b2", std::string("b\0 3", 4)};
    std::vector<std::string> vs = {"one", "", "three\r\n"};
    std::vector<cache_slice> k, v;
    for (size_t i = 0; i < ks.size(); i++) {
        k.push_back({ks[i].data(), ks[i].size()});
        v.push_back({vs[i].data(), vs[i].size()});
    }
    ASSERT_EQ(cache_set_many(c, k.data(), v.data(), k.size(), CACHE_TTL_NONE), CACHE_OK)
        << cache_last_error();
    k.push_back({"missing", 7});
    std::vector<cache_buf> out(k.size());
    std::vector<int> st(k.size());
    ASSERT_EQ(cache_get_many(c, k.data(), k.size(), out.data(), st.data()), CACHE_OK)
        << cache_last_error();
    for (size_t i = 0; i < ks.size(); i++) {
        EXPECT_EQ(st[i], CACHE_OK);
        EXPECT_EQ(std::string(static_cast<char *>(out[i].data), out[i].size), vs[i]);
    }
    EXPECT_EQ(st[3], CACHE_MISS);
    EXPECT_EQ(out[3].data, nullptr);
    for (auto &b : out)
        cache_buf_free(&b);
    size_t deleted = 99;
    ASSERT_EQ(cache_delete_many(c, k.data(), k.size(), &deleted), CACHE_OK);
    EXPECT_EQ(deleted, 3u);
    EXPECT_EQ(cache_exists(c, "b1", 2), CACHE_MISS);
    // An invalid key anywhere in a batch fails the whole call up front.
    cache_slice bad[] = {{"ok", 2}, {"", 0}};
    cache_slice vals[] = {{"x", 1}, {"y", 1}};
    EXPECT_EQ(cache_set_many(c, bad, vals, 2, CACHE_TTL_NONE), CACHE_EINVAL);
    EXPECT_EQ(cache_exists(c, "ok", 2), CACHE_MISS);
}

TEST_P(Contract, GlobPatternsMeanTheSameEverywhere)
{
    const char *names[] = {"user:1", "user:2", "user:10", "user:x", "u*ser", "other"};
    for (const char *n : names)
        ASSERT_EQ(set_str(c, n, "v"), CACHE_OK);
    int rc;
    auto got = list_keys(c, "user:?", &rc);
    if (!GetParam().lists_keys) {
        EXPECT_EQ(rc, CACHE_ENOTSUP);
        EXPECT_NE(std::string(cache_last_error()).find("keys"), std::string::npos);
        size_t d;
        EXPECT_EQ(cache_delete_pattern(c, "*", 1, &d), CACHE_ENOTSUP);
        return;
    }
    ASSERT_EQ(rc, CACHE_OK) << cache_last_error();
    EXPECT_EQ(got, (std::set<std::string>{"user:1", "user:2", "user:x"}));
    EXPECT_EQ(list_keys(c, "user:[12]*", &rc),
              (std::set<std::string>{"user:1", "user:2", "user:10"}));
    EXPECT_EQ(list_keys(c, "user:[!0-9]", &rc), (std::set<std::string>{"user:x"}));
    EXPECT_EQ(list_keys(c, "u\\*ser", &rc), (std::set<std::string>{"u*ser"}));
    EXPECT_EQ(list_keys(c, "*", &rc).size(), 6u);
    EXPECT_EQ(list_keys(c, "user:[", &rc).size(), 0u);
    EXPECT_EQ(rc, CACHE_EINVAL);
    size_t deleted = 0;
    ASSERT_EQ(cache_delete_pattern(c, "user:*", 6, &deleted), CACHE_OK) << cache_last_error();
    EXPECT_EQ(deleted, 4u);
    EXPECT_EQ(list_keys(c, "*", &rc), (std::set<std::string>{"u*ser", "other"}));
}

TEST_P(Contract, ClearRemovesOnlyThisPrefix)
{
    cache_t *other = open_with_prefix(prefix + "other:");
    ASSERT_NE(other, nullptr);
    ASSERT_EQ(set_str(c, "mine", "v"), CACHE_OK);
    ASSERT_EQ(set_str(other, "theirs", "v"), CACHE_OK);
    // "other:" handle's keys start with this prefix too; clearing the
    // longer prefix must leave the shorter one's own keys alone.
    ASSERT_EQ(cache_clear(other), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(c, "mine", 4), CACHE_OK);
    EXPECT_EQ(cache_exists(other, "theirs", 6), CACHE_MISS);
    ASSERT_EQ(set_str(other, "theirs", "v"), CACHE_OK);
    cache_t *sibling = open_with_prefix(prefix + "sib:");
    ASSERT_EQ(set_str(sibling, "x", "v"), CACHE_OK);
    ASSERT_EQ(cache_clear(other), CACHE_OK);
    EXPECT_EQ(cache_exists(sibling, "x", 1), CACHE_OK);
    EXPECT_EQ(cache_clear(sibling), CACHE_OK);
    cache_close(sibling);
    cache_close(other);
}

TEST_P(Contract, TagsInvalidateTheirEntries)
{
    cache_slice t1[] = {{"t1", 2}};
    cache_slice t12[] = {{"t1", 2}, {"t2", 2}};
    cache_slice t2[] = {{"t2", 2}};
    ASSERT_EQ(cache_set_tagged(c, "k1", 2, "a", 1, CACHE_TTL_NONE, t1, 1), CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(cache_set_tagged(c, "k2", 2, "b", 1, CACHE_TTL_NONE, t12, 2), CACHE_OK);
    ASSERT_EQ(cache_set_tagged(c, "k3", 2, "c", 1, CACHE_TTL_NONE, t2, 1), CACHE_OK);
    ASSERT_EQ(cache_set_tagged(c, "k4", 2, "d", 1, CACHE_TTL_NONE, t1, 1), CACHE_OK);
    ASSERT_EQ(set_str(c, "k4", "plain"), CACHE_OK); // no longer tagged
    EXPECT_EQ(get_str(c, "k1"), "a");
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(c, t1, 1, &n), CACHE_OK) << cache_last_error();
    if (GetParam().counts_invalidations)
        EXPECT_EQ(n, 2u);
    EXPECT_EQ(cache_exists(c, "k1", 2), CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "k2", 2), CACHE_MISS);
    EXPECT_EQ(get_str(c, "k3"), "c");
    EXPECT_EQ(get_str(c, "k4"), "plain");
    // A tag can be used again after invalidation.
    ASSERT_EQ(cache_set_tagged(c, "k1", 2, "again", 5, CACHE_TTL_NONE, t1, 1), CACHE_OK);
    EXPECT_EQ(get_str(c, "k1"), "again");
    cache_slice empty_tag[] = {{"", 0}};
    EXPECT_EQ(cache_set_tagged(c, "k5", 2, "e", 1, CACHE_TTL_NONE, empty_tag, 1), CACHE_EINVAL);
}

TEST_P(Contract, StatisticsCountOperations)
{
    set_str(c, "s", "v");
    get_str(c, "s");
    get_str(c, "nope");
    cache_delete(c, "s", 1);
    cache_buf j = {nullptr, 0};
    ASSERT_EQ(cache_stats_json(c, &j), CACHE_OK);
    std::string s(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    for (const char *field : {"\"backend\"", "\"hits\":1", "\"misses\":1", "\"hit_ratio\":0.5",
                              "\"sets\":1", "\"deletes\":1", "\"evictions\"", "\"expirations\"",
                              "\"size\"", "\"memory_bytes\"", "\"errors\":0"})
        EXPECT_NE(s.find(field), std::string::npos) << field << " not in " << s;
    EXPECT_EQ(cache_ping(c), CACHE_OK) << cache_last_error();
    cache_buf info = {nullptr, 0};
    EXPECT_EQ(cache_backend_info(c, &info), CACHE_OK);
    EXPECT_GT(info.size, 0u);
    cache_buf_free(&info);
}

TEST_P(Contract, ManyThreadsShareOneHandle)
{
    const int threads = 4, per = 500;
    std::vector<std::thread> ts;
    std::atomic<int> failures{0};
    std::mutex mu;
    std::string first_error; // cache_last_error() is per thread: keep the worker's
    auto failed = [&] {
        failures++;
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.empty())
            first_error = cache_last_error();
    };
    for (int t = 0; t < threads; t++) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per; i++) {
                std::string k = "t" + std::to_string(t) + ":" + std::to_string(i % 50);
                std::string v = "value-" + std::to_string(i);
                if (set_str(c, k, v) != CACHE_OK)
                    failed();
                int rc;
                get_str(c, k, &rc);
                if (rc != CACHE_OK && rc != CACHE_MISS)
                    failed();
                if (cache_incr(c, "shared", 6, 1, nullptr) != CACHE_OK)
                    failed();
            }
        });
    }
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(failures.load(), 0) << first_error;
    EXPECT_EQ(get_str(c, "shared"), std::to_string(threads * per));
}

// ----------------------------------------------------- limits and extremes

TEST_P(Contract, FarFutureDefaultTtlIsRefusedAtOpen)
{
    // The options struct follows the same cap as a per-call TTL and the
    // default_ttl URI parameter: a default no backend could add to a clock
    // is refused, not turned into writes that vanish at once.
    cache_options opts = CACHE_OPTIONS_INIT;
    std::string p = prefix + "far:";
    opts.prefix = p.data();
    opts.prefix_len = p.size();
    opts.default_ttl_ms = INT64_MAX;
    cache_t *h = nullptr;
    EXPECT_EQ(cache_open_ext(GetParam().uri().c_str(), &opts, &h), CACHE_EINVAL);
    EXPECT_EQ(h, nullptr);
    EXPECT_NE(std::string(cache_last_error()).find("default_ttl_ms"), std::string::npos)
        << cache_last_error();
    cache_close(h);
    h = nullptr;
    opts.default_ttl_ms = INT64_MAX / 4; // the largest TTL there is
    ASSERT_EQ(cache_open_ext(GetParam().uri().c_str(), &opts, &h), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(h, "k", "v", CACHE_TTL_DEFAULT), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(h, "k"), "v");
    int64_t v = 0;
    ASSERT_EQ(cache_incr(h, "n", 1, 3, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(h, "n"), "3");
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(h, "n", 1, &ttl), CACHE_OK);
    EXPECT_GT(ttl, INT64_MAX / 8);
    EXPECT_EQ(set_str(h, "big", "v", INT64_MAX / 4), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(h, "big"), "v");
    EXPECT_EQ(set_str(h, "over", "v", INT64_MAX / 4 + 1), CACHE_EINVAL);
    EXPECT_EQ(cache_clear(h), CACHE_OK);
    cache_close(h);
}

TEST_P(Contract, ExpireAtSaturatesAtBothEnds)
{
    // INT64_MIN is long past: the key goes, as for any past time.
    ASSERT_EQ(set_str(c, "past", "v"), CACHE_OK);
    EXPECT_EQ(cache_expire_at(c, "past", 4, INT64_MIN), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(c, "past", 4), CACHE_MISS);
    EXPECT_EQ(cache_expire_at(c, "past", 4, INT64_MIN), CACHE_MISS);
    // INT64_MAX is as far ahead as a TTL reaches: the key stays.
    ASSERT_EQ(set_str(c, "future", "v", 60000), CACHE_OK);
    EXPECT_EQ(cache_expire_at(c, "future", 6, INT64_MAX), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(c, "future"), "v");
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c, "future", 6, &ttl), CACHE_OK);
    EXPECT_GT(ttl, INT64_MAX / 8);
    EXPECT_LE(ttl, INT64_MAX / 4 + GetParam().ttl_resolution_ms);
    EXPECT_EQ(cache_expire_at(c, "absent", 6, INT64_MAX), CACHE_MISS);
}

TEST_P(Contract, AHugeValueLengthIsTooBigBeforeAnyRead)
{
    // Each length is far beyond the 16 bytes behind the pointer: the size
    // check must come first, in unsigned arithmetic, on every write path.
    char small[16] = "0123456789abcde";
    const size_t lengths[] = {SIZE_MAX, SIZE_MAX - 8, SIZE_MAX / 2, size_t(UINT32_MAX),
                              size_t(UINT32_MAX) + 1};
    for (size_t len : lengths) {
        SCOPED_TRACE(len);
        EXPECT_EQ(cache_set(c, "k", 1, small, len, CACHE_TTL_NONE), CACHE_ETOOBIG)
            << cache_last_error();
        EXPECT_EQ(cache_add(c, "k", 1, small, len, CACHE_TTL_NONE), CACHE_ETOOBIG);
        cache_slice key = {"k", 1};
        cache_slice value = {small, len};
        EXPECT_EQ(cache_set_many(c, &key, &value, 1, CACHE_TTL_NONE), CACHE_ETOOBIG);
        cache_slice tag = {"t", 1};
        EXPECT_EQ(cache_set_tagged(c, "k", 1, small, len, CACHE_TTL_NONE, &tag, 1), CACHE_ETOOBIG);
        EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
    }
}

TEST_P(Contract, CountersAcceptLeadingZerosOfAnyLength)
{
    int64_t v = 0;
    ASSERT_EQ(set_str(c, "z", "00000000000000000000000000001"), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "z", 1, 1, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 2);
    EXPECT_EQ(get_str(c, "z"), "2");
    ASSERT_EQ(set_str(c, "m", "-0000000000000000000000009223372036854775808"), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "m", 1, 0, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, INT64_MIN);
    ASSERT_EQ(set_str(c, "zero", "-00000000000000000000000"), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "zero", 4, 5, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 5);
    // The value must still fit: 20 significant digits never do.
    ASSERT_EQ(set_str(c, "big", "0000010000000000000000000"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "big", 3, 1, &v), CACHE_ENAN);
    ASSERT_EQ(set_str(c, "dash", "-"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "dash", 4, 1, &v), CACHE_ENAN);
}

TEST_P(Contract, TagsOfNestedPrefixesAreSeparate)
{
    // "app:" + "cache:users" and "app:cache:" + "users" are the same bytes;
    // as tags they must stay two different tags.
    cache_t *inner = open_with_prefix(prefix + "cache:");
    ASSERT_NE(inner, nullptr);
    cache_slice outer_tag[] = {{"cache:users", 11}};
    cache_slice inner_tag[] = {{"users", 5}};
    ASSERT_EQ(cache_set_tagged(c, "k1", 2, "outer", 5, CACHE_TTL_NONE, outer_tag, 1), CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(cache_set_tagged(inner, "k2", 2, "inner", 5, CACHE_TTL_NONE, inner_tag, 1), CACHE_OK);
    size_t n = 99;
    ASSERT_EQ(cache_invalidate_tags(inner, inner_tag, 1, &n), CACHE_OK) << cache_last_error();
    if (GetParam().counts_invalidations)
        EXPECT_EQ(n, 1u);
    EXPECT_EQ(get_str(c, "k1"), "outer");
    EXPECT_EQ(cache_exists(inner, "k2", 2), CACHE_MISS);
    ASSERT_EQ(cache_set_tagged(inner, "k2", 2, "inner", 5, CACHE_TTL_NONE, inner_tag, 1), CACHE_OK);
    ASSERT_EQ(cache_invalidate_tags(c, outer_tag, 1, &n), CACHE_OK) << cache_last_error();
    if (GetParam().counts_invalidations)
        EXPECT_EQ(n, 1u);
    EXPECT_EQ(cache_exists(c, "k1", 2), CACHE_MISS);
    EXPECT_EQ(get_str(inner, "k2"), "inner");
    EXPECT_EQ(cache_clear(inner), CACHE_OK);
    cache_close(inner);
}

// A prefix is a namespace (prefix_mode=namespace, the default): the stored
// key is prefix + '|' + key, so no namespace's keys start with another's.
TEST_P(Contract, ClearOfAPrefixEndsNoKeyOfALongerOrNestedPrefix)
{
    if (!GetParam().handles_share_store)
        GTEST_SKIP() << "every open is a store of its own";
    cache_t *longer = open_with_prefix(prefix + "b");
    cache_t *nested = open_with_prefix(prefix + ":x");
    cache_t *shorter = open_with_prefix(prefix.substr(0, prefix.size() - 1));
    ASSERT_NE(longer, nullptr);
    ASSERT_NE(nested, nullptr);
    ASSERT_NE(shorter, nullptr);
    ASSERT_EQ(set_str(c, "mine", "v"), CACHE_OK);
    ASSERT_EQ(set_str(longer, "c", "longer"), CACHE_OK);
    ASSERT_EQ(set_str(nested, "c", "nested"), CACHE_OK);
    ASSERT_EQ(set_str(shorter, ":c", "shorter"), CACHE_OK);
    // Key "bc" here is not key "c" of prefix + "b" (they were the same
    // stored key while the prefix was prepended with nothing between).
    ASSERT_EQ(set_str(c, "bc", "mine too"), CACHE_OK);
    EXPECT_EQ(get_str(longer, "c"), "longer");
    ASSERT_EQ(cache_clear(c), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(c, "mine", 4), CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "bc", 2), CACHE_MISS);
    EXPECT_EQ(get_str(longer, "c"), "longer");
    EXPECT_EQ(get_str(nested, "c"), "nested");
    EXPECT_EQ(get_str(shorter, ":c"), "shorter");
    // And the other way: the others' clears leave this one's keys.
    ASSERT_EQ(set_str(c, "mine", "v"), CACHE_OK);
    EXPECT_EQ(cache_clear(shorter), CACHE_OK);
    EXPECT_EQ(cache_clear(nested), CACHE_OK);
    EXPECT_EQ(cache_clear(longer), CACHE_OK);
    EXPECT_EQ(get_str(c, "mine"), "v");
    EXPECT_EQ(cache_exists(longer, "c", 1), CACHE_MISS);
    EXPECT_EQ(cache_exists(nested, "c", 1), CACHE_MISS);
    cache_close(longer);
    cache_close(nested);
    cache_close(shorter);
}

namespace {

// The "size" of a handle's statistics, -1 when the backend cannot tell.
int64_t stats_size(cache_t *h)
{
    cache_buf j = {nullptr, 0};
    if (cache_stats_json(h, &j) != CACHE_OK)
        return -2;
    std::string stats(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    size_t at = stats.find("\"size\":");
    if (at == std::string::npos || stats.compare(at + 7, 4, "null") == 0)
        return -1;
    return std::strtoll(stats.c_str() + at + 7, nullptr, 10);
}

} // namespace

TEST_P(Contract, KeysAndSizeOfAPrefixAreExactlyItsOwn)
{
    if (!GetParam().handles_share_store)
        GTEST_SKIP() << "every open is a store of its own";
    cache_t *longer = open_with_prefix(prefix + "b");
    cache_t *root = open_with_prefix("");
    ASSERT_NE(longer, nullptr);
    ASSERT_NE(root, nullptr);
    ASSERT_EQ(set_str(c, "k1", "v"), CACHE_OK);
    ASSERT_EQ(set_str(c, "k2", "v"), CACHE_OK);
    ASSERT_EQ(set_str(longer, "k3", "v"), CACHE_OK);
    ASSERT_EQ(set_str(root, prefix + "k4", "v"), CACHE_OK); // prefix + key, no separator
    if (GetParam().lists_keys) {
        int rc;
        EXPECT_EQ(list_keys(c, "*", &rc), (std::set<std::string>{"k1", "k2"}));
        EXPECT_EQ(rc, CACHE_OK);
        EXPECT_EQ(list_keys(longer, "*", &rc), (std::set<std::string>{"k3"}));
        std::set<std::string> all = list_keys(root, prefix + "*", &rc);
        EXPECT_EQ(rc, CACHE_OK);
        EXPECT_EQ(all, (std::set<std::string>{prefix + "|k1", prefix + "|k2", prefix + "b|k3",
                                              prefix + "k4"}));
        size_t n = 0;
        EXPECT_EQ(cache_delete_pattern(c, "k*", 2, &n), CACHE_OK);
        EXPECT_EQ(n, 2u);
        EXPECT_EQ(get_str(longer, "k3"), "v");
        EXPECT_EQ(get_str(root, prefix + "k4"), "v");
        ASSERT_EQ(set_str(c, "k1", "v"), CACHE_OK);
        ASSERT_EQ(set_str(c, "k2", "v"), CACHE_OK);
    }
    int64_t size = stats_size(c);
    if (size != -1)
        EXPECT_EQ(size, 2);
    size = stats_size(longer);
    if (size != -1)
        EXPECT_EQ(size, 1);
    EXPECT_EQ(cache_delete(root, (prefix + "k4").data(), prefix.size() + 2), CACHE_OK);
    EXPECT_EQ(cache_clear(longer), CACHE_OK);
    cache_close(longer);
    cache_close(root);
}

TEST_P(Contract, TheHandleWithoutAPrefixSeesEveryStoredKeyAsItIs)
{
    if (!GetParam().handles_share_store)
        GTEST_SKIP() << "every open is a store of its own";
    cache_t *root = open_with_prefix("");
    ASSERT_NE(root, nullptr);
    std::string stored = prefix + "|k";
    ASSERT_EQ(set_str(c, "k", "from the prefix"), CACHE_OK);
    EXPECT_EQ(get_str(root, stored), "from the prefix");
    ASSERT_EQ(set_str(root, prefix + "|j", "from the root"), CACHE_OK);
    EXPECT_EQ(get_str(c, "j"), "from the root");
    // A clear of the prefix ends them for a root handle too (memcached: an
    // entry belongs to the namespace its full key names). A new handle: a
    // tiered cache's L1 may keep what this one read for l1_ttl.
    ASSERT_EQ(cache_clear(c), CACHE_OK);
    cache_close(root);
    root = open_with_prefix("");
    ASSERT_NE(root, nullptr);
    EXPECT_EQ(cache_exists(root, stored.data(), stored.size()), CACHE_MISS);
    EXPECT_EQ(cache_exists(root, (prefix + "|j").data(), stored.size()), CACHE_MISS);
    cache_close(root);
}

TEST_P(Contract, AClearWithoutAPrefixEndsEveryPrefixsKeys)
{
    if (!GetParam().handles_share_store)
        GTEST_SKIP() << "every open is a store of its own";
    cache_t *longer = open_with_prefix(prefix + "b");
    cache_t *root = open_with_prefix("");
    ASSERT_NE(longer, nullptr);
    ASSERT_NE(root, nullptr);
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    ASSERT_EQ(set_str(longer, "k", "v"), CACHE_OK);
    ASSERT_EQ(set_str(root, prefix + "plain", "v"), CACHE_OK);
    ASSERT_EQ(cache_clear(root), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
    EXPECT_EQ(cache_exists(longer, "k", 1), CACHE_MISS);
    EXPECT_EQ(cache_exists(root, (prefix + "plain").data(), prefix.size() + 5), CACHE_MISS);
    // Written again after the clear, they are there again.
    ASSERT_EQ(set_str(longer, "k", "again"), CACHE_OK);
    EXPECT_EQ(get_str(longer, "k"), "again");
    EXPECT_EQ(cache_clear(longer), CACHE_OK);
    cache_close(longer);
    cache_close(root);
}

TEST_P(Contract, APrefixWithTheSeparatorIsRefusedUnlessRaw)
{
    cache_options opts = CACHE_OPTIONS_INIT;
    std::string bad = prefix + "a|b";
    opts.prefix = bad.data();
    opts.prefix_len = bad.size();
    cache_t *h = reinterpret_cast<cache_t *>(1);
    EXPECT_EQ(cache_open_ext(GetParam().uri().c_str(), &opts, &h), CACHE_EINVAL);
    EXPECT_EQ(h, nullptr);
    std::string msg = cache_last_error();
    EXPECT_NE(msg.find("'|'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("prefix_mode=raw"), std::string::npos) << msg;
    cache_t *raw = open_raw(bad);
    ASSERT_NE(raw, nullptr);
    EXPECT_EQ(set_str(raw, "k", "v"), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(raw, "k"), "v");
    EXPECT_EQ(cache_clear(raw), CACHE_OK);
    cache_close(raw);
}

// prefix_mode=raw: today's rule before namespaces, for sharing keys with
// other clients. A full key is prefix + key with nothing between, so
// prefix "a" and key "bc" is the key that prefix "ab" calls "c". clear()
// removes every key this handle could have written: all that start with
// its prefix, those of a longer prefix included; never those of a shorter
// one (memcached: only those written through the same prefix).
TEST_P(Contract, RawPrefixClearAlsoEndsTheKeysOfLongerPrefixes)
{
    cache_t *raw = open_raw(prefix);
    cache_t *longer = open_raw(prefix + "b");
    cache_t *shorter = open_raw(prefix.substr(0, prefix.size() - 1));
    ASSERT_NE(raw, nullptr);
    ASSERT_NE(longer, nullptr);
    ASSERT_NE(shorter, nullptr);
    ASSERT_EQ(set_str(raw, "mine", "v"), CACHE_OK);
    ASSERT_EQ(set_str(longer, "c", "v"), CACHE_OK);
    ASSERT_EQ(set_str(shorter, "x", "v"), CACHE_OK);
    ASSERT_EQ(cache_clear(raw), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(raw, "mine", 4), CACHE_MISS);
    if (GetParam().handles_share_store && GetParam().clear_covers_longer_prefixes)
        EXPECT_EQ(cache_exists(longer, "c", 1), CACHE_MISS);
    else
        EXPECT_EQ(cache_exists(longer, "c", 1), CACHE_OK);
    EXPECT_EQ(get_str(shorter, "x"), "v");
    if (GetParam().handles_share_store && GetParam().clear_covers_longer_prefixes) {
        // The same stored key through both.
        ASSERT_EQ(set_str(longer, "c", "v2"), CACHE_OK);
        EXPECT_EQ(get_str(raw, "bc"), "v2");
    }
    EXPECT_EQ(cache_clear(longer), CACHE_OK);
    EXPECT_EQ(cache_delete(shorter, "x", 1), CACHE_OK);
    cache_close(raw);
    cache_close(longer);
    cache_close(shorter);
}

} // namespace unicache_test
