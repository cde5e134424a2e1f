// Memory-backend behaviour beyond the contract: limits, eviction, expiry.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "unicache.h"

namespace {

std::string stats(cache_t *c)
{
    cache_buf j = {nullptr, 0};
    EXPECT_EQ(cache_stats_json(c, &j), CACHE_OK);
    std::string s(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    return s;
}

long long stat_field(const std::string &json, const std::string &name)
{
    size_t p = json.find("\"" + name + "\":");
    if (p == std::string::npos)
        return -1;
    return std::stoll(json.substr(p + name.size() + 3));
}

class Policies : public ::testing::TestWithParam<std::string> {};

TEST_P(Policies, MaxItemsIsEnforced)
{
    cache_t *c = nullptr;
    std::string uri = "memory://?max_items=1000&policy=" + GetParam();
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    for (int i = 0; i < 5000; i++) {
        std::string k = "key" + std::to_string(i);
        ASSERT_EQ(cache_set(c, k.data(), k.size(), "v", 1, 0), CACHE_OK);
    }
    std::string s = stats(c);
    EXPECT_LE(stat_field(s, "size"), 1000) << s;
    EXPECT_GE(stat_field(s, "size"), 900) << s;
    EXPECT_GE(stat_field(s, "evictions"), 4000) << s;
    cache_close(c);
}

TEST_P(Policies, MaxMemoryIsEnforcedAndReportedHonestly)
{
    cache_t *c = nullptr;
    std::string uri = "memory://?max_memory_mb=1&policy=" + GetParam();
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    std::string v(1000, 'x');
    for (int i = 0; i < 5000; i++) {
        std::string k = "key" + std::to_string(i);
        ASSERT_EQ(cache_set(c, k.data(), k.size(), v.data(), v.size(), 0), CACHE_OK);
    }
    std::string s = stats(c);
    long long mem = stat_field(s, "memory_bytes");
    long long size = stat_field(s, "size");
    EXPECT_LE(mem, 1 << 20) << s;
    EXPECT_GE(mem, size * 1000) << "memory_bytes must count keys, values and overhead: " << s;
    EXPECT_GT(mem, (1 << 20) * 8 / 10) << s;
    cache_close(c);
}

INSTANTIATE_TEST_SUITE_P(Memory, Policies, ::testing::Values("lru", "fifo"));

TEST(MemoryBackend, ValueLargerThanTheCacheIsTooBig)
{
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://?max_memory_mb=1&shards=1", &c), CACHE_OK);
    std::string v(2 << 20, 'x');
    EXPECT_EQ(cache_set(c, "k", 1, v.data(), v.size(), 0), CACHE_ETOOBIG);
    EXPECT_NE(std::string(cache_last_error()).find("max_memory_mb"), std::string::npos)
        << cache_last_error();
    EXPECT_EQ(cache_exists(c, "k", 1), CACHE_MISS);
    cache_close(c);
}

TEST(MemoryBackend, ExpiredEntriesAreReapedInTheBackground)
{
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open("memory://?expiry_interval_ms=50", &c), CACHE_OK);
    std::string v(1000, 'x');
    for (int i = 0; i < 1000; i++) {
        std::string k = "key" + std::to_string(i);
        ASSERT_EQ(cache_set(c, k.data(), k.size(), v.data(), v.size(), 100), CACHE_OK);
    }
    EXPECT_GT(stat_field(stats(c), "memory_bytes"), 1000 * 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    // Nobody read the keys: only the reaper can have freed them.
    std::string s = stats(c);
    EXPECT_EQ(stat_field(s, "size"), 0) << s;
    EXPECT_EQ(stat_field(s, "memory_bytes"), 0) << s;
    EXPECT_EQ(stat_field(s, "expirations"), 1000) << s;
    cache_close(c);
}

TEST(MemoryBackend, UnknownPolicyIsRejectedWithTheValidNames)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open("memory://?policy=random", &c), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("lru"), std::string::npos);
    EXPECT_EQ(c, nullptr);
}

} // namespace
