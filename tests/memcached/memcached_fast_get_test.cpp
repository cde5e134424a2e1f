// The single-key read path over our own sockets (text_get_socket.h): every
// answer equals the libmemcached path's (fast_get=false) on the same
// server; failures of every kind fall back to libmemcached or time out
// once; spinning engages on a fast server and never on a slow one. Real
// memcached processes on loopback ports; FaultProxy (below) stands between
// a cache and a real server to delay its traffic or to spoil the replies
// on the fast path's own connection.
#include <gtest/gtest.h>
#include <libmemcached/memcached.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "backends/memcached/memcached_backend.h"
#include "memcached_test_support.h"

namespace unicache_test {

namespace {

cache_t *open_fg(const std::string &uri)
{
    return open_uri(uri, "fg:");
}

// One cache_get: its status, value and message, as one comparable string.
std::string answer(cache_t *c, const std::string &k)
{
    cache_buf b = {nullptr, 0};
    int rc = cache_get(c, k.data(), k.size(), &b);
    std::string out = std::to_string(rc) + ":";
    if (rc == CACHE_OK)
        out.append(static_cast<char *>(b.data), b.size);
    else if (rc != CACHE_MISS)
        out += cache_last_error();
    EXPECT_EQ(b.data != nullptr, rc == CACHE_OK);
    cache_buf_free(&b);
    return out;
}

std::string info(cache_t *c)
{
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_backend_info(c, &b), CACHE_OK) << cache_last_error();
    std::string text(static_cast<char *>(b.data), b.size);
    cache_buf_free(&b);
    return text;
}

// One figure of the "fast_get: served=.. spun=.. fell_back=.. timed_out=.."
// line of cache_backend_info (-1 if there is none).
int64_t fast_count(cache_t *c, const std::string &name)
{
    std::string text = info(c);
    size_t line = text.find("fast_get: ");
    if (line == std::string::npos)
        return -1;
    size_t at = text.find(" " + name + "=", line);
    if (at == std::string::npos || at > text.find('\n', line))
        return -1;
    return std::stoll(text.substr(at + name.size() + 2));
}

// Keys of every kind the backend names: verbatim, digest-named (spaces,
// CR LF, NUL, high bytes, over 250 bytes), and the 250/251 boundary.
std::vector<std::string> all_kinds_of_keys()
{
    return {"plain",
            "with space",
            "line\r\nbreak",
            std::string("nul\0byte", 8),
            "\x7f\x80\xff",
            std::string(300, 'L'),
            std::string(250 - 4, 'v'), // with "fg:|": 250 bytes, its own name
            std::string(251 - 4, 'v'), // 251: digest-named
            "!looks-hashed",
            "~g0|"};
}

// A TCP relay from a local port to a real memcached. `delay_us` holds back
// every request; `spoil` replaces the replies on connections accepted after
// the first (the cache's libmemcached handle connects first, its fast-get
// socket second) with a canned text.
class FaultProxy {
public:
    FaultProxy(int upstream, int delay_us, std::string spoil = "")
        : upstream_(upstream), delay_us_(delay_us), spoil_(std::move(spoil))
    {
        listen_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int one = 1;
        setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        bind(listen_, reinterpret_cast<sockaddr *>(&a), sizeof a);
        socklen_t len = sizeof a;
        getsockname(listen_, reinterpret_cast<sockaddr *>(&a), &len);
        port_ = ntohs(a.sin_port);
        listen(listen_, 16);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FaultProxy()
    {
        stopping_ = true;
        shutdown(listen_, SHUT_RDWR);
        acceptor_.join(); // no new relays after this
        {
            std::lock_guard<std::mutex> g(mu_);
            for (int fd : fds_)
                shutdown(fd, SHUT_RDWR);
        }
        for (auto &t : threads_)
            t.join();
        for (int fd : fds_)
            close(fd);
        close(listen_);
    }
    int port() const { return port_; }

private:
    void accept_loop()
    {
        for (int n = 0;; n++) {
            int client = accept(listen_, nullptr, nullptr);
            if (client < 0 || stopping_)
                return;
            int server = socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(uint16_t(upstream_));
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            connect(server, reinterpret_cast<sockaddr *>(&a), sizeof a);
            int one = 1;
            setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            std::lock_guard<std::mutex> g(mu_);
            fds_.push_back(client);
            fds_.push_back(server);
            bool spoiled = n > 0 && !spoil_.empty();
            threads_.emplace_back([this, client, server, spoiled] {
                relay(client, server, spoiled ? client : -1, delay_us_);
            });
            threads_.emplace_back([this, client, server] { relay(server, client, -1, 0); });
        }
    }
    // Copies from -> to; with `answer` set, answers each read with spoil_
    // instead (an empty spoil_ never gets here; "EOF" closes instead).
    void relay(int from, int to, int answer, int delay_us)
    {
        char buf[65536];
        for (;;) {
            ssize_t n = recv(from, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            if (delay_us)
                std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
            if (answer >= 0) {
                if (spoil_ == "EOF")
                    break;
                send(answer, spoil_.data(), spoil_.size(), MSG_NOSIGNAL);
                continue;
            }
            if (send(to, buf, size_t(n), MSG_NOSIGNAL) != n)
                break;
        }
        shutdown(to, SHUT_WR);
        shutdown(from, SHUT_RD);
        if (answer >= 0)
            shutdown(answer, SHUT_RDWR);
    }

    int upstream_, delay_us_;
    std::string spoil_;
    int listen_ = -1, port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<int> fds_;
    std::vector<std::thread> threads_;
};

} // namespace

TEST(MemcachedFastGet, EveryAnswerEqualsTheLibmemcachedPath)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    std::string uri = "memcached://" + addr(s);
    cache_t *fast = open_fg(uri);
    cache_t *old = open_fg(uri + "?fast_get=false");
    ASSERT_NE(fast, nullptr);
    ASSERT_NE(old, nullptr);
    std::vector<std::string> keys = all_kinds_of_keys();
    std::vector<std::string> values;
    for (size_t i = 0; i < keys.size(); i++) {
        // Empty, binary, a 16 KiB + 1 value (just over the socket's buffer).
        std::string v = i == 0   ? ""
                        : i == 1 ? std::string("\0\r\nEND\r\n", 8)
                        : i == 2 ? std::string(16 * 1024 + 1, 'x')
                                 : "value " + std::to_string(i);
        values.push_back(v);
        ASSERT_EQ(set_str(i % 2 ? fast : old, keys[i], v), CACHE_OK) << cache_last_error();
    }
    cache_slice tag = {"t", 1};
    ASSERT_EQ(cache_set_tagged(fast, "tagged", 6, "tv", 2, 0, &tag, 1), CACHE_OK);
    ASSERT_EQ(cache_set_tagged(fast, "invalidated", 11, "iv", 2, 0, &tag, 1), CACHE_OK);
    cache_slice tag2 = {"u", 1};
    ASSERT_EQ(cache_set_tagged(fast, "other tag", 9, "ov", 2, 0, &tag2, 1), CACHE_OK);
    ASSERT_EQ(set_str(fast, "expiring", "e", 1100), CACHE_OK);
    std::vector<std::string> all = keys;
    for (const char *k : {"tagged", "invalidated", "other tag", "expiring", "never written"})
        all.push_back(k);

