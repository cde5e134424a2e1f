// Redis-backend behaviour beyond the contract: configuration, prefix
// isolation in a shared database, binary data, large values, large pattern
// deletes, glob agreement with the memory backend, strict counters, tags,
// statistics and INFO.
#include <gtest/gtest.h>
#include <hiredis.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "redis_server.h"
#include "support/fork_sharing.h"
#include "unicache.h"

namespace unicache_test {

namespace {

std::atomic<int> g_seq{0};

std::string glob_escape(const std::string &s)
{
    std::string out;
    for (char ch : s) {
        if (std::strchr("*?[]\\", ch) && ch)
            out.push_back('\\');
        out.push_back(ch);
    }
    return out;
}

// A prefix no other test (or earlier run) uses.
std::string unique_prefix(const std::string &what)
{
    return what + std::to_string(getpid()) + "-" + std::to_string(g_seq++) + ":";
}

cache_t *open_ok(const std::string &uri)
{
    cache_t *c = nullptr;
    int rc = cache_open(uri.c_str(), &c);
    EXPECT_EQ(rc, CACHE_OK) << uri << ": " << cache_last_error();
    return c;
}

int open_status(const std::string &uri, std::string *message = nullptr)
{
    cache_t *c = reinterpret_cast<cache_t *>(1);
    int rc = cache_open(uri.c_str(), &c);
    if (message)
        *message = cache_last_error();
    if (rc == CACHE_OK)
        cache_close(c);
    else
        EXPECT_EQ(c, nullptr);
    return rc;
}

int set_str(cache_t *c, const std::string &k, const std::string &v, int64_t ttl = CACHE_TTL_NONE)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), ttl);
}

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

int exists(cache_t *c, const std::string &k)
{
    return cache_exists(c, k.data(), k.size());
}

std::set<std::string> keys_of(cache_t *c, const std::string &pattern, int *rc_out = nullptr)
{
    cache_buf_array arr = {nullptr, 0};
    int rc = cache_keys(c, pattern.data(), pattern.size(), 0, &arr);
    if (rc_out)
        *rc_out = rc;
    EXPECT_EQ(rc, CACHE_OK) << cache_last_error();
    std::set<std::string> out;
    for (size_t i = 0; i < arr.count; i++)
        out.insert(std::string(static_cast<char *>(arr.items[i].data), arr.items[i].size));
    cache_buf_array_free(&arr);
    return out;
}

std::string stats(cache_t *c)
{
    cache_buf j = {nullptr, 0};
    EXPECT_EQ(cache_stats_json(c, &j), CACHE_OK);
    std::string s(static_cast<char *>(j.data), j.size);
    cache_buf_free(&j);
    return s;
}

std::string info(cache_t *c)
{
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_backend_info(c, &b), CACHE_OK) << cache_last_error();
    std::string s(static_cast<char *>(b.data), b.size);
    cache_buf_free(&b);
    return s;
}

// A handle without prefix on the shared server: sees everything in db 0.
cache_t *raw_handle()
{
    return open_ok(redis_uri());
}

// A plain hiredis client on the shared server, for what the cache API
// refuses to touch: the reserved tag-index keys, and other Redis types.
class RawRedis {
public:
    RawRedis() : ctx_(redisConnect("127.0.0.1", shared_redis().port()))
    {
        EXPECT_TRUE(ctx_ && !ctx_->err);
    }
    ~RawRedis() { redisFree(ctx_); }
    RawRedis(const RawRedis &) = delete;
    RawRedis &operator=(const RawRedis &) = delete;

    // The integer reply; -100 for any other kind of reply.
    long long integer(const std::vector<std::string> &args)
    {
        redisReply *r = command(args);
        long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -100;
        freeReplyObject(r);
        return v;
    }

private:
    redisReply *command(const std::vector<std::string> &args)
    {
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        for (const auto &a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        return static_cast<redisReply *>(
            redisCommandArgv(ctx_, int(args.size()), argv.data(), lens.data()));
    }

    redisContext *ctx_;
};

cache_t *prefixed(const std::string &prefix, const std::string &extra = "")
{
    return open_ok(redis_uri("prefix=" + prefix + (extra.empty() ? "" : "&" + extra)));
}

} // namespace

// ------------------------------------------------------------ configuration

