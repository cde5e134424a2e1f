#include "fault_proxy.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace unicache_test {

struct FaultProxy::Link {
    int client = -1;
    int upstream = -1;
    std::atomic<bool> abort{false}; // reset_open_connections asked for an RST
    std::atomic<bool> done{false};
    bool stalled = false; // partial: the rest of this connection is a black hole
    std::thread thread;
};

namespace {

// Ends a connection with an RST instead of a FIN: linger on, zero seconds.
void close_with_rst(int fd)
{
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= size_t(w);
    }
    return true;
}

} // namespace

const char *fault_name(Fault f)
{
    switch (f) {
    case Fault::pass:
        return "pass";
    case Fault::delay:
        return "delay";
    case Fault::trickle:
        return "trickle";
    case Fault::drop:
        return "drop";
    case Fault::reset:
        return "reset";
    case Fault::garbage:
        return "garbage";
    case Fault::partial:
        return "partial";
    }
    return "?";
}

FaultProxy::FaultProxy(int target_port) : target_port_(target_port)
{
    if (pipe2(stop_pipe_, O_CLOEXEC) != 0)
        throw std::runtime_error("FaultProxy: pipe failed");
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 64) != 0)
        throw std::runtime_error("FaultProxy: cannot listen on 127.0.0.1");
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy()
{
    stopping_ = true;
    char b = 1;
    (void)!write(stop_pipe_[1], &b, 1); // never drained: wakes every poll for good
    acceptor_.join();
    std::lock_guard<std::mutex> lock(links_mu_);
    for (auto &l : links_)
        if (l->thread.joinable())
            l->thread.join();
    links_.clear();
    close(listen_fd_);
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
}

void FaultProxy::set_fault(Fault f, std::chrono::milliseconds param)
{
    param_ms_ = int(param.count());
    fault_ = f;
}

void FaultProxy::reset_open_connections()
{
    std::lock_guard<std::mutex> lock(links_mu_);
    for (auto &l : links_)
        l->abort = true;
}

bool FaultProxy::wait_or_stop(int ms)
{
    pollfd p{stop_pipe_[0], POLLIN, 0};
    return poll(&p, 1, ms) == 0;
}

void FaultProxy::accept_loop()
{
    for (;;) {
        pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        if (stopping_ || p[1].revents)
            return;
        if (!(p[0].revents & POLLIN))
            continue;
        int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        accepted_++;
        if (fault_ == Fault::reset) {
            close_with_rst(c);
            continue;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int up = connect_loopback(target_port_);
        if (up < 0) {
            close_with_rst(c);
            continue;
        }
        std::lock_guard<std::mutex> lock(links_mu_);
        for (auto it = links_.begin(); it != links_.end();) {
            if ((*it)->done) {
                (*it)->thread.join();
                it = links_.erase(it);
            } else {
                ++it;
            }
        }
        links_.push_back(std::make_unique<Link>());
        Link &l = *links_.back();
        l.client = c;
        l.upstream = up;
        l.thread = std::thread([this, &l] { serve(l); });
    }
}

bool FaultProxy::send_reply(Link &link, const char *data, size_t len)
{
    switch (fault_.load()) {
    case Fault::delay:
        if (!wait_or_stop(param_ms_))
            return false;
        return send_all(link.client, data, len);
    case Fault::trickle:
        for (size_t i = 0; i < len; i++) {
            if (!wait_or_stop(param_ms_) || link.abort)
                return false;
            if (!send_all(link.client, data + i, 1))
                return false;
        }
        return true;
    case Fault::partial:
        link.stalled = true;
        return send_all(link.client, data, len > 1 ? len / 2 : len);
    case Fault::drop:
    case Fault::garbage: // a late reply from before the switch is swallowed too
        return true;
    default:
        return send_all(link.client, data, len);
    }
}

void FaultProxy::serve(Link &link)
{
    std::mt19937 rng(unsigned(link.client) * 7919u);
    char buf[65536];
    bool rst = false;
    for (;;) {
        pollfd p[3] = {
            {link.client, POLLIN, 0}, {link.upstream, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        // A short timeout so that reset_open_connections is seen while idle.
        int n = poll(p, 3, 50);
        if (n < 0 && errno != EINTR)
            break;
        if (stopping_ || p[2].revents)
            break;
        if (link.abort) {
            rst = true;
            break;
        }
        if (p[0].revents) {
            ssize_t r = recv(link.client, buf, sizeof buf, 0);
            if (r <= 0)
                break;
            Fault f = fault_;
            if (f == Fault::reset) {
                rst = true;
                break;
            }
            if (f == Fault::garbage) {
                char junk[64];
                for (char &ch : junk)
                    ch = char(rng());
                if (!send_all(link.client, junk, sizeof junk))
                    break;
            } else if (f != Fault::drop && !link.stalled) {
                if (!send_all(link.upstream, buf, size_t(r)))
                    break;
            }
        }
        if (p[1].revents) {
            ssize_t r = recv(link.upstream, buf, sizeof buf, 0);
            if (r <= 0)
                break;
            if (!link.stalled && !send_reply(link, buf, size_t(r)))
                break;
        }
    }
    if (rst)
        close_with_rst(link.client);
    else
        close(link.client);
    close(link.upstream);
    link.done = true;
}

} // namespace unicache_test
