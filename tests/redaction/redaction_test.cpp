// Every place a URI is shown (the stats JSON "uri", cache_backend_info,
// cache_last_error) hides the password, however the URI spells it: a
// percent-encoded parameter name (pass%77ord, %70assword) is the password
// to the server, so it must be to the redaction too. The opens that must
// succeed prove the server really took the password.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/server_process.h"
#include "unicache.h"

using unicache_test::ServerProcess;

namespace {

const char kSecret[] = "S3cret-91fe";

ServerProcess &redis_with_password()
{
    static ServerProcess server = ServerProcess::redis({"--requirepass", kSecret});
    server.start();
    return server;
}

ServerProcess &memcached_server()
{
    static ServerProcess server = ServerProcess::memcached();
    server.start();
    return server;
}

std::string hostport(const ServerProcess &s)
{
    return "127.0.0.1:" + std::to_string(s.port());
}

// The password's text in any form a leak could take (as given, or with
// the first characters cut by a message that quotes part of it).
void expect_hidden(const std::string &text, const std::string &where)
{
    EXPECT_EQ(text.find(kSecret), std::string::npos) << where << ": " << text;
    EXPECT_EQ(text.find("S3cret"), std::string::npos) << where << ": " << text;
    EXPECT_EQ(text.find("91fe"), std::string::npos) << where << ": " << text;
    EXPECT_EQ(text.find("ret-"), std::string::npos) << where << ": " << text;
    EXPECT_EQ(text.find("S3c"), std::string::npos) << where << ": " << text;
}

std::string take(cache_buf *b)
{
    std::string s(static_cast<const char *>(b->data), b->size);
    cache_buf_free(b);
    return s;
}

// The spellings of "password=kSecret" in a Redis URI query.
std::vector<std::string> password_params()
{
    return {std::string("pass%77ord=") + kSecret, std::string("%70assword=") + kSecret,
            std::string("%70%61%73%73%77%6F%72%64=") + kSecret, std::string("password=") + kSecret};
}

} // namespace

TEST(Redaction, RedisPasswordsInEveryFormStayOutOfStatsAndInfo)
{
    const std::string base = "redis://" + hostport(redis_with_password()) + "/0";
    std::vector<std::string> uris;
    for (const auto &p : password_params()) {
        uris.push_back(base + "?" + p);
        uris.push_back(base + "?timeout_ms=2000&" + p + "&pool_size=2");
        uris.push_back(R"({"uri":")" + base + "?" + p + R"("})");
    }
    uris.push_back("redis://:" + std::string(kSecret) + "@" + hostport(redis_with_password()));
    uris.push_back(R"({"backend":"redis","port":)" + std::to_string(redis_with_password().port()) +
                   R"(,"password":")" + kSecret + R"("})");
    for (const auto &uri : uris) {
        SCOPED_TRACE(uri);
        cache_t *c = nullptr;
        ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
        cache_buf b = {nullptr, 0};
        ASSERT_EQ(cache_stats_json(c, &b), CACHE_OK);
        std::string stats = take(&b);
        expect_hidden(stats, "stats");
        EXPECT_NE(stats.find("***"), std::string::npos) << stats;
        ASSERT_EQ(cache_backend_info(c, &b), CACHE_OK);
        std::string info = take(&b);
        expect_hidden(info, "info");
        EXPECT_NE(info.find("uri:redis://"), std::string::npos);
        cache_close(c);
    }
}

TEST(Redaction, ErrorsAboutAUriHideEveryCredential)
{
    const std::string redis = "redis://" + hostport(redis_with_password()) + "/0";
    const std::string mc = "memcached://" + hostport(memcached_server());
    const std::string s = kSecret;
    std::vector<std::string> bad;
    for (const auto &p : password_params()) {
        bad.push_back(redis + "?" + p + "&=x"); // malformed parameter
        bad.push_back(redis + "?=x&" + p);
        bad.push_back(redis + "?" + p + "&bogus=1"); // unknown parameter
        bad.push_back(redis + "?" + p + "&timeout_ms=soon");
        bad.push_back(redis + "?" + p + "&%zz=1"); // malformed escape
        bad.push_back(R"({"uri":")" + redis + "?" + p + R"(&=x"})");
        bad.push_back(mc + "?" + p);
        bad.push_back(mc + "," + hostport(memcached_server()) + "?" + p);     // host listed twice
        bad.push_back("redis:/" + hostport(redis_with_password()) + "?" + p); // no "://"
        bad.push_back("redis://:" + s + "@" + hostport(redis_with_password()) + "/0?" + p);
    }
    bad.push_back("redis://:" + s + "@" + hostport(redis_with_password()) + "/0?=x");
    bad.push_back("redis://:%zz" + s + "@" + hostport(redis_with_password()));
    bad.push_back("redis://" + s + "@" + hostport(redis_with_password()) + "/0"); // lone userinfo
    // A password with a raw '?' or '#' (unencoded) is still a password.
    bad.push_back("redis://:S3c?ret-91fe@" + hostport(redis_with_password()) + "/0");
    bad.push_back("redis://:S3c#ret-91fe@" + hostport(redis_with_password()) + "/0");
    bad.push_back("redis://u:S3c?ret-91fe@" + hostport(redis_with_password()) + "?=x");
    bad.push_back("redis://user:" + s + "@" + hostport(redis_with_password()) + "/nodb");
    bad.push_back(mc + "?token=" + s + "&x=1");
    bad.push_back(mc + "?auth=" + s);
    // A memcached login is valid (memcached -Y, SASL); with a bad parameter
    // beside it the open fails, and the error must still hide it.
    bad.push_back("memcached://user:" + s + "@" + hostport(memcached_server()) + "?bogus=1");
    bad.push_back("memcached://" + s + "@" + hostport(memcached_server()));
    bad.push_back(R"({"backend":"memcached","host":")" + hostport(memcached_server()) +
                  R"(","user":"u","password":")" + s + R"(","bogus":1})");
    bad.push_back("memory://?pass%77ord=" + s);
    bad.push_back("memory://:" + s + "@/");
    bad.push_back("sqlite://:" + s + "@/tmp/x.db");
    for (const auto &uri : bad) {
        SCOPED_TRACE(uri);
        cache_t *c = nullptr;
        int rc = cache_open(uri.c_str(), &c);
        std::string msg = cache_last_error();
        EXPECT_EQ(rc, CACHE_EINVAL) << msg;
        EXPECT_EQ(c, nullptr);
        EXPECT_FALSE(msg.empty());
        expect_hidden(msg, "cache_last_error");
        if (c)
            cache_close(c);
    }
}
