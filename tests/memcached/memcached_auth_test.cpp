// memcached servers that require a login (issue 10, item 17): memcached -Y
// (an auth file, ascii authentication on the text protocol) and -S (SASL on
// the binary protocol). Without a login, or with a wrong one, every call is
// CACHE_EAUTH with a message that says what to do and never holds the
// password; with the right one the text protocol works, logs in again after
// the server restarts, and never sends the password to a server that needs
// no login.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "memcached_test_support.h"

namespace unicache_test {

namespace {

const char kUser[] = "alice";
const char kPassword[] = "S3cret-mc-7f2e";

std::string temp_file(const std::string &text)
{
    char path[] = "/tmp/unicache-mc-auth-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return "";
    close(fd);
    std::ofstream(path) << text;
    return path;
}

ServerProcess auth_file_server(const std::string &auth_file)
{
    return ServerProcess::memcached({"-Y", auth_file});
}

std::string uri_for(int port, const std::string &login, const std::string &query = "")
{
    return "memcached://" + (login.empty() ? "" : login + "@") +
           "127.0.0.1:" + std::to_string(port) + "?timeout_ms=2000&retry_timeout_s=0" +
           (query.empty() ? "" : "&" + query);
}

std::string get_str(cache_t *c, const std::string &k, int *rc)
{
    cache_buf b = {nullptr, 0};
    *rc = cache_get(c, k.data(), k.size(), &b);
    std::string v(b.data ? static_cast<const char *>(b.data) : "", b.size);
    cache_buf_free(&b);
    return v;
}

// Every kind of call, each returning its status.
std::vector<std::pair<const char *, std::function<int(cache_t *)>>> calls()
{
    return {
        {"set", [](cache_t *c) { return set_str(c, "k", "v"); }},
        {"get",
         [](cache_t *c) {
             int rc;
             get_str(c, "k", &rc);
             return rc;
         }},
        {"incr", [](cache_t *c) { return cache_incr(c, "n", 1, 0, nullptr); }},
        {"get_many",
         [](cache_t *c) {
             cache_slice keys[1] = {{"k", 1}};
             cache_buf values[1] = {{nullptr, 0}};
             int statuses[1] = {0};
             int rc = cache_get_many(c, keys, 1, values, statuses);
             cache_buf_free(&values[0]);
             return rc;
         }},
        {"clear", [](cache_t *c) { return cache_clear(c); }},
        {"ping", [](cache_t *c) { return cache_ping(c); }},
    };
}

void expect_refused(cache_t *c, const std::string &must_say)
{
    for (auto &call : calls()) {
        EXPECT_EQ(call.second(c), CACHE_EAUTH) << call.first << ": " << cache_last_error();
        std::string m = cache_last_error();
        EXPECT_NE(m.find(must_say), std::string::npos) << call.first << ": " << m;
        EXPECT_EQ(m.find(kPassword), std::string::npos) << call.first << ": " << m;
    }
}

std::string auth_file()
{
    static std::string path = temp_file(std::string(kUser) + ":" + kPassword + "\n");
    return path;
}

} // namespace

TEST(MemcachedAuth, AServerThatRequiresALoginIsAnAuthErrorWithoutOne)
{
    ServerProcess s = auth_file_server(auth_file());
    s.start();
    for (const char *query : {"", "fast_get=false"}) {
        SCOPED_TRACE(query);
        cache_t *c = open_uri(uri_for(s.port(), "", query));
        ASSERT_NE(c, nullptr);
        expect_refused(c, "requires a login");
        expect_refused(c, "memcached://user:password@host");
        cache_close(c);
    }
}

TEST(MemcachedAuth, AWrongPasswordIsAnAuthErrorThatNamesTheUserNotThePassword)
{
    ServerProcess s = auth_file_server(auth_file());
    s.start();
    cache_t *c = open_uri(uri_for(s.port(), std::string(kUser) + ":not-" + kPassword));
    ASSERT_NE(c, nullptr);
    expect_refused(c, "user 'alice'");
    std::string m = cache_last_error();
    EXPECT_EQ(m.find("not-"), std::string::npos) << m;
    cache_close(c);
}

TEST(MemcachedAuth, TheRightLoginWorksAndLogsInAgainAfterARestart)
{
    ServerProcess s = auth_file_server(auth_file());
    s.start();
    cache_t *c = open_uri(uri_for(s.port(), std::string(kUser) + ":" + kPassword, "pool_size=2"));
    ASSERT_NE(c, nullptr);
    for (auto &call : calls())
        EXPECT_EQ(call.second(c), CACHE_OK) << call.first << ": " << cache_last_error();
    ASSERT_EQ(set_str(c, "k", "v1"), CACHE_OK) << cache_last_error();
    int rc = 0;
    EXPECT_EQ(get_str(c, "k", &rc), "v1");
    int64_t n = 0;
    ASSERT_EQ(cache_incr(c, "n", 1, 5, &n), CACHE_OK) << cache_last_error();
    EXPECT_EQ(n, 5); // the clear above ended the counter the calls made
    cache_slice tag = {"t", 1};
    ASSERT_EQ(cache_set_tagged(c, "tk", 2, "x", 1, CACHE_TTL_NONE, &tag, 1), CACHE_OK)
        << cache_last_error();
    size_t dropped = 0;
    ASSERT_EQ(cache_invalidate_tags(c, &tag, 1, &dropped), CACHE_OK) << cache_last_error();
    EXPECT_EQ(cache_exists(c, "tk", 2), CACHE_MISS);

    // The connections are gone with the server: the new ones log in again.
    s.stop();
    s.start();
    ASSERT_EQ(until_ok(5000, [&] { return set_str(c, "k", "v2"); }), CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(get_str(c, "k", &rc), "v2");
    EXPECT_EQ(rc, CACHE_OK) << cache_last_error();

    // The password shows nowhere.
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_backend_info(c, &b), CACHE_OK) << cache_last_error();
    std::string info(static_cast<const char *>(b.data), b.size);
    cache_buf_free(&b);
    EXPECT_EQ(info.find(kPassword), std::string::npos);
    ASSERT_EQ(cache_stats_json(c, &b), CACHE_OK);
    std::string stats(static_cast<const char *>(b.data), b.size);
    cache_buf_free(&b);
    EXPECT_EQ(stats.find(kPassword), std::string::npos) << stats;
    cache_close(c);
}

TEST(MemcachedAuth, AServerThatNeedsNoLoginIsNeverSentThePassword)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_uri(uri_for(s.port(), std::string(kUser) + ":" + kPassword));
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << cache_last_error();
    int rc = 0;
    EXPECT_EQ(get_str(c, "k", &rc), "v");
    // The entry and its prefix's generation counter (an add and a set),
    // and no login.
    Bare bare(s);
    EXPECT_EQ(bare.stat("curr_items"), 2u);
    EXPECT_EQ(bare.stat("cmd_set"), 2u);
    cache_close(c);
}

