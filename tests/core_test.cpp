// Unit tests of core pieces that every backend relies on.
#include <gtest/gtest.h>

#include "core/config.h"
#include "core/counter_text.h"
#include "core/error.h"
#include "core/glob.h"

using unicache::Config;
using unicache::GlobPattern;

TEST(Glob, Semantics)
{
    EXPECT_TRUE(GlobPattern("a*c").match("abbbc"));
    EXPECT_TRUE(GlobPattern("a*c").match("ac"));
    EXPECT_FALSE(GlobPattern("a*c").match("acb"));
    EXPECT_TRUE(GlobPattern("a?c").match("abc"));
    EXPECT_FALSE(GlobPattern("a?c").match("ac"));
    EXPECT_TRUE(GlobPattern("[abc]x").match("bx"));
    EXPECT_FALSE(GlobPattern("[abc]x").match("dx"));
    EXPECT_TRUE(GlobPattern("[a-c]").match("b"));
    EXPECT_TRUE(GlobPattern("[!a-c]").match("d"));
    EXPECT_TRUE(GlobPattern("[^a-c]").match("d"));
    EXPECT_FALSE(GlobPattern("[^a-c]").match("a"));
    EXPECT_TRUE(GlobPattern("\\*").match("*"));
    EXPECT_FALSE(GlobPattern("\\*").match("x"));
    EXPECT_TRUE(GlobPattern("[]]").match("]"));
    EXPECT_TRUE(GlobPattern("[\\]]").match("]"));
    EXPECT_TRUE(GlobPattern(std::string("a\0*", 3)).match(std::string("a\0zz", 4)));
    EXPECT_TRUE(GlobPattern("*").match(""));
    EXPECT_TRUE(GlobPattern("**a**b").match("xxaxxb"));
    // Pathological patterns stay linear-ish, never exponential.
    std::string text(5000, 'a');
    EXPECT_FALSE(GlobPattern("*a*a*a*a*a*a*a*a*b").match(text));
    EXPECT_THROW(GlobPattern("abc\\"), unicache::Error);
    EXPECT_THROW(GlobPattern("[abc"), unicache::Error);
}

TEST(Glob, EscapeAndPrefix)
{
    std::string lit = "a*b?[c]\\";
    EXPECT_TRUE(GlobPattern(GlobPattern::escape(lit)).match(lit));
    EXPECT_FALSE(GlobPattern(GlobPattern::escape(lit)).match("a*b?c\\"));
    GlobPattern p(GlobPattern::escape("pre*") + "x*");
    EXPECT_EQ(p.literal_prefix(), "pre*x");
    EXPECT_TRUE(p.is_prefix_only());
    EXPECT_FALSE(GlobPattern("a?*").is_prefix_only());
}

TEST(Config, ParsesHostsUserinfoAndParams)
{
    Config c = Config::parse("redis://al%40ice:p%3Ass@h1:6380,[::1]:7000/3?timeout_ms=50&x=a+b");
    EXPECT_EQ(c.scheme, "redis");
    EXPECT_EQ(c.user, "al@ice");
    EXPECT_EQ(c.password, "p:ss");
    ASSERT_EQ(c.hosts.size(), 2u);
    EXPECT_EQ(c.hosts[0].host, "h1");
    EXPECT_EQ(c.hosts[0].port, 6380);
    EXPECT_EQ(c.hosts[1].host, "::1");
    EXPECT_EQ(c.path, "/3");
    EXPECT_EQ(c.params.take_int("timeout_ms", 0, 0, 100), 50);
    EXPECT_EQ(c.params.take_string("x", ""), "a b");
    EXPECT_EQ(c.display.find("p%3Ass"), std::string::npos);
    EXPECT_NE(c.display.find("***"), std::string::npos);
    c.params.finish("redis");
}

TEST(Config, SqlitePathsAndJson)
{
    EXPECT_EQ(Config::parse("sqlite:///var/x.db").location, "/var/x.db");
    EXPECT_EQ(Config::parse("sqlite://rel/x.db").location, "rel/x.db");
    Config j = Config::parse(R"({"backend":"redis","host":"h","port":7,"password":"pw","db":2})");
    EXPECT_EQ(j.scheme, "redis");
    ASSERT_EQ(j.hosts.size(), 1u);
    EXPECT_EQ(j.hosts[0].port, 7);
    EXPECT_EQ(j.password, "pw");
    EXPECT_EQ(j.params.take_int("db", 0, 0, 15), 2);
    EXPECT_EQ(j.display, "redis://:***@h:7");
}

TEST(Config, UnknownParameterListsValidOnes)
{
    Config c = Config::parse("memory://?size=5");
    c.params.take_int("max_items", 0, 0, 10);
    try {
        c.params.finish("memory");
        FAIL();
    } catch (const unicache::Error &e) {
        EXPECT_EQ(e.status(), CACHE_EINVAL);
        EXPECT_NE(std::string(e.what()).find("'size'"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("max_items"), std::string::npos);
    }
}

TEST(Counter, ParseFormat)
{
    char buf[24];
    EXPECT_EQ(std::string(buf, unicache::format_counter(INT64_MIN, buf)), "-9223372036854775808");
    EXPECT_EQ(unicache::parse_counter("-9223372036854775808"), INT64_MIN);
    EXPECT_THROW(unicache::parse_counter("9223372036854775808"), unicache::Error);
    EXPECT_THROW(unicache::parse_counter("-"), unicache::Error);
    EXPECT_THROW(unicache::parse_counter("+1"), unicache::Error);
}