TEST(RedisConfig, RedissIsRefusedNeverDowngraded)
{
    std::string msg;
    EXPECT_EQ(
        open_status("rediss://:topsecret@127.0.0.1:" + std::to_string(shared_redis().port()), &msg),
        CACHE_ENOTSUP);
    EXPECT_NE(msg.find("TLS is not supported by this build"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("topsecret"), std::string::npos) << msg;
    EXPECT_EQ(open_status(R"({"backend":"rediss","host":"127.0.0.1"})", &msg), CACHE_ENOTSUP);
    EXPECT_NE(msg.find("TLS"), std::string::npos) << msg;
}

TEST(RedisConfig, BadConfigurationsAreInvalidWithAReason)
{
    std::string port = std::to_string(shared_redis().port());
    struct Case {
        std::string uri;
        const char *says;
    } cases[] = {
        {"redis://127.0.0.1:" + port + ",127.0.0.1:" + port, "several hosts"},
        {"redis://127.0.0.1:" + port + "/abc", "bad database"},
        {"redis://127.0.0.1:" + port + "/1?db=2", "database twice"},
        {"redis://127.0.0.1:" + port + "/99999999999", "bad database"},
        {"redis://127.0.0.1:" + port + "?pool_size=0", "pool_size"},
        {"redis://127.0.0.1:" + port + "?timeout_ms=0", "timeout_ms"},
        {"redis://127.0.0.1:" + port + "?connect_timeout_ms=abc", "connect_timeout_ms"},
        {"redis://127.0.0.1:" + port + "?max_retries=-1", "max_retries"},
        {"redis://127.0.0.1:" + port + "?retry_delay_ms=x", "retry_delay_ms"},
        {"redis://127.0.0.1:" + port + "?health_check_interval_ms=-5", "health_check"},
        {"redis://127.0.0.1:" + port + "?lazy_connect=maybe", "lazy_connect"},
        {"redis://127.0.0.1:" + port + "?scan_count=0", "scan_count"},
        {"redis://127.0.0.1:" + port + "?colour=blue", "timeout_ms"}, // lists valid names
        {"redis://alice@127.0.0.1:" + port, "without a password"},
        {"redis+unix://", "names no socket"},
        {"redis+unix://somehost/tmp/x.sock", "socket path, not a host"},
        {"redis://127.0.0.1:" + port + "/50", "does not exist"}, // 16 databases
    };
    for (const auto &c : cases) {
        std::string msg;
        EXPECT_EQ(open_status(c.uri, &msg), CACHE_EINVAL) << c.uri;
        EXPECT_NE(msg.find(c.says), std::string::npos) << c.uri << " -> " << msg;
    }
}

TEST(RedisConfig, DatabaseFromPathParameterOrJson)
{
    std::string port = std::to_string(shared_redis().port());
    std::string key = unique_prefix("dbkey");
    cache_t *db5 = open_ok("redis://127.0.0.1:" + port + "/5");
    ASSERT_NE(db5, nullptr);
    ASSERT_EQ(set_str(db5, key, "in five"), CACHE_OK) << cache_last_error();
    cache_t *param = open_ok("redis://127.0.0.1:" + port + "?db=5");
    cache_t *json =
        open_ok(R"({"backend":"redis","host":"127.0.0.1","port":)" + port + R"(,"db":5})");
    cache_t *db0 = open_ok("redis://127.0.0.1:" + port + "/");
    EXPECT_EQ(get_str(param, key), "in five");
    EXPECT_EQ(get_str(json, key), "in five");
    EXPECT_EQ(exists(db0, key), CACHE_MISS);
    EXPECT_EQ(cache_delete(db5, key.data(), key.size()), CACHE_OK);
    for (cache_t *c : {db5, param, json, db0})
        cache_close(c);
}

TEST(RedisConfig, UnixSocketAndMissingSocket)
{
    shared_redis();
    cache_t *c = open_ok("redis+unix://" + shared_redis_socket());
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(cache_ping(c), CACHE_OK) << cache_last_error();
    cache_close(c);
    std::string msg;
    EXPECT_EQ(open_status("redis+unix:///nonexistent/redis.sock", &msg), CACHE_EUNAVAILABLE);
    EXPECT_NE(msg.find("/nonexistent/redis.sock"), std::string::npos) << msg;
}

// ------------------------------------------------------------ isolation

TEST(RedisIsolation, ForeignKeysSurviveClearAndDeletePattern)
{
    std::string p = unique_prefix("iso*[x]");
    cache_t *raw = raw_handle();
    cache_t *mine = prefixed(p);
    ASSERT_NE(mine, nullptr);
    // Written by "someone else" in the same database: near misses of the
    // prefix, including keys that the prefix would match if it were a glob.
    std::string lookalike = p;
    lookalike.replace(lookalike.find("*[x]"), 4, "ABCx"); // "iso" "ABC" "x" ...
    std::vector<std::string> foreign = {"foreign:" + p, lookalike + "k",
                                        p.substr(0, p.size() - 1) + "k", "x" + p + "k"};
    for (const auto &k : foreign)
        ASSERT_EQ(set_str(raw, k, "theirs"), CACHE_OK) << cache_last_error();
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(set_str(mine, "k" + std::to_string(i), "mine"), CACHE_OK);

    size_t deleted = 0;
    ASSERT_EQ(cache_delete_pattern(mine, "*", 1, &deleted), CACHE_OK) << cache_last_error();
    EXPECT_EQ(deleted, 50u);
    for (const auto &k : foreign)
        EXPECT_EQ(get_str(raw, k), "theirs") << k;
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(set_str(mine, "k" + std::to_string(i), "mine"), CACHE_OK);
    ASSERT_EQ(cache_clear(mine), CACHE_OK) << cache_last_error();
    EXPECT_EQ(exists(mine, "k1"), CACHE_MISS);
    for (const auto &k : foreign) {
        EXPECT_EQ(get_str(raw, k), "theirs") << k;
        cache_delete(raw, k.data(), k.size());
    }
    cache_close(mine);
    cache_close(raw);
}

// ------------------------------------------------------------ data

TEST(RedisData, BinaryKeysAndValuesEverywhere)
{
    cache_t *c = prefixed(unique_prefix("bin"));
    ASSERT_NE(c, nullptr);
    const std::string keys[] = {std::string("a\r\nb"),       std::string("nul\0mid", 7),
                                std::string(" spaced key "), std::string("\0", 1),
                                std::string("*SET x y\r\n"), std::string("$3\r\nfoo\r\n")};
    for (const auto &k : keys) {
        std::string v = std::string("\r\n\0 ", 4) + k + std::string("\0", 1);
        ASSERT_EQ(set_str(c, k, v), CACHE_OK) << cache_last_error();
        EXPECT_EQ(get_str(c, k), v);
        EXPECT_EQ(exists(c, k), CACHE_OK);
        int64_t ttl = 0;
        EXPECT_EQ(cache_touch(c, k.data(), k.size(), 60000), CACHE_OK);
        EXPECT_EQ(cache_ttl(c, k.data(), k.size(), &ttl), CACHE_OK);
        EXPECT_GT(ttl, 50000);
    }
    EXPECT_EQ(keys_of(c, "*"), std::set<std::string>(std::begin(keys), std::end(keys)));
    EXPECT_EQ(keys_of(c, std::string("nul\0*", 5)), std::set<std::string>{keys[1]});
    // A value that looks like a protocol frame is stored as bytes.
    EXPECT_EQ(get_str(c, "*SET x y\r\n").substr(4, 10), "*SET x y\r\n");
    std::vector<cache_slice> ks;
    for (const auto &k : keys)
        ks.push_back({k.data(), k.size()});
    std::vector<cache_buf> out(ks.size());
    std::vector<int> st(ks.size());
    ASSERT_EQ(cache_get_many(c, ks.data(), ks.size(), out.data(), st.data()), CACHE_OK);
    for (size_t i = 0; i < ks.size(); i++) {
        EXPECT_EQ(st[i], CACHE_OK);
        EXPECT_EQ(std::string(static_cast<char *>(out[i].data), out[i].size),
                  std::string("\r\n\0 ", 4) + keys[i] + std::string("\0", 1));
        cache_buf_free(&out[i]);
    }
    size_t deleted = 0;
    ASSERT_EQ(cache_delete_many(c, ks.data(), ks.size(), &deleted), CACHE_OK);
    EXPECT_EQ(deleted, ks.size());
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisData, TenMegabyteValue)
{
    cache_t *c = prefixed(unique_prefix("big"));
    ASSERT_NE(c, nullptr);
    std::string v(10 << 20, '\0');
    uint32_t x = 12345;
    for (auto &ch : v) {
        x = x * 1103515245u + 12345u;
        ch = char(x >> 24);
    }
    ASSERT_EQ(set_str(c, "big", v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(get_str(c, "big"), v);
    cache_slice k[] = {{"big", 3}, {"small", 5}};
    cache_slice vals[] = {{v.data(), v.size()}, {"s", 1}};
    ASSERT_EQ(cache_set_many(c, k, vals, 2, 60000), CACHE_OK) << cache_last_error();
    cache_buf out[2];
    int st[2];
    ASSERT_EQ(cache_get_many(c, k, 2, out, st), CACHE_OK) << cache_last_error();
    EXPECT_EQ(out[0].size, v.size());
    EXPECT_EQ(std::memcmp(out[0].data, v.data(), v.size()), 0);
    cache_buf_free(&out[0]);
    cache_buf_free(&out[1]);
    cache_slice tag[] = {{"t", 1}};
    ASSERT_EQ(cache_set_tagged(c, "tagged", 6, v.data(), v.size(), 0, tag, 1), CACHE_OK)
        << cache_last_error();
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(c, tag, 1, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisData, ValueOverTheServerLimitIsTooBigAndNeverRead)
{
    cache_t *c = prefixed(unique_prefix("huge"));
    ASSERT_NE(c, nullptr);
    // Reserved address space only: reading it would cost 512 MB of pages,
    // so a pass also shows the value is refused before being touched.
    size_t len = (size_t(512) << 20) + 1;
    void *p = mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    EXPECT_EQ(cache_set(c, "k", 1, p, len, 0), CACHE_ETOOBIG);
    EXPECT_NE(std::string(cache_last_error()).find("512 MB"), std::string::npos)
        << cache_last_error();
    cache_slice k[] = {{"k", 1}};
    cache_slice v[] = {{p, len}};
    EXPECT_EQ(cache_set_many(c, k, v, 1, 0), CACHE_ETOOBIG);
    EXPECT_EQ(cache_add(c, "k", 1, p, len, 0), CACHE_ETOOBIG);
    munmap(p, len);
    EXPECT_EQ(exists(c, "k"), CACHE_MISS);
    cache_close(c);
}

TEST(RedisData, TenThousandKeysThroughDeletePattern)
{
    cache_t *c = prefixed(unique_prefix("bulk"), "scan_count=500");
    ASSERT_NE(c, nullptr);
    const size_t n = 10000;
    std::vector<std::string> ks, vs;
    for (size_t i = 0; i < n; i++) {
        ks.push_back("bulk:" + std::to_string(i));
        vs.push_back("v" + std::to_string(i));
    }
    ks.push_back("keep:1");
    vs.push_back("kept");
    std::vector<cache_slice> k, v;
    for (size_t i = 0; i < ks.size(); i++) {
        k.push_back({ks[i].data(), ks[i].size()});
        v.push_back({vs[i].data(), vs[i].size()});
    }
    ASSERT_EQ(cache_set_many(c, k.data(), v.data(), k.size(), 600000), CACHE_OK)
        << cache_last_error();
    cache_buf_array some = {nullptr, 0};
    ASSERT_EQ(cache_keys(c, "bulk:*", 6, 10, &some), CACHE_OK);
    EXPECT_EQ(some.count, 10u); // limit honoured
    cache_buf_array_free(&some);
    EXPECT_EQ(keys_of(c, "bulk:*").size(), n);
    size_t deleted = 0;
    ASSERT_EQ(cache_delete_pattern(c, "bulk:*", 6, &deleted), CACHE_OK) << cache_last_error();
    EXPECT_EQ(deleted, n);
    EXPECT_EQ(keys_of(c, "*"), std::set<std::string>{"keep:1"});
    EXPECT_EQ(get_str(c, "keep:1"), "kept");
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

// Redis's own matcher reads classes differently from the contract ("[!a]"
// is not a negation there); the translation plus re-check must give exactly
// the memory backend's answers.
TEST(RedisData, GlobPatternsMatchTheMemoryBackendExactly)
{
    cache_t *r = prefixed(unique_prefix("glob[*]?\\"));
    cache_t *m = open_ok("memory://");
    ASSERT_NE(r, nullptr);
    const std::string keys[] = {"a",
                                "b",
                                "!",
                                "^",
                                "-",
                                "]",
                                "[",
                                "\\",
                                "ab",
                                "a]",
                                "a-",
                                "abc",
                                "z",
                                "A",
                                "0",
                                "a*b",
                                "a?b",
                                "aXb",
                                "a\\b",
                                "[a]",
                                "x]y",
                                "caret^",
                                "",
                                std::string("\0", 1),
                                std::string("\xff", 1)};
    for (const auto &k : keys) {
        if (k.empty())
            continue;
        ASSERT_EQ(set_str(r, k, "v"), CACHE_OK);
        ASSERT_EQ(set_str(m, k, "v"), CACHE_OK);
    }
    const char *patterns[] = {"*",       "?",       "[!a]",     "[^a]",    "[ab]",     "[a-c]",
                              "[c-a]",   "[]]",     "[]a]",     "[!]]",    "[\\]]",    "[\\-]",
                              "[a-]",    "[-a]",    "[\\^]",    "[^^]",    "[!^a]",    "\\[a\\]",
                              "[[]a]",   "a\\*b",   "a?b",      "a*b",     "a[*]b",    "a[?]b",
                              "\\\\",    "a\\\\b",  "[\\\\]",   "[a-\\]]", "x]y",      "*^",
                              "[\\x00]", "[!a-z]*", "[A-Za-z]", "*[]]",    "[\\a-\\c]"};
    for (const char *p : patterns) {
        std::string pat(p);
        if (pat == "[\\x00]")
            pat = std::string("[\0]", 3);
        EXPECT_EQ(keys_of(r, pat), keys_of(m, pat)) << "pattern " << p;
    }
    EXPECT_EQ(cache_clear(r), CACHE_OK);
    cache_close(r);
    cache_close(m);
}

// ------------------------------------------------------------ counters

TEST(RedisCounters, TheContractsDecimalRulesNotRedis)
{
    cache_t *c = prefixed(unique_prefix("ctr"));
    ASSERT_NE(c, nullptr);
    int64_t v = 0;
    // Valid counters that Redis's INCRBY refuses: done under WATCH.
    ASSERT_EQ(set_str(c, "lead", "007", 120000), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "lead", 4, 1, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 8);
    EXPECT_EQ(get_str(c, "lead"), "8");
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c, "lead", 4, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 100000) << "the TTL survives the rewrite";
    ASSERT_EQ(set_str(c, "negzero", "-0"), CACHE_OK);
    ASSERT_EQ(cache_decr(c, "negzero", 7, 5, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, -5);
    ASSERT_EQ(cache_ttl(c, "negzero", 7, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    ASSERT_EQ(set_str(c, "zeros", "-0000000000000000009"), CACHE_OK); // 19 digits
    ASSERT_EQ(cache_incr(c, "zeros", 5, 10, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 1);
    // Leading zeros of any length: only the value must fit.
    ASSERT_EQ(set_str(c, "bigzero", "0009223372036854775807"), CACHE_OK); // 22 digits
    ASSERT_EQ(cache_incr(c, "bigzero", 7, 0, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, INT64_MAX);
    ASSERT_EQ(set_str(c, "padmax", "09223372036854775807"), CACHE_OK); // 20 digits
    EXPECT_EQ(cache_incr(c, "padmax", 6, 1, &v), CACHE_ERANGE);
    ASSERT_EQ(set_str(c, "toobig", "009223372036854775808"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "toobig", 6, 0, &v), CACHE_ENAN);
    ASSERT_EQ(set_str(c, "max0", "0922337203685477580"), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "max0", 4, 0, &v), CACHE_OK);
    EXPECT_EQ(v, 922337203685477580);
    ASSERT_EQ(set_str(c, "leadmax", "9223372036854775807"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "leadmax", 7, 1, &v), CACHE_ERANGE);
    ASSERT_EQ(set_str(c, "leadmax", "09223372036854775807"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "leadmax", 7, 1, &v), CACHE_ERANGE); // 20 digits, fits
    ASSERT_EQ(set_str(c, "lead", "0009"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "lead", 4, INT64_MAX, &v), CACHE_ERANGE);
    EXPECT_EQ(get_str(c, "lead"), "0009");
    // Not counters under the contract, whatever Redis thinks.
    for (const char *bad : {"+1", " 1", "1 ", "0x10", "1e3", "-", "1\n", "\xd9\xa1"}) {
        ASSERT_EQ(set_str(c, "bad", bad), CACHE_OK);
        v = 42;
        EXPECT_EQ(cache_incr(c, "bad", 3, 1, &v), CACHE_ENAN) << "'" << bad << "'";
        EXPECT_EQ(v, 42);
        EXPECT_EQ(get_str(c, "bad"), bad);
    }
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisCounters, NewCounterGetsTheDefaultTtlExistingKeepsItsOwn)
{
    std::string p = unique_prefix("ctrttl");
    cache_t *c = prefixed(p, "default_ttl=90000");
    ASSERT_NE(c, nullptr);
    int64_t v = 0, ttl = 0;
    ASSERT_EQ(cache_incr(c, "fresh", 5, 3, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 3);
    ASSERT_EQ(cache_ttl(c, "fresh", 5, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 80000);
    EXPECT_LE(ttl, 90000);
    ASSERT_EQ(set_str(c, "old", "10", CACHE_TTL_NONE), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "old", 3, 1, &v), CACHE_OK);
    EXPECT_EQ(v, 11);
    ASSERT_EQ(cache_ttl(c, "old", 3, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    ASSERT_EQ(set_str(c, "bad", "x1"), CACHE_OK);
    EXPECT_EQ(cache_incr(c, "bad", 3, 1, &v), CACHE_ENAN);
    EXPECT_EQ(get_str(c, "bad"), "x1");
    // Strict path on a new-TTL handle: "007" keeps its absence of TTL.
    ASSERT_EQ(set_str(c, "lead", "007", CACHE_TTL_NONE), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "lead", 4, 1, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 8);
    ASSERT_EQ(cache_ttl(c, "lead", 4, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisCounters, ConcurrentIncrementsOnAStrictValueAreNotLost)
{
    cache_t *c = prefixed(unique_prefix("ctrrace"), "pool_size=4");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "n", "000"), CACHE_OK);
    std::atomic<int> failures{0};
    std::mutex mu;
    std::string why;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; t++)
        ts.emplace_back([&] {
            for (int i = 0; i < 200; i++) {
                if (cache_incr(c, "n", 1, 1, nullptr) != CACHE_OK) {
                    failures++;
                    std::lock_guard<std::mutex> lock(mu);
                    why = cache_last_error();
                }
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(failures.load(), 0) << why;
    EXPECT_EQ(get_str(c, "n"), "800");
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

// ------------------------------------------------------------ tags

TEST(RedisTags, IndexesAreHiddenExpireWithEntriesAndGoWithClear)
{
    std::string p = unique_prefix("tags");
    cache_t *c = prefixed(p);
    cache_t *raw = raw_handle();
    RawRedis redis;
    ASSERT_NE(c, nullptr);
    cache_slice t[] = {{"users", 5}};
    ASSERT_EQ(cache_set_tagged(c, "u1", 2, "a", 1, 30000, t, 1), CACHE_OK) << cache_last_error();
    ASSERT_EQ(cache_set_tagged(c, "u2", 2, "b", 1, 90000, t, 1), CACHE_OK);
    ASSERT_EQ(cache_set_tagged(c, "u3", 2, "c", 1, 10000, t, 1), CACHE_OK);
    // The index is invisible to keys and delete_pattern...
    EXPECT_EQ(keys_of(c, "*"), (std::set<std::string>{"u1", "u2", "u3"}));
    std::string index = p + "|" + // the stored form of this prefix's keys
                        std::string("\xff"
                                    "unicache-tag\xff",
                                    14) +
                        "users";
    EXPECT_EQ(keys_of(raw, glob_escape(p) + "*").count(index), 0u);
    // ...lives as long as its longest-lived entry...
    long long ttl = redis.integer({"PTTL", index});
    EXPECT_GT(ttl, 80000);
    EXPECT_LE(ttl, 90000);
    // ...and is reserved: no call of the cache API reaches it.
    int rc;
    get_str(raw, index, &rc);
    EXPECT_EQ(rc, CACHE_EINVAL);
    EXPECT_EQ(cache_incr(raw, index.data(), index.size(), 1, nullptr), CACHE_EINVAL);
    // An entry without TTL makes the index permanent.
    ASSERT_EQ(cache_set_tagged(c, "u4", 2, "d", 1, CACHE_TTL_NONE, t, 1), CACHE_OK);
    EXPECT_EQ(redis.integer({"PTTL", index}), -1);
    // Re-tagging a key with a new value, or overwriting it, detaches the old
    // write: only entries still holding what was tagged are invalidated.
    ASSERT_EQ(set_str(c, "u1", "plain"), CACHE_OK);
    cache_slice other[] = {{"other", 5}};
    ASSERT_EQ(cache_set_tagged(c, "u2", 2, "B", 1, 0, other, 1), CACHE_OK);
    size_t deleted = 0;
    ASSERT_EQ(cache_delete_pattern(c, "u3", 2, &deleted), CACHE_OK);
    EXPECT_EQ(deleted, 1u);
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(c, t, 1, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 1u); // u4 only
    EXPECT_EQ(get_str(c, "u1"), "plain");
    EXPECT_EQ(get_str(c, "u2"), "B");
    EXPECT_EQ(exists(c, "u4"), CACHE_MISS);
    EXPECT_EQ(redis.integer({"EXISTS", index}), 0) << "invalidation drops the index";
    // clear removes the remaining index with the entries.
    std::string other_index = p + "|" +
                              std::string("\xff"
                                          "unicache-tag\xff",
                                          14) +
                              "other";
    EXPECT_EQ(redis.integer({"EXISTS", other_index}), 1);
    ASSERT_EQ(cache_clear(c), CACHE_OK);
    EXPECT_EQ(redis.integer({"EXISTS", other_index}), 0);
    EXPECT_EQ(exists(c, "u2"), CACHE_MISS);
    // Invalidating an unknown tag is a no-op.
    ASSERT_EQ(cache_invalidate_tags(c, t, 1, &n), CACHE_OK);
    EXPECT_EQ(n, 0u);
    cache_close(raw);
    cache_close(c);
}

TEST(RedisTags, TagIndexNamesAreReservedOnEveryCall)
{
    // A plain set of an index's name used to replace the index, so that
    // invalidate_tags then missed the tagged entry.
    std::string p = unique_prefix("reserved");
    cache_t *c = prefixed(p);
    ASSERT_NE(c, nullptr);
    cache_slice t[] = {{"users", 5}};
    ASSERT_EQ(cache_set_tagged(c, "u1", 2, "a", 1, 0, t, 1), CACHE_OK) << cache_last_error();
    std::string mark("\xff"
                     "unicache-tag\xff",
                     14);
    // Behind this handle's prefix, and anywhere inside a key.
    for (const std::string &k : {mark + "users", "x" + mark + "y", mark}) {
        SCOPED_TRACE(k);
        EXPECT_EQ(set_str(c, k, "overwritten"), CACHE_EINVAL);
        EXPECT_NE(std::string(cache_last_error()).find("reserve"), std::string::npos)
            << cache_last_error();
        EXPECT_EQ(cache_add(c, k.data(), k.size(), "v", 1, 0), CACHE_EINVAL);
        EXPECT_EQ(cache_delete(c, k.data(), k.size()), CACHE_EINVAL);
        EXPECT_EQ(cache_exists(c, k.data(), k.size()), CACHE_EINVAL);
        EXPECT_EQ(cache_incr(c, k.data(), k.size(), 1, nullptr), CACHE_EINVAL);
        EXPECT_EQ(cache_touch(c, k.data(), k.size(), 0), CACHE_EINVAL);
        int64_t ttl;
        EXPECT_EQ(cache_ttl(c, k.data(), k.size(), &ttl), CACHE_EINVAL);
        int rc;
        get_str(c, k, &rc);
        EXPECT_EQ(rc, CACHE_EINVAL);
        cache_slice key = {k.data(), k.size()}, value = {"v", 1};
        EXPECT_EQ(cache_set_many(c, &key, &value, 1, 0), CACHE_EINVAL);
        EXPECT_EQ(cache_delete_many(c, &key, 1, nullptr), CACHE_EINVAL);
        cache_buf b;
        int st;
        EXPECT_EQ(cache_get_many(c, &key, 1, &b, &st), CACHE_EINVAL);
        EXPECT_EQ(cache_set_tagged(c, k.data(), k.size(), "v", 1, 0, t, 1), CACHE_EINVAL);
    }
    // A prefix holding the mark reserves every key behind it.
    cache_t *odd = prefixed(p + mark);
    ASSERT_NE(odd, nullptr);
    EXPECT_EQ(set_str(odd, "k", "v"), CACHE_EINVAL);
    cache_close(odd);
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(c, t, 1, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 1u);
    EXPECT_EQ(exists(c, "u1"), CACHE_MISS);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisTypes, GetManyAnswersAsGetForAKeyOfAnotherType)
{
    std::string p = unique_prefix("types");
    cache_t *c = prefixed(p);
    ASSERT_NE(c, nullptr);
    RawRedis redis;
    ASSERT_EQ(redis.integer({"HSET", p + "|h", "f", "v"}), 1); // key "h" of prefix p
    ASSERT_EQ(redis.integer({"RPUSH", p + "|l", "v"}), 1);
    ASSERT_EQ(set_str(c, "s", "v"), CACHE_OK);
    for (const char *k : {"h", "l"}) {
        SCOPED_TRACE(k);
        int rc;
        get_str(c, k, &rc);
        EXPECT_EQ(rc, CACHE_ECORRUPT);
        std::string get_error = cache_last_error();
        cache_slice keys[] = {{"s", 1}, {"absent", 6}, {k, 1}};
        cache_buf values[3];
        int statuses[3];
        EXPECT_EQ(cache_get_many(c, keys, 3, values, statuses), CACHE_ECORRUPT);
        EXPECT_EQ(std::string(cache_last_error()), get_error);
        for (auto &v : values)
            EXPECT_EQ(v.data, nullptr);
    }
    // Misses alone, and hits, stay what they were.
    cache_slice keys[] = {{"s", 1}, {"absent", 6}};
    cache_buf values[2];
    int statuses[2];
    ASSERT_EQ(cache_get_many(c, keys, 2, values, statuses), CACHE_OK) << cache_last_error();
    EXPECT_EQ(statuses[0], CACHE_OK);
    EXPECT_EQ(statuses[1], CACHE_MISS);
    for (auto &v : values)
        cache_buf_free(&v);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisTags, ScriptCacheFlushedOnTheServerIsReloaded)
{
    cache_t *c = prefixed(unique_prefix("noscript"));
    ASSERT_NE(c, nullptr);
    cache_slice t[] = {{"t", 1}};
    ASSERT_EQ(cache_set_tagged(c, "k", 1, "v", 1, 0, t, 1), CACHE_OK) << cache_last_error();
    std::string cmd =
        "redis-cli -p " + std::to_string(shared_redis().port()) + " SCRIPT FLUSH > /dev/null";
    ASSERT_EQ(system(cmd.c_str()), 0);
    ASSERT_EQ(cache_set_tagged(c, "k2", 2, "v", 1, 0, t, 1), CACHE_OK) << cache_last_error();
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(c, t, 1, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 2u);
    cache_close(c);
}

// ------------------------------------------------------------ management

TEST(RedisManagement, InfoIsTheServersPlusThePool)
{
    cache_t *c = prefixed(unique_prefix("info"));
    ASSERT_NE(c, nullptr);
    std::string s = info(c);
    EXPECT_NE(s.find("redis_version:"), std::string::npos);
    EXPECT_NE(s.find("# Keyspace"), std::string::npos);
    EXPECT_NE(s.find("# Unicache\r\n"), std::string::npos);
    EXPECT_NE(s.find("pool_size:8\r\n"), std::string::npos);
    EXPECT_NE(s.find("connections_open:1\r\n"), std::string::npos) << s;
    EXPECT_EQ(cache_ping(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisManagement, SizeIsDbsizeWithoutPrefixAndNullWithOne)
{
    cache_t *c = prefixed(unique_prefix("size"));
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    std::string s = stats(c);
    EXPECT_NE(s.find("\"size\":null"), std::string::npos) << s;
    EXPECT_NE(s.find("\"memory_bytes\":null"), std::string::npos) << s;
    EXPECT_NE(s.find("\"backend\":\"redis\""), std::string::npos) << s;
    cache_t *raw = open_ok(redis_uri() + "/9");
    ASSERT_EQ(cache_clear(raw), CACHE_OK);
    ASSERT_EQ(set_str(raw, "a", "v"), CACHE_OK);
    ASSERT_EQ(set_str(raw, "b", "v"), CACHE_OK);
    s = stats(raw);
    EXPECT_NE(s.find("\"size\":2"), std::string::npos) << s;
    ASSERT_EQ(cache_clear(raw), CACHE_OK);
    EXPECT_NE(stats(raw).find("\"size\":0"), std::string::npos);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(raw);
    cache_close(c);
}

TEST(RedisManagement, ThreadsWaitForASmallPool)
{
    cache_t *c = prefixed(unique_prefix("pool"), "pool_size=2&timeout_ms=5000");
    ASSERT_NE(c, nullptr);
    std::atomic<int> failures{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; t++)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 200; i++) {
                std::string k = std::to_string(t) + ":" + std::to_string(i % 10);
                if (set_str(c, k, "v") != CACHE_OK || get_str(c, k) != "v")
                    failures++;
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(failures.load(), 0) << cache_last_error();
    EXPECT_NE(info(c).find("connections_open:2\r\n"), std::string::npos);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

TEST(RedisProcesses, AHandleUsedAcrossForkGivesEachProcessItsOwnConnections)
{
    // A pre-forking server opens the cache, then forks workers that use it
    // at the same time as the parent. Sharing a connection would hand one
    // process the other's replies.
    cache_t *c = prefixed(unique_prefix("fork"));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(wrong_answers_across_fork(c, "k"), 0);
    EXPECT_EQ(cache_clear(c), CACHE_OK);
    cache_close(c);
}

} // namespace unicache_test
