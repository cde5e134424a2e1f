#include "server_process.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace unicache_test {

namespace {

bool can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

} // namespace

int ServerProcess::free_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0)
        throw std::runtime_error("cannot bind a free port on 127.0.0.1");
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

ServerProcess::ServerProcess(std::vector<std::string> argv, int port)
    : argv_(std::move(argv)), port_(port ? port : free_port())
{
    log_path_ = "/tmp/unicache-test-" + argv_[0] + "-" + std::to_string(port_) + ".log";
}

ServerProcess::ServerProcess(ServerProcess &&o) noexcept
    : argv_(std::move(o.argv_)), port_(o.port_), pid_(o.pid_), log_path_(std::move(o.log_path_))
{
    o.pid_ = -1;
}

ServerProcess::~ServerProcess()
{
    stop();
}

ServerProcess ServerProcess::redis(const std::vector<std::string> &extra)
{
    std::vector<std::string> argv = {"redis-server", "--port",     "{port}", "--bind",
                                     "127.0.0.1",    "--save",     "",       "--appendonly",
                                     "no",           "--loglevel", "warning"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return ServerProcess(argv);
}

ServerProcess ServerProcess::memcached(const std::vector<std::string> &extra)
{
    std::vector<std::string> argv = {"memcached", "-l", "127.0.0.1", "-p", "{port}",
                                     "-U",        "0",  "-m",        "128"};
    if (geteuid() == 0) {
        argv.push_back("-u");
        argv.push_back("root");
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    return ServerProcess(argv);
}

void ServerProcess::start()
{
    if (pid_ > 0)
        return;
    std::vector<std::string> args;
    for (auto a : argv_) {
        size_t p = a.find("{port}");
        if (p != std::string::npos)
            a.replace(p, 6, std::to_string(port_));
        args.push_back(a);
    }
    pid_t pid = fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        setpgid(0, 0);
        std::vector<char *> cargv;
        for (auto &a : args)
            cargv.push_back(const_cast<char *>(a.c_str()));
        cargv.push_back(nullptr);
        execvp(cargv[0], cargv.data());
        fprintf(stderr, "exec %s: %s\n", cargv[0], strerror(errno));
        _exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error(argv_[0] + " exited at start (is it installed? see " +
                                     log_path_ + ")");
        }
        if (can_connect(port_))
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_hard();
    throw std::runtime_error(argv_[0] + " did not listen on 127.0.0.1:" + std::to_string(port_));
}

void ServerProcess::stop()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 250; i++) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill_hard();
}

void ServerProcess::kill_hard()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

void ServerProcess::pause()
{
    if (pid_ > 0)
        ::kill(pid_, SIGSTOP);
}

void ServerProcess::resume()
{
    if (pid_ > 0)
        ::kill(pid_, SIGCONT);
}

} // namespace unicache_test