    auto compare = [&](const char *when, bool stored) {
        for (size_t i = 0; i < all.size(); i++) {
            std::string a = answer(fast, all[i]);
            EXPECT_EQ(a, answer(old, all[i])) << when << ", key " << i;
            EXPECT_EQ(cache_exists(fast, all[i].data(), all[i].size()),
                      cache_exists(old, all[i].data(), all[i].size()))
                << when << ", key " << i;
            if (stored && i < values.size()) {
                EXPECT_EQ(a, "0:" + values[i]) << when << ", key " << i;
            }
        }
    };
    compare("stored", true);
    EXPECT_EQ(answer(fast, "tagged"), "0:tv");
    EXPECT_EQ(answer(fast, "expiring"), "0:e");
    EXPECT_EQ(answer(fast, "never written"), "1:");

    ASSERT_EQ(cache_invalidate_tags(old, &tag, 1, nullptr), CACHE_OK);
    sleep_ms(1200);
    compare("after an invalidation and an expiry", true);
    EXPECT_EQ(answer(fast, "invalidated"), "1:");
    EXPECT_EQ(answer(fast, "expiring"), "1:");
    EXPECT_EQ(answer(fast, "other tag"), "0:ov");

    // An item another program wrote under one of our names: the same
    // error, the same words.
    ASSERT_EQ(memcached_set(Bare(s).mc, "fg:|plain", 9, "theirs", 6, 0, 0), MEMCACHED_SUCCESS);
    std::string corrupt = answer(fast, "plain");
    EXPECT_EQ(corrupt.substr(0, 3), std::to_string(CACHE_ECORRUPT) + ":");
    EXPECT_EQ(corrupt, answer(old, "plain"));

