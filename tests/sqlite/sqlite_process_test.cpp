// Several processes on one cache file: persistence across processes,
// concurrent writers with exact counters, and a writer killed mid-load.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "sqlite_raw.h"
#include "sqlite_temp_dir.h"
#include "sqlite_worker_values.h"
#include "unicache.h"

namespace unicache_test {

namespace {

struct Child {
    pid_t pid = -1;
    int out = -1; // its stdout, when captured
};

Child spawn(const std::vector<std::string> &args, bool capture)
{
    int fds[2] = {-1, -1};
    if (capture && pipe(fds) != 0)
        throw std::runtime_error("pipe failed");
    std::vector<char *> argv;
    std::string worker = UNICACHE_SQLITE_WORKER;
    argv.push_back(&worker[0]);
    std::vector<std::string> copy = args;
    for (auto &a : copy)
        argv.push_back(&a[0]);
    argv.push_back(nullptr);
    Child ch;
    ch.pid = fork();
    if (ch.pid == 0) {
        if (capture) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
        }
        execv(argv[0], argv.data());
        _exit(127);
    }
    if (capture) {
        close(fds[1]);
        ch.out = fds[0];
    }
    return ch;
}

// Exit code, or 128 + signal.
int wait_for(const Child &ch)
{
    int status = 0;
    while (waitpid(ch.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

// Like wait_for, but a child still running after `limit` is killed and
// reported as -1: a deadlock is a failure, not a hung test run.
int wait_for(const Child &ch, std::chrono::seconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        pid_t r = waitpid(ch.pid, &status, WNOHANG);
        if (r == ch.pid)
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        if (std::chrono::steady_clock::now() > deadline) {
            kill(ch.pid, SIGKILL);
            waitpid(ch.pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

int run_worker(const std::vector<std::string> &args)
{
    return wait_for(spawn(args, false));
}

std::string get_str(cache_t *c, const std::string &k, int *rc)
{
    cache_buf b = {nullptr, 0};
    *rc = cache_get(c, k.data(), k.size(), &b);
    std::string out = *rc == CACHE_OK ? std::string(static_cast<char *>(b.data), b.size) : "";
    cache_buf_free(&b);
    return out;
}

} // namespace

TEST(SqliteProcesses, OneProcessWritesAnotherReadsEverythingBack)
{
    SqliteTempDir dir("persist");
    std::string path = dir.file("persist.db");
    std::string uri = "sqlite://" + path;
    ASSERT_EQ(run_worker({"fill", uri, "3000"}), 0);
    ASSERT_EQ(run_worker({"verify", uri, "3000"}), 0);

    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    int rc;
    EXPECT_EQ(get_str(c, "fill-counter", &rc), "3000");
    for (long i : {0L, 1L, 96L, 97L, 2999L}) {
        EXPECT_EQ(get_str(c, worker_key(i), &rc), expected_value(i)) << i;
        EXPECT_EQ(rc, CACHE_OK);
    }
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c, "entry:7", 7, &ttl), CACHE_OK); // written with 1 h
    EXPECT_GT(ttl, 3500 * 1000);
    EXPECT_LE(ttl, 3600 * 1000);
    ASSERT_EQ(cache_ttl(c, "entry:8", 7, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    cache_close(c);
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(raw.integer("SELECT count(*) FROM cache"), 3001);
}

TEST(SqliteProcesses, FourProcessesHammeringOneFileAddUpExactly)
{
    SqliteTempDir dir("hammer");
    std::string path = dir.file("hammer.db");
    std::string uri = "sqlite://" + path; // default busy_timeout_ms
    const int procs = 4;
    const long iters = 1500; // per thread; each worker runs two threads
    std::vector<Child> children;
    for (int p = 0; p < procs; p++)
        children.push_back(
            spawn({"hammer", uri, "p" + std::to_string(p), std::to_string(iters)}, false));
    for (auto &ch : children)
        EXPECT_EQ(wait_for(ch), 0) << "a worker saw an error (its stderr says which)";

    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    int rc;
    EXPECT_EQ(get_str(c, "total", &rc), std::to_string(procs * 2 * iters));
    for (int p = 0; p < procs; p++)
        EXPECT_EQ(get_str(c, "per:p" + std::to_string(p), &rc), std::to_string(2 * iters));
    cache_close(c);
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

TEST(SqliteProcesses, HandleOpenedBeforeForkWorksInTheChildren)
{
    // A pre-forking server: the parent opens the cache (and uses it), then
    // forks workers that keep using the same handle. Each child must get
    // connections of its own, not the parent's.
    SqliteTempDir dir("fork");
    std::string path = dir.file("fork.db");
    std::string uri = "sqlite://" + path + "?max_items=100000";
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(cache_set(c, "k", 1, "parent", 6, 0), CACHE_OK);
    ASSERT_EQ(cache_incr(c, "n", 1, 1, nullptr), CACHE_OK);
    const int children = 2, iters = 300;
    std::vector<pid_t> pids;
    for (int p = 0; p < children; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            int bad = 0;
            for (int i = 0; i < iters; i++) {
                std::string k = "child:" + std::to_string(p) + ":" + std::to_string(i);
                int rc;
                bad += cache_incr(c, "n", 1, 1, nullptr) != CACHE_OK;
                bad += cache_set(c, k.data(), k.size(), "v", 1, 0) != CACHE_OK;
                bad += get_str(c, "k", &rc) != "parent";
            }
            cache_close(c);
            _exit(bad ? 1 : 0);
        }
        pids.push_back(pid);
    }
    for (int i = 0; i < iters; i++)
        ASSERT_EQ(cache_incr(c, "n", 1, 1, nullptr), CACHE_OK) << cache_last_error();
    for (pid_t pid : pids)
        EXPECT_EQ(wait_for(Child{pid, -1}, std::chrono::seconds(60)), 0)
            << "-1: the child hung (inherited connections or locks)";
    int rc;
    EXPECT_EQ(get_str(c, "n", &rc), std::to_string(1 + (children + 1) * iters));
    EXPECT_EQ(get_str(c, "child:1:299", &rc), "v");
    cache_close(c);
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

TEST(SqliteProcesses, ForkLeavesTheChildNoReadLockThatNobodyHolds)
{
    // While this process reads, its read anchor holds a WAL read mark.
    // SQLite counts locks per process, and a child inherits the count but
    // not the lock: had the anchor still held its mark at fork(), the
    // child's readers would skip taking a lock that no process holds, and
    // a checkpoint run in the child would find a reader that does not
    // exist. Every connection, the anchor's included, closes before fork().
    SqliteTempDir dir("fork-anchor");
    std::string path = dir.file("anchor.db");
    std::string uri = "sqlite://" + path;
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(cache_set(c, "k", 1, "v", 1, 0), CACHE_OK);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
    int rc;
    while (std::chrono::steady_clock::now() < until)
        ASSERT_EQ(get_str(c, "k", &rc), "v");
    ASSERT_EQ(RawDb(path).truncate_busy(), 1) << "the anchor is not held";
    pid_t pid = fork();
    if (pid == 0)
        _exit(RawDb(path).truncate_busy());
    EXPECT_EQ(wait_for(Child{pid, -1}, std::chrono::seconds(30)), 0)
        << "1: the child saw a read lock that no process holds";
    EXPECT_EQ(get_str(c, "k", &rc), "v");
    cache_close(c);
}

TEST(SqliteProcesses, ChildKeepsWorkingWhenTheParentClosesTheHandle)
{
    // A pre-forking server whose parent closes its handle once the workers
    // run. The parent's close is the last close of the file it can see; had
    // the child's connections no real locks of their own (SQLite's
    // per-process lock counts are inherited, the locks are not), the
    // parent would checkpoint and delete the WAL under the child, and the
    // child's later writes would go to a deleted file nobody else reads.
    SqliteTempDir dir("fork-close");
    std::string path = dir.file("close.db");
    std::string uri = "sqlite://" + path;
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(cache_set(c, "k", 1, "parent", 6, 0), CACHE_OK);
    int rc;
    ASSERT_EQ(get_str(c, "k", &rc), "parent");
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    const int n = 200;
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        int bad = 0;
        for (int i = 0; i < n; i++) {
            if (i == n / 2) { // the parent has closed its handle by now
                char b;
                bad += read(go[0], &b, 1) != 1;
            }
            std::string k = "child:" + std::to_string(i);
            bad += cache_set(c, k.data(), k.size(), "v", 1, 0) != CACHE_OK;
            bad += get_str(c, k, &rc) != "v";
        }
        cache_close(c);
        _exit(bad ? 1 : 0);
    }
    close(go[0]);
    cache_close(c);
    ASSERT_EQ(write(go[1], "x", 1), 1);
    close(go[1]);
    EXPECT_EQ(wait_for(Child{pid, -1}, std::chrono::seconds(30)), 0);
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    int missing = 0;
    for (int i = 0; i < n; i++)
        missing += get_str(c, "child:" + std::to_string(i), &rc) != "v";
    EXPECT_EQ(missing, 0) << "writes the child made after the parent's close are lost";
    cache_close(c);
    RawDb raw(path);
    EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

TEST(SqliteProcesses, WriterKilledMidLoadLosesNothingAcknowledged)
{
    SqliteTempDir dir("crash");
    std::string path = dir.file("crash.db");
    std::string uri = "sqlite://" + path;
    std::set<long> acked;
    // Kills at different points of a continuous write load, on the same
    // file, each after a reopen of what the previous kill left.
    for (int round = 0; round < 8; round++) {
        Child ch = spawn({"crash-writer", uri, std::to_string(round * 1000000L)}, true);
        std::string pending;
        char buf[4096];
        auto start = std::chrono::steady_clock::now();
        size_t want = 300 + size_t(round) * 377, seen = 0;
        bool killed = false;
        for (;;) {
            if (!killed && (seen >= want ||
                            std::chrono::steady_clock::now() - start > std::chrono::seconds(20))) {
                kill(ch.pid, SIGKILL);
                killed = true;
            }
            ssize_t n = read(ch.out, buf, sizeof buf);
            if (n <= 0)
                break; // EOF: the writer is gone and every ack is read
            pending.append(buf, size_t(n));
            size_t nl;
            while ((nl = pending.find('\n')) != std::string::npos) {
                acked.insert(std::stol(pending.substr(0, nl)));
                pending.erase(0, nl + 1);
                seen++;
            }
        }
        close(ch.out);
        ASSERT_EQ(wait_for(ch), 128 + SIGKILL) << "the writer stopped before it was killed";
        ASSERT_GE(seen, want);

        {
            RawDb raw(path);
            ASSERT_EQ(raw.text("PRAGMA integrity_check"), "ok") << "round " << round;
        }
        cache_t *c = nullptr;
        ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
        size_t missing = 0;
        for (long i : acked) {
            int rc;
            std::string v = get_str(c, worker_key(i), &rc);
            if (rc != CACHE_OK || v != expected_value(i))
                missing++;
        }
        EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged writes, round " << round;
        cache_close(c);
    }
}

} // namespace unicache_test
