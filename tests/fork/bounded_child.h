// run_bounded: runs a function in a forked child and waits for it at most a
// given time. A child that hangs is killed and reported, never waited for:
// fork bugs show up as hangs, and a hung child must fail a test, not stall
// the suite.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace unicache_test {

// How a bounded child ended.
struct ChildResult {
    bool hung = false;   // killed after the time limit
    bool exited = false; // exited normally (see code)
    int code = -1;       // exit status, or the signal number when !exited && !hung
    std::string describe() const
    {
        if (hung)
            return "child hung (killed after its time limit)";
        if (exited)
            return "child exited with " + std::to_string(code);
        return "child died of signal " + std::to_string(code);
    }
    bool ok() const { return exited && code == 0; }
};

// Waits for pid until the deadline; kills it with SIGKILL then.
inline ChildResult wait_bounded(pid_t pid, std::chrono::milliseconds limit)
{
    ChildResult r;
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0)
            return r;
        if (std::chrono::steady_clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            r.hung = true;
            return r;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (WIFEXITED(status)) {
        r.exited = true;
        r.code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r.code = WTERMSIG(status);
    }
    return r;
}

// Forks; the child runs body and _exits with its result (0 = success).
// `exit_normally` makes the child leave through exit() instead, running
// atexit handlers and static destructors as a real program does.
inline pid_t fork_child(const std::function<int()> &body, bool exit_normally = false)
{
    pid_t pid = fork();
    if (pid == 0) {
        int code = 99;
        try {
            code = body();
        } catch (...) {
            code = 98;
        }
        if (exit_normally)
            exit(code);
        _exit(code);
    }
    return pid;
}

inline ChildResult run_bounded(const std::function<int()> &body, std::chrono::milliseconds limit,
                               bool exit_normally = false)
{
    return wait_bounded(fork_child(body, exit_normally), limit);
}

} // namespace unicache_test
