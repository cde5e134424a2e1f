// Bad input gets a documented status and a clear message, never a crash.
#include <gtest/gtest.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <thread>

#include "unicache.h"

namespace {

std::string last()
{
    return cache_last_error();
}

class CApi : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(cache_open("memory://", &c), CACHE_OK); }
    void TearDown() override { cache_close(c); }
    cache_t *c = nullptr;
};

TEST_F(CApi, NullHandleIsInvalidEverywhere)
{
    cache_buf b = {nullptr, 0};
    int64_t v;
    EXPECT_EQ(cache_set(nullptr, "k", 1, "v", 1, 0), CACHE_EINVAL);
    EXPECT_NE(last().find("NULL"), std::string::npos);
    EXPECT_EQ(cache_get(nullptr, "k", 1, &b), CACHE_EINVAL);
    EXPECT_EQ(cache_delete(nullptr, "k", 1), CACHE_EINVAL);
    EXPECT_EQ(cache_exists(nullptr, "k", 1), CACHE_EINVAL);
    EXPECT_EQ(cache_incr(nullptr, "k", 1, 1, &v), CACHE_EINVAL);
    EXPECT_EQ(cache_clear(nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_stats_json(nullptr, &b), CACHE_EINVAL);
    EXPECT_EQ(cache_ping(nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_ttl(nullptr, "k", 1, &v), CACHE_EINVAL);
    cache_close(nullptr);
    cache_buf_free(nullptr);
    cache_buf_array_free(nullptr);
}

TEST_F(CApi, NullPointersAreInvalid)
{
    EXPECT_EQ(cache_set(c, nullptr, 1, "v", 1, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_set(c, "k", 1, nullptr, 5, 0), CACHE_EINVAL);
    EXPECT_EQ(cache_set(c, "k", 1, nullptr, 0, 0), CACHE_OK); // empty value
    EXPECT_EQ(cache_get(c, "k", 1, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_ttl(c, "k", 1, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_incr(c, "n", 1, 1, nullptr), CACHE_OK); // result optional
    EXPECT_EQ(cache_get_many(c, nullptr, 2, nullptr, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_keys(c, "*", 1, 0, nullptr), CACHE_EINVAL);
    EXPECT_EQ(cache_open("memory://", nullptr), CACHE_EINVAL);
    cache_slice bad[] = {{nullptr, 3}};
    size_t n;
    EXPECT_EQ(cache_delete_many(c, bad, 1, &n), CACHE_EINVAL);
}

TEST_F(CApi, EmptyAndOversizedKeys)
{
    EXPECT_EQ(cache_set(c, "", 0, "v", 1, 0), CACHE_EINVAL);
    EXPECT_NE(last().find("empty key"), std::string::npos) << last();
    std::string big(CACHE_KEY_MAX + 1, 'x');
    EXPECT_EQ(cache_set(c, big.data(), big.size(), "v", 1, 0), CACHE_ETOOBIG);
    EXPECT_NE(last().find("65537"), std::string::npos) << last();
    EXPECT_EQ(cache_exists(c, big.data(), big.size()), CACHE_ETOOBIG);
}

TEST_F(CApi, NegativeTtlOtherThanDefaultIsInvalid)
{
    EXPECT_EQ(cache_set(c, "k", 1, "v", 1, -2), CACHE_EINVAL);
    EXPECT_NE(last().find("negative"), std::string::npos) << last();
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
    EXPECT_EQ(cache_set(c, "k", 1, "v", 1, CACHE_TTL_DEFAULT), CACHE_OK);
}

TEST_F(CApi, DecrByInt64MinIsOutOfRange)
{
    EXPECT_EQ(cache_decr(c, "k", 1, INT64_MIN, nullptr), CACHE_ERANGE);
}

TEST_F(CApi, ErrorsAreCountedInStats)
{
    cache_set(c, "", 0, "v", 1, 0);
    cache_buf j = {nullptr, 0};
    ASSERT_EQ(cache_stats_json(c, &j), CACHE_OK);
    EXPECT_NE(std::string(static_cast<char *>(j.data)).find("\"errors\":1"), std::string::npos)
        << static_cast<char *>(j.data);
    cache_buf_free(&j);
}

TEST(Open, MalformedUrisAreInvalidAndNameTheProblem)
{
    struct Case {
        const char *uri;
        const char *must_mention;
    } cases[] = {
        {"bogus://", "memory"},                 // lists valid schemes
        {"memory://?max_itemz=5", "max_items"}, // lists valid params
        {"memory://?max_items=abc", "max_items"},
        {"memory://?max_items=-1", "max_items"},
        {"memory://?max_memory_mb=1x", "max_memory_mb"},
        {"memory://?max_items=1&max_items=2", "twice"},
        {"memory://somehost", "memory://"},
        {"memory://?prefix=%zz", "percent"},
        {"no-scheme-here", "scheme"},
        {"memory://?shards=3", "power of two"},
        {"{not json", "JSON"},
        {"{\"backend\": 5}", "backend"},
        {"[1,2]", "scheme"},
        {"{\"backend\":\"memory\",\"max_items\":\"lots\"}", "max_items"},
        {"{\"backend\":\"memory\",\"max_items\":7.7e37}", "max_items"}, // beyond int64
        {"{\"backend\":\"memory\",\"max_items\":-1e300}", "max_items"},
        {"{\"backend\":\"memory\",\"max_items\":2.5}", "max_items"},
        {"{\"backend\":\"memory\",\"nested\":{\"a\":1}}", "nested"},
        {"{}", "backend"},
    };
    for (const auto &tc : cases) {
        cache_t *c = reinterpret_cast<cache_t *>(1);
        EXPECT_EQ(cache_open(tc.uri, &c), CACHE_EINVAL) << tc.uri;
        EXPECT_EQ(c, nullptr) << tc.uri;
        EXPECT_NE(last().find(tc.must_mention), std::string::npos) << tc.uri << " -> " << last();
    }
}

TEST(Open, PasswordsNeverAppearInMessagesOrStats)
{
    cache_t *c = nullptr;
    // Whatever the outcome (unknown parameter, server down, not built),
    // the message must not echo the secret.
    const char *uris[] = {"redis://:hunter2secret@127.0.0.1:1/0?bogus=1",
                          "redis://alice:hunter2secret@127.0.0.1:1/0",
                          "memory://?password=hunter2secret"};
    for (const char *u : uris) {
        EXPECT_NE(cache_open(u, &c), CACHE_OK) << u;
        EXPECT_EQ(last().find("hunter2secret"), std::string::npos) << last();
    }
}

TEST(Open, EmptyUriFallsBackToEnvironmentThenMemory)
{
    cache_t *c = nullptr;
    unsetenv("UNICACHE_URL");
    ASSERT_EQ(cache_open("", &c), CACHE_OK);
    cache_buf j = {nullptr, 0};
    cache_stats_json(c, &j);
    EXPECT_NE(std::string(static_cast<char *>(j.data)).find("\"backend\":\"memory\""),
              std::string::npos);
    cache_buf_free(&j);
    cache_close(c);
    setenv("UNICACHE_URL", "memory://?bogus=1", 1);
    EXPECT_EQ(cache_open(nullptr, &c), CACHE_EINVAL);
    EXPECT_NE(last().find("bogus"), std::string::npos);
    unsetenv("UNICACHE_URL");
}

TEST(Open, OptionsAreVersioned)
{
    cache_options o;
    EXPECT_EQ(cache_options_init(&o, 99), CACHE_EINVAL);
    EXPECT_EQ(cache_options_init(&o, CACHE_OPTIONS_VERSION), CACHE_OK);
    EXPECT_EQ(o.default_ttl_ms, CACHE_TTL_DEFAULT);
    o.version = 77;
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open_ext("memory://", &o, &c), CACHE_EINVAL);
    EXPECT_NE(last().find("version"), std::string::npos);
    EXPECT_EQ(c, nullptr);
}

TEST(Status, StrerrorCoversEveryIntAndLastErrorIsNeverNull)
{
    for (int s = -100; s <= 100; s++)
        EXPECT_NE(cache_strerror(s), nullptr);
    EXPECT_STREQ(cache_strerror(INT_MIN), "unknown status");
    EXPECT_STREQ(cache_strerror(CACHE_MISS), "not found");
    std::thread([] { EXPECT_STREQ(cache_last_error(), ""); }).join();
    EXPECT_STREQ(cache_version(), CACHE_VERSION_STRING);
}

TEST(Status, LastErrorIsPerThread)
{
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://", &c), CACHE_OK);
    cache_set(c, "", 0, "v", 1, 0);
    std::string mine = last();
    std::thread([] { EXPECT_STREQ(cache_last_error(), ""); }).join();
    EXPECT_EQ(last(), mine);
    cache_close(c);
}

} // namespace
