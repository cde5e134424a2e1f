// wrong_answers_across_fork: uses one cache handle from this process and
// from forked children at the same time, each process writing and reading
// back keys of its own, and counts the answers that were not its own. A
// handle whose connections were shared with a child answers the parent's
// requests with the child's replies (and the other way round).
#pragma once

#include <chrono>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "unicache.h"

namespace unicache_test {

// One process's share: `iters` set + get pairs on keys of its own; returns
// how many did not read back what was written (or failed).
inline int own_keys_round_trip(cache_t *c, const std::string &who, int iters)
{
    int wrong = 0;
    for (int i = 0; i < iters; i++) {
        std::string k = who + ":" + std::to_string(i);
        std::string v = "value of " + k;
        if (cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE) != CACHE_OK) {
            wrong++;
            continue;
        }
        cache_buf b = {nullptr, 0};
        int rc = cache_get(c, k.data(), k.size(), &b);
        if (rc != CACHE_OK || std::string(static_cast<char *>(b.data), b.size) != v)
            wrong++;
        cache_buf_free(&b);
    }
    return wrong;
}

// Returns the wrong answers of the parent and `children` children, or -1
// when a child crashed or hung for 60 s.
inline int wrong_answers_across_fork(cache_t *c, const std::string &tag, int children = 2,
                                     int iters = 300)
{
    // Connections exist before the fork, as in a pre-forking server.
    int wrong = own_keys_round_trip(c, tag + "warm", 5);
    std::vector<pid_t> pids;
    for (int p = 0; p < children; p++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(std::min(own_keys_round_trip(c, tag + "child" + std::to_string(p), iters), 100));
        pids.push_back(pid);
    }
    wrong += own_keys_round_trip(c, tag + "parent", iters);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (pid_t pid : pids) {
        int status = 0;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        if (!WIFEXITED(status))
            return -1;
        wrong += WEXITSTATUS(status);
    }
    // The parent's handle still works after its children are gone.
    return wrong + own_keys_round_trip(c, tag + "after", 20);
}

} // namespace unicache_test