TEST(MemcachedAuth, SaslOnTheBinaryProtocolRefusedIsAnAuthError)
{
    // memcached -S with a SASL configuration that accepts nobody (this
    // machine has no SASL password database): the binary protocol's
    // refusal, without a login and with one.
    std::string dir = temp_file("");
    unlink(dir.c_str());
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    std::ofstream(dir + "/memcached.conf") << "mech_list: plain\n";
    setenv("SASL_CONF_PATH", dir.c_str(), 1);
    ServerProcess s = ServerProcess::memcached({"-S"});
    s.start();
    unsetenv("SASL_CONF_PATH");
    for (const std::string &login : {std::string(), std::string(kUser) + ":" + kPassword}) {
        SCOPED_TRACE(login.empty() ? "no login" : "a login");
        cache_t *c = open_uri(uri_for(s.port(), login, "binary=true"));
        ASSERT_NE(c, nullptr);
        for (auto &call : calls()) {
            int got = call.second(c);
            EXPECT_EQ(got, CACHE_EAUTH) << call.first << ": " << cache_last_error();
            std::string m = cache_last_error();
            EXPECT_EQ(m.find(kPassword), std::string::npos) << m;
        }
        cache_close(c);
    }
    std::string cmd = "rm -rf '" + dir + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
}

int compute_v(void *, const void *, size_t, cache_buf *value, cache_int64 *)
{
    if (cache_buf_alloc(value, 1) != CACHE_OK)
        return CACHE_ENOMEM;
    static_cast<char *>(value->data)[0] = 'v';
    return CACHE_OK;
}

// The lease calls (memcached's meta commands, over sockets of their own).
std::vector<std::pair<const char *, std::function<int(cache_t *)>>> lease_calls()
{
    return {
        {"cache_fetch",
         [](cache_t *c) {
             cache_buf b = {nullptr, 0};
             int rc = cache_fetch(c, "f", 1, compute_v, nullptr, 60000, &b);
             cache_buf_free(&b);
             return rc;
         }},
        {"cache_lease_get",
         [](cache_t *c) {
             cache_lease l = CACHE_LEASE_INIT;
             cache_buf b = {nullptr, 0};
             int rc = cache_lease_get(c, "l", 1, CACHE_LEASE_NOWAIT, &b, &l);
             cache_buf_free(&b);
             if (cache_lease_held(&l))
                 rc = cache_lease_set(c, "l", 1, &l, "x", 1, 60000);
             return rc == CACHE_MISS ? CACHE_OK : rc;
         }},
    };
}

