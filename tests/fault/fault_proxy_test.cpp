// The fault proxy itself, against a real memcached through raw sockets: each
// fault does what it says, and a fault set on an open connection hits it.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "support/fault_proxy.h"
#include "support/server_process.h"

using namespace std::chrono;
using unicache_test::Fault;
using unicache_test::FaultProxy;
using unicache_test::ServerProcess;

namespace {

struct Conn {
    int fd = -1;
    explicit Conn(int port)
    {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(uint16_t(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
            close(fd);
            fd = -1;
        }
    }
    ~Conn()
    {
        if (fd >= 0)
            close(fd);
    }
    void send_line(const std::string &s)
    {
        ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size()));
    }
    // Reads until "\r\n" arrives, the peer closes or fails, or `ms` pass.
    // *err gets errno of a failed read (0 otherwise).
    std::string read_line(int ms, int *err = nullptr)
    {
        std::string got;
        auto deadline = steady_clock::now() + milliseconds(ms);
        if (err)
            *err = 0;
        while (got.find("\r\n") == std::string::npos) {
            int left = int(duration_cast<milliseconds>(deadline - steady_clock::now()).count());
            if (left <= 0)
                break;
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, left) <= 0)
                break;
            char c[256];
            ssize_t r = recv(fd, c, sizeof c, 0);
            if (r < 0 && err)
                *err = errno;
            if (r <= 0)
                break;
            got.append(c, size_t(r));
        }
        return got;
    }
};

// One memcached for the whole file: the proxy is what is under test.
class FaultProxyTest : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        server_ = new ServerProcess(ServerProcess::memcached());
        server_->start();
    }
    static void TearDownTestSuite()
    {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess *server_;
    ServerProcess &server = *server_;
};
ServerProcess *FaultProxyTest::server_ = nullptr;

} // namespace

TEST_F(FaultProxyTest, PassForwardsBothWays)
{
    FaultProxy proxy(server.port());
    ASSERT_NE(proxy.port(), server.port());
    Conn c(proxy.port());
    ASSERT_GE(c.fd, 0);
    c.send_line("version\r\n");
    EXPECT_EQ(c.read_line(2000).rfind("VERSION ", 0), 0u);
    EXPECT_EQ(proxy.accepted(), 1u);
}

TEST_F(FaultProxyTest, DelayHoldsEachReply)
{
    FaultProxy proxy(server.port());
    proxy.set_fault(Fault::delay, milliseconds(300));
    Conn c(proxy.port());
    auto t0 = steady_clock::now();
    c.send_line("version\r\n");
    EXPECT_EQ(c.read_line(3000).rfind("VERSION ", 0), 0u);
    EXPECT_GE(steady_clock::now() - t0, milliseconds(290));
}

TEST_F(FaultProxyTest, TrickleSendsOneByteAtATime)
{
    FaultProxy proxy(server.port());
    proxy.set_fault(Fault::trickle, milliseconds(100));
    Conn c(proxy.port());
    c.send_line("version\r\n");
    // "VERSION 1.6.x\r\n" is at least 14 bytes: 350 ms gets a few of them.
    std::string early = c.read_line(350);
    EXPECT_GE(early.size(), 1u);
    EXPECT_LE(early.size(), 5u);
    proxy.set_fault(Fault::pass);
    EXPECT_EQ((early + c.read_line(3000)).rfind("VERSION ", 0), 0u);
}

TEST_F(FaultProxyTest, DropIsABlackHoleOnAnOpenConnection)
{
    FaultProxy proxy(server.port());
    Conn c(proxy.port());
    c.send_line("version\r\n");
    ASSERT_EQ(c.read_line(2000).rfind("VERSION ", 0), 0u);
    proxy.set_fault(Fault::drop);
    c.send_line("version\r\n");
    int err = -1;
    EXPECT_EQ(c.read_line(400, &err), "");
    EXPECT_EQ(err, 0); // open, silent: no reset, no close
}

TEST_F(FaultProxyTest, ResetAbortsTheConnection)
{
    FaultProxy proxy(server.port());
    Conn c(proxy.port());
    proxy.set_fault(Fault::reset);
    c.send_line("version\r\n");
    int err = 0;
    EXPECT_EQ(c.read_line(2000, &err), "");
    EXPECT_EQ(err, ECONNRESET);
}

TEST_F(FaultProxyTest, ResetOpenConnectionsAbortsIdleOnes)
{
    FaultProxy proxy(server.port());
    Conn c(proxy.port());
    c.send_line("version\r\n");
    ASSERT_EQ(c.read_line(2000).rfind("VERSION ", 0), 0u);
    proxy.reset_open_connections();
    int err = 0;
    EXPECT_EQ(c.read_line(2000, &err), "");
    EXPECT_EQ(err, ECONNRESET);
    Conn again(proxy.port()); // new connections still work
    again.send_line("version\r\n");
    EXPECT_EQ(again.read_line(2000).rfind("VERSION ", 0), 0u);
}

TEST_F(FaultProxyTest, GarbageAnswersWithNoise)
{
    FaultProxy proxy(server.port());
    proxy.set_fault(Fault::garbage);
    Conn c(proxy.port());
    c.send_line("version\r\n");
    std::string got = c.read_line(300);
    EXPECT_FALSE(got.empty());
    EXPECT_NE(got.rfind("VERSION ", 0), 0u);
}

TEST_F(FaultProxyTest, PartialForwardsHalfAReplyThenStalls)
{
    FaultProxy proxy(server.port());
    proxy.set_fault(Fault::partial);
    Conn c(proxy.port());
    c.send_line("version\r\n");
    std::string got = c.read_line(500);
    EXPECT_GE(got.size(), 5u);
    EXPECT_EQ(got.find("\r\n"), std::string::npos);
    EXPECT_EQ(std::string("VERSION ").compare(0, 5, got, 0, 5), 0);
    proxy.set_fault(Fault::pass); // the stalled connection stays stalled
    c.send_line("version\r\n");
    EXPECT_EQ(c.read_line(400), "");
}

TEST_F(FaultProxyTest, StopsWhileTrickling)
{
    auto t0 = steady_clock::now();
    {
        FaultProxy proxy(server.port());
        proxy.set_fault(Fault::trickle, milliseconds(1000));
        Conn c(proxy.port());
        c.send_line("version\r\n");
        c.read_line(100);
    }
    EXPECT_LT(steady_clock::now() - t0, seconds(2));
}