    ASSERT_EQ(cache_clear(old), CACHE_OK);
    compare("after a clear", false);
    EXPECT_EQ(answer(fast, keys[1]), "1:");

    // The fast handle answered all of it itself; the other has no such path.
    EXPECT_GT(fast_count(fast, "served"), int64_t(3 * all.size()));
    EXPECT_EQ(fast_count(fast, "fell_back"), 0);
    EXPECT_EQ(fast_count(fast, "timed_out"), 0);
    EXPECT_EQ(fast_count(old, "served"), -1);
    EXPECT_NE(info(old).find("fast_get=false"), std::string::npos);
    cache_close(fast);
    cache_close(old);
}

TEST(MemcachedFastGet, MegabyteValuesArriveWhole)
{
    ServerProcess s = ServerProcess::memcached({"-I", "2m"});
    s.start();
    std::string uri = "memcached://" + addr(s);
    cache_t *fast = open_fg(uri);
    cache_t *old = open_fg(uri + "?fast_get=false");
    std::string big(1 << 20, '\0');
    for (size_t i = 0; i < big.size(); i++)
        big[i] = char((i * 2654435761u) >> 13); // no repeating pattern to hide a lost chunk
    std::string bigger = big + big.substr(0, 1 << 19);
    ASSERT_EQ(set_str(fast, "1m", big), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(fast, "1.5m with space", bigger), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(fast, "small", "s"), CACHE_OK);
    for (int round = 0; round < 3; round++) {
        EXPECT_TRUE(answer(fast, "1m") == "0:" + big) << round;
        EXPECT_TRUE(answer(fast, "1.5m with space") == "0:" + bigger) << round;
        EXPECT_EQ(answer(fast, "small"), "0:s"); // after a large one: buffer given back
        EXPECT_TRUE(answer(old, "1m") == "0:" + big) << round;
    }
    EXPECT_EQ(fast_count(fast, "served"), 9);
    EXPECT_EQ(fast_count(fast, "fell_back"), 0);
    cache_close(fast);
    cache_close(old);
}

TEST(MemcachedFastGet, AKilledServerFailsAsBeforeAndTheSameHandleRecovers)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_fg("memcached://" + addr(s) + "?timeout_ms=300&retry_timeout_s=1");
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << cache_last_error();
    int errors = 0;
    for (int i = 0; i < 40; i++) {
        if (i == 10)
            s.kill_hard();
        auto t0 = Clock::now();
        cache_buf b = {nullptr, 0};
        int rc = cache_get(c, "k", 1, &b);
        cache_buf_free(&b);
        EXPECT_LT(ms_since(t0), 300 * 2 + 200) << i;
        if (i < 10) {
            EXPECT_EQ(rc, CACHE_OK) << i << ": " << cache_last_error();
            continue;
        }
        EXPECT_TRUE(rc == CACHE_EUNAVAILABLE || rc == CACHE_ETIMEOUT) << i << ": " << rc;
        EXPECT_NE(std::string(cache_last_error()).find(addr(s)), std::string::npos)
            << cache_last_error();
        errors++;
    }
    EXPECT_EQ(errors, 30);
    s.start(); // same port, empty
    ASSERT_EQ(until_ok(10000, [&] { return set_str(c, "k", "again"); }), CACHE_OK)
        << cache_last_error();
    ASSERT_EQ(until_ok(10000, [&] { return answer(c, "k") == "0:again" ? CACHE_OK : -1; }),
              CACHE_OK);
    // Back on our own socket: a few gets go to libmemcached first (back-off).
    int64_t served = fast_count(c, "served");
    for (int i = 0; i < 50; i++)
        EXPECT_EQ(answer(c, "k"), "0:again");
    EXPECT_GT(fast_count(c, "served"), served + 40);
    EXPECT_GT(fast_count(c, "fell_back"), 0);
    cache_close(c);
}

