// ServerProcess: a real redis-server or memcached that a test starts on
// 127.0.0.1 on a free port, and stops (or kills, or restarts) itself.
// A missing server binary is a test failure, never a skip.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace unicache_test {

class ServerProcess {
public:
    // argv uses "{port}" where the port goes; argv[0] is looked up in PATH.
    explicit ServerProcess(std::vector<std::string> argv, int port = 0);
    ~ServerProcess();
    ServerProcess(const ServerProcess &) = delete;
    ServerProcess &operator=(const ServerProcess &) = delete;

    // Throws std::runtime_error if it does not accept connections in 10 s.
    void start();
    void stop();      // SIGTERM, then SIGKILL after 5 s
    void kill_hard(); // SIGKILL, no goodbye
    void pause();     // SIGSTOP: accepts TCP but never answers
    void resume();    // SIGCONT
    bool running() const { return pid_ > 0; }
    int port() const { return port_; }

    static int free_port();
    static ServerProcess redis(const std::vector<std::string> &extra = {});
    static ServerProcess memcached(const std::vector<std::string> &extra = {});

    ServerProcess(ServerProcess &&o) noexcept;

private:
    std::vector<std::string> argv_;
    int port_;
    pid_t pid_ = -1;
    std::string log_path_;
};

} // namespace unicache_test
