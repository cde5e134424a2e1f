// A SQLite cache that cannot be written says so (issue 10, item 18): on a
// read-only mount SQLite itself reported "unable to open database file (No
// such file or directory)", and a write that failed at COMMIT was reported
// as "cannot read". Both run in a child process, because they change
// process-wide state: a mount namespace with the test's directory
// bind-mounted read-only (a real read-only mount, which root cannot write
// either, unlike a chmod), and RLIMIT_FSIZE, which makes the kernel refuse
// to grow any file (EFBIG) as a full or failing disk would.
#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "sqlite_temp_dir.h"
#include "support/log_recorder.h"
#include "unicache.h"

namespace unicache_test {

namespace {

bool contains(const std::string &s, const std::string &part)
{
    return s.find(part) != std::string::npos;
}

std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool write_file(const std::string &path, const std::string &text)
{
    std::ofstream out(path);
    out << text;
    return bool(out);
}

int set_str(cache_t *c, const std::string &k, const std::string &v)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE);
}

// Runs body in a child process (bounded by 30 s) and returns what it wrote.
std::string in_child(const std::function<std::string()> &body)
{
    int fds[2];
    if (pipe(fds) != 0)
        return "pipe failed";
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(30);
        std::string report = body();
        ssize_t n = write(fds[1], report.data(), report.size());
        _exit(n == ssize_t(report.size()) ? 0 : 4);
    }
    close(fds[1]);
    std::string report;
    char buf[1024];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        report.append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        report += " [child ended with status " + std::to_string(status) + "]";
    return report;
}