TEST(MemcachedFastGet, AStoppedServerTimesOutOnceNotTwice)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_fg("memcached://" + addr(s) + "?timeout_ms=400&retry_timeout_s=1");
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    ASSERT_EQ(answer(c, "k"), "0:v"); // our socket is open now
    s.pause();
    sleep_ms(50); // SIGSTOP lands asynchronously
    auto t0 = Clock::now();
    std::string a = answer(c, "k");
    int64_t took = ms_since(t0);
    EXPECT_EQ(a.substr(0, 3), std::to_string(CACHE_ETIMEOUT) + ":") << a;
    EXPECT_NE(a.find("TIMEOUT"), std::string::npos) << a;
    EXPECT_NE(a.find(addr(s)), std::string::npos) << a;
    EXPECT_GE(took, 400 - 20);
    EXPECT_LT(took, 400 + 300); // not 2 x 400
    // The next ones are libmemcached's own (the socket waits for it to
    // answer again): each bounded by the timeout as before.
    for (int i = 0; i < 2; i++) {
        t0 = Clock::now();
        a = answer(c, "k");
        EXPECT_TRUE(a[0] == '-') << a;
        EXPECT_LT(ms_since(t0), 400 * 2 + 200);
    }
    s.resume();
    ASSERT_EQ(until_ok(5000, [&] { return answer(c, "k") == "0:v" ? CACHE_OK : -1; }), CACHE_OK);
    EXPECT_EQ(fast_count(c, "timed_out"), 1); // (info needs the server to answer)
    cache_close(c);
}

TEST(MemcachedFastGet, AServerLibmemcachedFailedIsLeftToIt)
{
    // A set that times out makes libmemcached hold the server as down; the
    // gets that follow are its own (they fail as before) instead of
    // waiting on our still-open socket.
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_fg("memcached://" + addr(s) + "?timeout_ms=300&retry_timeout_s=1");
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    ASSERT_EQ(answer(c, "k"), "0:v"); // our socket is open
    s.pause();
    sleep_ms(50);
    int rc = set_str(c, "k2", "v");
    EXPECT_TRUE(rc == CACHE_ETIMEOUT || rc == CACHE_EUNAVAILABLE) << rc;
    for (int i = 0; i < 3; i++) {
        auto t0 = Clock::now();
        std::string a = answer(c, "k");
        EXPECT_EQ(a[0], '-') << a;
        EXPECT_LT(ms_since(t0), 300 * 2 + 200);
    }
    s.resume();
    ASSERT_EQ(until_ok(5000, [&] { return answer(c, "k") == "0:v" ? CACHE_OK : -1; }), CACHE_OK);
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(answer(c, "k"), "0:v");
    EXPECT_EQ(fast_count(c, "timed_out"), 0);
    EXPECT_EQ(fast_count(c, "fell_back"), 0);
    EXPECT_GE(fast_count(c, "served"), 5);
    cache_close(c);
}