TEST(MemcachedAuth, LeaseSocketsLogInLikeTheOthers)
{
    ServerProcess s = auth_file_server(auth_file());
    s.start();
    struct Case {
        std::string login, must_say;
    } refusals[] = {{"", "requires a login"},
                    {std::string(kUser) + ":not-" + kPassword, "user 'alice'"}};
    for (const Case &k : refusals) {
        SCOPED_TRACE(k.must_say);
        cache_t *c = open_uri(uri_for(s.port(), k.login));
        ASSERT_NE(c, nullptr);
        for (auto &call : lease_calls()) {
            EXPECT_EQ(call.second(c), CACHE_EAUTH) << call.first << ": " << cache_last_error();
            std::string m = cache_last_error();
            EXPECT_NE(m.find(k.must_say), std::string::npos) << call.first << ": " << m;
            EXPECT_EQ(m.find(kPassword), std::string::npos) << call.first << ": " << m;
        }
        cache_close(c);
    }
    cache_t *c = open_uri(uri_for(s.port(), std::string(kUser) + ":" + kPassword, "pool_size=2"));
    ASSERT_NE(c, nullptr);
    for (auto &call : lease_calls())
        EXPECT_EQ(call.second(c), CACHE_OK) << call.first << ": " << cache_last_error();
    int rc = 0;
    EXPECT_EQ(get_str(c, "f", &rc), "v");
    EXPECT_EQ(get_str(c, "l", &rc), "x");
    // A stale copy and a delete during the compute, all through logged-in sockets.
    cache_fetch_options o = CACHE_FETCH_OPTIONS_INIT;
    o.stale_ttl_ms = 60000;
    cache_lease l = CACHE_LEASE_INIT;
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_lease_get(c, "d", 1, 0, &b, &l), CACHE_MISS) << cache_last_error();
    ASSERT_EQ(cache_delete(c, "d", 1), CACHE_MISS);
    EXPECT_EQ(cache_lease_set_ext(c, "d", 1, &l, "old", 3, 60000, &o), CACHE_ELEASE);
    // After a restart the new lease sockets log in again.
    s.stop();
    s.start();
    ASSERT_EQ(until_ok(5000, [&] { return lease_calls()[0].second(c); }), CACHE_OK)
        << cache_last_error();
    EXPECT_EQ(get_str(c, "f", &rc), "v");
    EXPECT_EQ(rc, CACHE_OK) << cache_last_error();
    cache_close(c);
}

TEST(MemcachedAuth, LeaseSocketsNeverSendThePasswordToAServerThatNeedsNoLogin)
{
    // The same calls with and without a login, each on a server of its
    // own: the same number of sets, so no login was sent.
    uint64_t sets[2] = {0, 0};
    for (int with_login = 0; with_login < 2; with_login++) {
        ServerProcess s = ServerProcess::memcached();
        s.start();
        std::string login = with_login ? std::string(kUser) + ":" + kPassword : "";
        cache_t *c = open_uri(uri_for(s.port(), login));
        ASSERT_NE(c, nullptr);
        for (auto &call : lease_calls())
            EXPECT_EQ(call.second(c), CACHE_OK) << call.first << ": " << cache_last_error();
        cache_close(c);
        sets[with_login] = Bare(s).stat("cmd_set");
    }
    EXPECT_GT(sets[0], 0u);
    EXPECT_EQ(sets[1], sets[0]);
}

TEST(MemcachedAuth, ALoginNeedsBothPartsAndNoFastGet)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open("memcached://alice@127.0.0.1:1", &c), CACHE_EINVAL);
    EXPECT_NE(std::string(cache_last_error()).find("user name and a password"), std::string::npos)
        << cache_last_error();
    EXPECT_EQ(cache_open("memcached://:pw-only@127.0.0.1:1", &c), CACHE_EINVAL);
    EXPECT_EQ(std::string(cache_last_error()).find("pw-only"), std::string::npos)
        << cache_last_error();
    std::string uri =
        std::string("memcached://") + kUser + ":" + kPassword + "@127.0.0.1:1?fast_get=true";
    EXPECT_EQ(cache_open(uri.c_str(), &c), CACHE_EINVAL);
    std::string m = cache_last_error();
    EXPECT_NE(m.find("fast_get"), std::string::npos) << m;
    EXPECT_EQ(m.find(kPassword), std::string::npos) << m;
    EXPECT_EQ(c, nullptr);
}

} // namespace unicache_test
