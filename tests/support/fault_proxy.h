// FaultProxy: a TCP proxy on 127.0.0.1 (free port) in front of a real
// server, whose replies can be made to misbehave at run time. Tests point a
// cache at proxy.port() and switch faults while the cache is connected, so
// deadlines, retries and connection discarding are tested against the
// failures a network really produces, with the real server behind it.
//
//     FaultProxy proxy(server.port());
//     proxy.set_fault(Fault::trickle, std::chrono::milliseconds(200));
//
// The fault applies to what the server sends back (the client's requests
// are forwarded as they come, except under drop, reset and garbage), and to
// connections already open as well as new ones: a fault set after a cache
// has connected hits its next call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace unicache_test {

enum class Fault {
    pass,    // forward both ways unchanged
    delay,   // hold each reply chunk for `param` ms, then forward it whole
    trickle, // forward replies one byte every `param` ms
    drop,    // black hole: swallow requests, never answer, keep the socket open
    reset,   // RST the connection on the next request (and at accept)
    garbage, // swallow requests, answer each with random bytes
    partial, // forward the first half of the next reply, then stall forever
};

const char *fault_name(Fault f);

class FaultProxy {
public:
    // Listens at once; connects to 127.0.0.1:target_port per accepted client.
    explicit FaultProxy(int target_port);
    ~FaultProxy(); // closes every connection and joins every thread
    FaultProxy(const FaultProxy &) = delete;
    FaultProxy &operator=(const FaultProxy &) = delete;

    int port() const { return port_; }
    int target_port() const { return target_port_; }

    void set_fault(Fault f, std::chrono::milliseconds param = std::chrono::milliseconds(0));
    Fault fault() const { return fault_.load(); }

    // Connections accepted since the proxy started.
    size_t accepted() const { return accepted_.load(); }

    // Aborts (RST) every connection open now; new ones are accepted as usual.
    void reset_open_connections();

private:
    struct Link;
    void accept_loop();
    void serve(Link &link);
    bool wait_or_stop(int ms); // false when the proxy stops meanwhile
    bool send_reply(Link &link, const char *data, size_t len);

    int target_port_;
    int port_ = 0;
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::atomic<bool> stopping_{false};
    std::atomic<Fault> fault_{Fault::pass};
    std::atomic<int> param_ms_{0};
    std::atomic<size_t> accepted_{0};
    std::mutex links_mu_;
    std::list<std::unique_ptr<Link>> links_;
    std::thread acceptor_;
};

} // namespace unicache_test