TEST(MemcachedFastGet, KeysAreReadWhereLibmemcachedPutThem)
{
    ServerProcess a = ServerProcess::memcached(), b = ServerProcess::memcached();
    a.start();
    b.start();
    std::string uri = "memcached://" + addr(a) + "," + addr(b);
    cache_t *fast = open_fg(uri);
    cache_t *old = open_fg(uri + "?fast_get=false");
    std::vector<std::string> keys = all_kinds_of_keys();
    for (int i = 0; i < 300; i++)
        keys.push_back("key:" + std::to_string(i));
    for (size_t i = 0; i < keys.size(); i++)
        ASSERT_EQ(set_str(old, keys[i], "v" + std::to_string(i)), CACHE_OK) << cache_last_error();
    for (size_t i = 0; i < keys.size(); i++)
        EXPECT_EQ(answer(fast, keys[i]), "0:v" + std::to_string(i)) << i;
    // Each item is on one server only, so a get sent to the other would
    // have been a miss: both servers were read from.
    for (ServerProcess *s : {&a, &b})
        EXPECT_GT(Bare(*s).stat("curr_items"), keys.size() / 5) << s->port();
    EXPECT_EQ(fast_count(fast, "served"), int64_t(keys.size()));
    EXPECT_EQ(fast_count(fast, "fell_back"), 0);
    cache_close(fast);
    cache_close(old);
}

TEST(MemcachedFastGet, BadParametersAreRejectedWithAReason)
{
    struct Case {
        std::string params, needle;
    };
    const Case cases[] = {
        {"spin_us=-1", "spin_us"},   {"spin_us=1001", "spin_us"},
        {"spin_us=fast", "spin_us"}, {"fast_get=maybe", "fast_get"},
        {"fast_get=", "fast_get"},   {"binary=true&fast_get=true", "binary"},
        {"spinus=5", "spin_us"}, // unknown: the valid ones are listed
    };
    for (const Case &k : cases) {
        cache_t *c = nullptr;
        std::string uri = "memcached://127.0.0.1:1?" + k.params;
        EXPECT_EQ(cache_open(uri.c_str(), &c), CACHE_EINVAL) << uri;
        EXPECT_EQ(c, nullptr);
        std::string msg = cache_last_error();
        EXPECT_NE(msg.find(k.needle), std::string::npos) << uri << ": " << msg;
    }
    ServerProcess s = ServerProcess::memcached();
    s.start();
    struct Shown {
        std::string params, text;
    };
    const Shown shown[] = {
        {"", "fast_get=true spin_us=50"},
        {"?spin_us=0", "fast_get=true spin_us=0"},
        {"?spin_us=1000&fast_get=true", "fast_get=true spin_us=1000"},
        {"?fast_get=false", "fast_get=false"},
        {"?binary=true", "fast_get=false"},
    };
    for (const Shown &k : shown) {
        cache_t *c = open_fg("memcached://" + addr(s) + k.params);
        ASSERT_NE(c, nullptr) << k.params;
        EXPECT_NE(info(c).find(k.text), std::string::npos) << k.params << ": " << info(c);
        cache_close(c);
    }
}