// In a child: a private mount namespace in which dir is bind-mounted on
// itself read-only. As root directly; otherwise inside a user namespace of
// its own (where this process is root). "" on success, else what failed.
std::string mount_read_only(const std::string &dir)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (unshare(CLONE_NEWNS) != 0) {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
            return std::string("unshare: ") + std::strerror(errno);
        if (!write_file("/proc/self/setgroups", "deny") ||
            !write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
            !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
            return "cannot map the user namespace";
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return std::string("mount --make-rprivate /: ") + std::strerror(errno);
    if (mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0)
        return std::string("bind mount: ") + std::strerror(errno);
    if (mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
        return std::string("read-only remount: ") + std::strerror(errno);
    // The proof that it is read-only for this process, root or not.
    std::string probe = dir + "/probe";
    if (std::FILE *f = std::fopen(probe.c_str(), "w")) {
        std::fclose(f);
        return "the read-only mount could be written";
    }
    return "";
}

std::string open_report(const std::string &uri)
{
    cache_t *c = nullptr;
    int rc = cache_open(uri.c_str(), &c);
    std::string report = std::to_string(rc) + " " + cache_last_error();
    cache_close(c);
    return report;
}

} // namespace

TEST(SqliteReadOnly, AReadOnlyMountIsSaidToBeReadOnly)
{
    SqliteTempDir dir("ro");
    std::string db = dir.file("cache.db");
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(("sqlite://" + db).c_str(), &c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(c, "k", "kept"), CACHE_OK) << cache_last_error();
    cache_close(c);
    std::string before = read_file(db);

    std::string report = in_child([&] {
        std::string failed = mount_read_only(dir.path());
        if (!failed.empty())
            return "setup: " + failed;
        // An existing cache, and one that does not exist yet; then the log
        // lines of both opens, one per line.
        Recorder r;
        std::string out = open_report("sqlite://" + db) + "\n";
        out += open_report("sqlite://" + dir.file("new.db")) + "\n";
        for (const Line &l : r.lines())
            out += "LOG " + std::to_string(l.level) + " " + l.text + "\n";
        return out;
    });
    ASSERT_FALSE(contains(report, "setup:")) << report;
    std::vector<std::string> lines;
    for (size_t at = 0, nl; (nl = report.find('\n', at)) != std::string::npos; at = nl + 1)
        lines.push_back(report.substr(at, nl - at));
    ASSERT_GE(lines.size(), 2u) << report;
    std::string existing = lines[0], fresh = lines[1];
    // Each refused open is also an error line for the operator, which says
    // why, as the error does.
    std::vector<std::string> logged(lines.begin() + 2, lines.end());
    ASSERT_EQ(logged.size(), 2u) << report;
    for (const std::string &l : logged) {
        EXPECT_EQ(l.substr(0, 6), "LOG 1 ") << l;
        EXPECT_TRUE(contains(l, "sqlite: cannot open the SQLite database")) << l;
        EXPECT_TRUE(contains(l, "mounted read-only")) << l;
    }
    EXPECT_TRUE(contains(logged[0], db)) << report;
    EXPECT_TRUE(contains(logged[1], "new.db")) << report;
    for (const std::string &r : {existing, fresh}) {
        EXPECT_EQ(r.substr(0, r.find(' ')), std::to_string(CACHE_EIO)) << r;
        EXPECT_TRUE(contains(r, "it is read-only")) << r;
        EXPECT_TRUE(contains(r, "mounted read-only")) << r;
        EXPECT_FALSE(contains(r, "No such file")) << r;
    }
    EXPECT_TRUE(contains(existing, db)) << existing;
    // Nothing was changed, and the cache still works where it may write.
    EXPECT_EQ(read_file(db), before);
    ASSERT_EQ(cache_open(("sqlite://" + db).c_str(), &c), CACHE_OK) << cache_last_error();
    cache_buf b = {nullptr, 0};
    ASSERT_EQ(cache_get(c, "k", 1, &b), CACHE_OK) << cache_last_error();
    EXPECT_EQ(std::string(static_cast<const char *>(b.data), b.size), "kept");
    cache_buf_free(&b);
    cache_close(c);
}

TEST(SqliteReadOnly, AWriteThatFailsAtCommitSaysItCannotWrite)
{
    SqliteTempDir dir("wfault");
    std::string db = dir.file("cache.db");
    std::string uri = "sqlite://" + db;
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    ASSERT_EQ(set_str(c, "n", "5"), CACHE_OK) << cache_last_error();
    cache_close(c);

    std::string report = in_child([&] {
        std::signal(SIGXFSZ, SIG_IGN); // EFBIG instead of a signal
        cache_t *h = nullptr;
        if (cache_open(uri.c_str(), &h) != CACHE_OK)
            return std::string("setup: open: ") + cache_last_error();
        cache_buf b = {nullptr, 0};
        int rc = cache_get(h, "n", 1, &b); // the -wal and -shm files exist now
        cache_buf_free(&b);
        struct stat st;
        if (rc != CACHE_OK || stat((db + "-wal").c_str(), &st) != 0 || st.st_size != 0)
            return std::string("setup: the WAL is not empty or the read failed");
        // From here on no file may grow: the transaction's pages cannot be
        // appended to the WAL, so the COMMIT fails.
        rlimit lim;
        getrlimit(RLIMIT_FSIZE, &lim);
        lim.rlim_cur = 0;
        if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
            return std::string("setup: setrlimit failed");
        cache_int64 v = 0;
        rc = cache_incr(h, "n", 1, 1, &v);
        std::string out = std::to_string(rc) + " " + cache_last_error() + "\n";
        rc = set_str(h, "k", "v");
        out += std::to_string(rc) + " " + cache_last_error();
        cache_close(h);
        return out;
    });
    ASSERT_FALSE(contains(report, "setup:")) << report;
    std::string incr = report.substr(0, report.find('\n'));
    std::string set = report.substr(report.find('\n') + 1);
    for (const std::string &r : {incr, set}) {
        EXPECT_EQ(r.substr(0, r.find(' ')), std::to_string(CACHE_EIO)) << r;
        EXPECT_TRUE(contains(r, "cannot write the SQLite database")) << r;
        EXPECT_FALSE(contains(r, "cannot read")) << r;
    }
    // The failed increment changed nothing.
    ASSERT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << cache_last_error();
    cache_int64 v = 0;
    ASSERT_EQ(cache_incr(c, "n", 1, 1, &v), CACHE_OK) << cache_last_error();
    EXPECT_EQ(v, 6);
    cache_close(c);
}

} // namespace unicache_test
