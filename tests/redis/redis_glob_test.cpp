// The SCAN MATCH translation, checked against redis-server's own matcher:
// where the translation claims to be exact, Redis must select exactly the
// keys GlobPattern::match selects; everywhere, at least those keys (the
// backend re-checks each one).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include <hiredis.h>

#include "backends/redis/redis_glob.h"
#include "core/glob.h"
#include "redis_server.h"

namespace unicache_test {

namespace {

using unicache::GlobPattern;
using unicache::redis_match;

const std::vector<std::string> &sample_keys()
{
    static const std::vector<std::string> keys = {"a",
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
                                                  "^^",
                                                  "!a",
                                                  "-a",
                                                  "caret^",
                                                  std::string("\0", 1),
                                                  std::string("\xff", 1),
                                                  std::string("a\0b", 3)};
    return keys;
}

class RedisGlob : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        ctx_ = redisConnect("127.0.0.1", shared_redis().port());
        ASSERT_TRUE(ctx_ && !ctx_->err);
        command({"SELECT", "7"});
        command({"FLUSHDB"}); // this test's own server and database
        for (const auto &k : sample_keys())
            command({"SET", k, "v"});
    }
    static void TearDownTestSuite() { redisFree(ctx_); }

    static void command(const std::vector<std::string> &args)
    {
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        for (const auto &a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        void *r = redisCommandArgv(ctx_, int(args.size()), argv.data(), lens.data());
        ASSERT_NE(r, nullptr);
        EXPECT_NE(static_cast<redisReply *>(r)->type, REDIS_REPLY_ERROR)
            << static_cast<redisReply *>(r)->str;
        freeReplyObject(r);
    }

    // What Redis itself selects with SCAN ... MATCH pattern.
    static std::set<std::string> redis_selects(const std::string &pattern)
    {
        std::set<std::string> out;
        std::string cursor = "0";
        do {
            const char *argv[] = {"SCAN", cursor.c_str(), "MATCH", pattern.data(), "COUNT", "1000"};
            size_t lens[] = {4, cursor.size(), 5, pattern.size(), 5, 4};
            auto *r = static_cast<redisReply *>(redisCommandArgv(ctx_, 6, argv, lens));
            EXPECT_TRUE(r && r->type == REDIS_REPLY_ARRAY);
            if (!r || r->type != REDIS_REPLY_ARRAY) {
                freeReplyObject(r);
                break;
            }
            cursor.assign(r->element[0]->str, r->element[0]->len);
            for (size_t i = 0; i < r->element[1]->elements; i++)
                out.insert(
                    std::string(r->element[1]->element[i]->str, r->element[1]->element[i]->len));
            freeReplyObject(r);
        } while (cursor != "0");
        return out;
    }

    static std::set<std::string> glob_selects(const GlobPattern &g)
    {
        std::set<std::string> out;
        for (const auto &k : sample_keys())
            if (g.match(k))
                out.insert(k);
        return out;
    }

    static redisContext *ctx_;
};

redisContext *RedisGlob::ctx_ = nullptr;

} // namespace

TEST_F(RedisGlob, RedisAloneDisagreesOnBangNegation)
{
    // The reason for the translation: "[!a]" is a set of two bytes to Redis.
    EXPECT_EQ(redis_selects("[!a]"), (std::set<std::string>{"!", "a"}));
    EXPECT_EQ(glob_selects(GlobPattern("[!a]")).count("a"), 0u);
    EXPECT_EQ(redis_match(GlobPattern("[!a]")).pattern, "[^a]");
    EXPECT_TRUE(redis_match(GlobPattern("[!a]")).exact);
}

TEST_F(RedisGlob, TranslationIsExactWhereItSaysSoAndASupersetElsewhere)
{
    const char *patterns[] = {
        "*",     "?",         "[!a]",   "[^a]",    "[ab]",  "[a-c]", "[c-a]",   "[]]",
        "[]a]",  "[!]]",      "[\\]]",  "[\\-]",   "[a-]",  "[-a]",  "[\\^]",   "[^^]",
        "[!^a]", "\\[a\\]",   "[[]a]",  "a\\*b",   "a?b",   "a*b",   "a[*]b",   "a[?]b",
        "\\\\",  "a\\\\b",    "[\\\\]", "[a-\\]]", "x]y",   "*^",    "[!a-z]*", "[A-Za-z]",
        "*[]]",  "[\\a-\\c]", "[!-]?",  "^*",      "[a-a]", "[\\!]", "!*",      "-*"};
    int exact = 0;
    for (const char *p : patterns) {
        GlobPattern g(p);
        unicache::RedisMatch m = redis_match(g);
        std::set<std::string> want = glob_selects(g);
        std::set<std::string> got = redis_selects(m.pattern);
        if (m.exact) {
            exact++;
            EXPECT_EQ(got, want) << p << " -> " << m.pattern;
        } else {
            for (const auto &k : want)
                EXPECT_EQ(got.count(k), 1u) << p << " -> " << m.pattern << " misses " << k;
        }
    }
    EXPECT_GE(exact, 35); // only reversed or escaped-end ranges are approximate
    // Binary bytes inside and outside classes.
    GlobPattern nul(std::string("a\0*", 3));
    EXPECT_EQ(redis_selects(redis_match(nul).pattern), glob_selects(nul));
    GlobPattern cls(std::string("[\0\xff]", 4));
    EXPECT_EQ(redis_selects(redis_match(cls).pattern), glob_selects(cls));
}

TEST(RedisGlobTranslation, EscapesEverySpecialByteInsideClasses)
{
    EXPECT_EQ(redis_match(GlobPattern("[]a]")).pattern, "[\\]a]");
    EXPECT_EQ(redis_match(GlobPattern("[\\-x]")).pattern, "[\\-x]");
    EXPECT_EQ(redis_match(GlobPattern("[\\^]")).pattern, "[\\^]");
    EXPECT_EQ(redis_match(GlobPattern("[a-z0-9]")).pattern, "[a-z0-9]");
    EXPECT_EQ(redis_match(GlobPattern("p\\*x*")).pattern, "p\\*x*");
    unicache::RedisMatch reversed = redis_match(GlobPattern("k[z-a]"));
    EXPECT_EQ(reversed.pattern, "k?");
    EXPECT_FALSE(reversed.exact);
}

} // namespace unicache_test