TEST(MemcachedFastGet, ManyThreadsOnOneHandleGetExactlyTheirValues)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    cache_t *c = open_fg("memcached://" + addr(s) + "?pool_size=3");
    const int threads = 8, keys = 50, rounds = 200;
    for (int t = 0; t < threads; t++)
        for (int k = 0; k < keys; k++)
            ASSERT_EQ(set_str(c, std::to_string(t) + " key " + std::to_string(k),
                              std::string(size_t(k * 37 % 3000), char('a' + t))),
                      CACHE_OK);
    std::atomic<int> wrong{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++)
        ts.emplace_back([&, t] {
            std::vector<std::string> now; // what each of this thread's keys holds
            for (int k = 0; k < keys; k++)
                now.push_back(std::string(size_t(k * 37 % 3000), char('a' + t)));
            for (int i = 0; i < rounds; i++) {
                int k = (i * 7 + t) % keys;
                std::string key = std::to_string(t) + " key " + std::to_string(k);
                if (i % 10 == 9) { // writes in between: a set, then its value
                    now[k] = "w" + std::to_string(i);
                    wrong += set_str(c, key, now[k]) != CACHE_OK;
                }
                wrong += answer(c, key) != "0:" + now[k];
                wrong += answer(c, key + " missing") != "1:";
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(fast_count(c, "served"), int64_t(threads * rounds * 2));
    cache_close(c);
}

TEST(MemcachedFastGet, SpinsOnAFastServerOnlyAndNeverWhenToldNot)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    // 3 ms per request: slower than the largest spin_us, so never spun on.
    FaultProxy slow(s.port(), 3000);
    std::string near = "memcached://" + addr(s), far = "memcached://" + addr(slow.port());
    cache_t *spinning = open_fg(near + "?spin_us=1000");
    cache_t *still = open_fg(near + "?spin_us=0");
    cache_t *remote = open_fg(far + "?spin_us=1000&timeout_ms=2000");
    ASSERT_EQ(set_str(spinning, "k", "v"), CACHE_OK);
    for (int i = 0; i < 100; i++) {
        EXPECT_EQ(answer(spinning, "k"), "0:v");
        EXPECT_EQ(answer(still, "k"), "0:v");
    }
    for (int i = 0; i < 20; i++)
        EXPECT_EQ(answer(remote, "k"), "0:v");
    // Loopback answers in tens of microseconds: gets after the first (which
    // only measures) spin, unless this machine stalls the server for over
    // a millisecond at a time.
    EXPECT_GT(fast_count(spinning, "spun"), 50);
    EXPECT_EQ(fast_count(still, "spun"), 0);
    EXPECT_EQ(fast_count(still, "served"), 100);
    EXPECT_EQ(fast_count(remote, "spun"), 0);
    EXPECT_EQ(fast_count(remote, "served"), 20);
    for (cache_t *c : {spinning, still, remote})
        cache_close(c);
}

TEST(MemcachedFastGet, SpoiledRepliesFallBackToLibmemcached)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    const std::string spoils[] = {
        "EOF",                                      // connection closed, no reply
        "SERVER_ERROR out of memory\r\n",           // an error line
        "ERROR\r\n",                                // a command it does not know
        "VALUE fg:|k 0 1\r\nv\r\nEND\r\nEND\r\n",   // more than one reply
        "VALUE fg:|other 0 2\r\nvv\r\nEND\r\n",     // another key's item
        "VALUE fg:|k 0 99999999999\r\n",            // a length no item has
        "VALUE fg:|k 0 100\r\nshort",               // cut short, then silence
        "VALUE fg:|k x 1\r\nv\r\nEND\r\n",          // a bad flags field
        "VALUE fg:|k 4294967296 1\r\nv\r\nEND\r\n", // flags over 32 bits
        "VALUE fg:|k 0 1\nv\r\nEND\r\n",            // a bare line feed
        std::string(400, 'z'),                      // no line end at all
        "END\r\nEND\r\n",                           // a miss and more
    };
    for (const std::string &spoil : spoils) {
        FaultProxy proxy(s.port(), 0, spoil);
        // 600 ms: timeout_ms bounds the whole call (generation read, the fast
        // attempt and libmemcached's repeat) on a loaded 2-vCPU machine.
        cache_t *c = open_fg("memcached://" + addr(proxy.port()) + "?timeout_ms=600");
        ASSERT_EQ(set_str(c, "k", "value"), CACHE_OK) << cache_last_error();
        // A reply cut short leaves the fast path waiting for the rest: after
        // timeout_ms that get is a timeout (not repeated: it would wait
        // again); every other spoiled reply is repeated through libmemcached.
        bool waits = spoil.find("short") != std::string::npos;
        for (int i = 0; i < 6; i++) {
            auto t0 = Clock::now();
            std::string a = answer(c, "k");
            if (!(waits && a.substr(0, 3) == std::to_string(CACHE_ETIMEOUT) + ":")) {
                EXPECT_EQ(a, "0:value") << spoil << " " << i;
            }
            EXPECT_EQ(answer(c, "absent"), "1:") << spoil << " " << i;
            EXPECT_LT(ms_since(t0), 600 + 300) << spoil << " " << i;
        }
        int64_t fell = fast_count(c, "fell_back"), timed = fast_count(c, "timed_out");
        if (waits) {
            EXPECT_GE(timed, 1);
        } else {
            EXPECT_GE(fell, 2) << spoil;
            EXPECT_EQ(timed, 0) << spoil;
        }
        EXPECT_EQ(fast_count(c, "served"), 0) << spoil;
        cache_close(c);
    }
}

TEST(MemcachedFastGet, AForkedChildNeverSharesTheParentsSocket)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    // The child's connections are its own (PerProcess), counters included.
    cache_t *c = open_fg("memcached://" + addr(s) + "?pool_size=1");
    ASSERT_EQ(set_str(c, "parent", std::string(5000, 'P')), CACHE_OK);
    ASSERT_EQ(set_str(c, "child", std::string(5000, 'C')), CACHE_OK);
    ASSERT_EQ(answer(c, "parent"), "0:" + std::string(5000, 'P')); // the socket is open
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        int bad = 0;
        for (int i = 0; i < 3000; i++)
            bad += answer(c, "child") != "0:" + std::string(5000, 'C');
        _exit(bad == 0 && fast_count(c, "served") >= 3000 ? 0 : 1);
    }
    int bad = 0;
    for (int i = 0; i < 3000; i++)
        bad += answer(c, "parent") != "0:" + std::string(5000, 'P');
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(bad, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    cache_close(c);
}

TEST(MemcachedFastGet, UnixSocketServersToo)
{
    // The URI takes no socket path, but libmemcached places a server named
    // "/..." on a Unix socket, and so does the fast path.
    std::string path = "/tmp/unicache-fast-get-" + std::to_string(getpid()) + ".sock";
    unlink(path.c_str());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        execlp("memcached", "memcached", "-s", path.c_str(), "-U", "0", "-m", "64", "-u", "root",
               nullptr);
        _exit(127);
    }
    bool up = false;
    for (int i = 0; i < 500 && !up; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        std::strcpy(un.sun_path, path.c_str());
        up = connect(fd, reinterpret_cast<sockaddr *>(&un), sizeof un) == 0;
        close(fd);
        if (!up)
            sleep_ms(20);
    }
    ASSERT_TRUE(up) << "memcached did not listen on " << path;
    {
        unicache::MemcachedOptions o;
        o.hosts.push_back(unicache::HostPort{path, 0});
        unicache::MemcachedBackend b(o);
        b.set("k", "over a unix socket", 0);
        unicache::OwnedBuffer out;
        for (int i = 0; i < 5; i++) {
            ASSERT_TRUE(b.get("k", &out));
            EXPECT_EQ(out.view(), "over a unix socket");
            EXPECT_FALSE(b.get("absent", &out));
        }
        std::string text = b.info();
        EXPECT_NE(text.find("fast_get: served=10 "), std::string::npos) << text;
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    unlink(path.c_str());
}

} // namespace unicache_test
