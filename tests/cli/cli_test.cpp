// The `unicache` command, run as a program (the binary the build installs)
// against every backend: each command's output and exit status, usage
// errors, one exit status per error family, passwords never printed, and a
// pseudo-terminal for the progress bar and clear's question.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sqlite/sqlite_temp_dir.h"
#include "support/server_process.h"
#include "unicache.h"

namespace unicache_test {

namespace {

using Clock = std::chrono::steady_clock;

const char kSecret[] = "Cli-S3cret-77";

std::string cli_path()
{
    const char *p = std::getenv("UNICACHE_CLI");
    return p ? p : "unicache";
}

struct Outcome {
    int status = -1; // exit status; 128 + signal when killed
    std::string out, err;
};

char **argv_of(const std::vector<std::string> &args, std::vector<std::string> &store)
{
    store = args;
    store.insert(store.begin(), cli_path());
    auto *v = new char *[store.size() + 1];
    for (size_t i = 0; i < store.size(); i++)
        v[i] = &store[i][0];
    v[store.size()] = nullptr;
    return v;
}

int wait_bounded(pid_t pid, Clock::time_point deadline)
{
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (Clock::now() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(2000);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Runs the command with pipes for its standard streams; url ("" for none)
// goes in $UNICACHE_URL. Killed after 60 s.
Outcome run(const std::vector<std::string> &args, const std::string &url = "",
            const std::string &input = "")
{
    int in[2], out[2], err[2];
    if (pipe(in) || pipe(out) || pipe(err))
        throw std::runtime_error("pipe");
    std::vector<std::string> store;
    char **argv = argv_of(args, store);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
            close(fd);
        if (url.empty())
            unsetenv("UNICACHE_URL");
        else
            setenv("UNICACHE_URL", url.c_str(), 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    delete[] argv;
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (!input.empty() && write(in[1], input.data(), input.size()) != ssize_t(input.size()))
        ADD_FAILURE() << "short write to the command's stdin";
    close(in[1]);
    Outcome r;
    auto deadline = Clock::now() + std::chrono::seconds(60);
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0 && Clock::now() < deadline) {
        if (poll(fds, 2, 200) <= 0)
            continue;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[4096];
            ssize_t n = read(fds[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else {
                (i == 0 ? r.out : r.err).append(buf, size_t(n));
            }
        }
    }
    for (auto &f : fds)
        if (f.fd >= 0)
            close(f.fd);
    r.status = wait_bounded(pid, deadline);
    return r;
}

// Runs the command on a pseudo-terminal (stdin, stdout and stderr), typing
// `typed` once the output contains `after` (empty: at once). Returns all it
// wrote; killed after 60 s.
Outcome run_on_tty(const std::vector<std::string> &args, const std::string &url,
                   const std::string &after = "", const std::string &typed = "")
{
    std::vector<std::string> store;
    char **argv = argv_of(args, store);
    int master = -1;
    pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
        setenv("UNICACHE_URL", url.c_str(), 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    delete[] argv;
    Outcome r;
    bool sent = typed.empty();
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
        if (!sent && r.out.find(after) != std::string::npos) {
            if (write(master, typed.data(), typed.size()) != ssize_t(typed.size()))
                ADD_FAILURE() << "short write to the terminal";
            sent = true;
        }
        pollfd p = {master, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        char buf[4096];
        ssize_t n = read(master, buf, sizeof buf);
        if (n <= 0)
            break; // EIO: the child closed the terminal
        r.out.append(buf, size_t(n));
    }
    close(master);
    r.status = wait_bounded(pid, deadline);
    return r;
}

struct Target {
    std::string name;
    std::string (*uri)();
    bool shares = true; // a second process sees the entries
    bool lists_keys = true;
};

void PrintTo(const Target &t, std::ostream *os)
{
    *os << t.name;
}

ServerProcess &redis_server()
{
    static ServerProcess s = ServerProcess::redis();
    s.start();
    return s;
}

ServerProcess &redis_with_password()
{
    static ServerProcess s = ServerProcess::redis({"--requirepass", kSecret});
    s.start();
    return s;
}

ServerProcess &memcached_server()
{
    static ServerProcess s = ServerProcess::memcached();
    s.start();
    return s;
}

SqliteTempDir &dir()
{
    static SqliteTempDir d("cli");
    return d;
}

class Cli : public ::testing::TestWithParam<Target> {
protected:
    void SetUp() override
    {
        url = GetParam().uri();
        // Each test's keys of its own, in a store others share.
        std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        k = "cli:" + name.substr(0, name.find('/')) + ":";
    }
    std::string url, k;
};

TEST_P(Cli, SetGetDeleteAcrossRuns)
{
    Outcome s = run({"set", k + "a", "hello world"}, url);
    ASSERT_EQ(s.status, 0) << s.err;
    if (!GetParam().shares) {
        EXPECT_EQ(run({"get", k + "a"}, url).status, 1); // a new process, a new store
        return;
    }
    Outcome g = run({"get", k + "a"}, url);
    EXPECT_EQ(g.status, 0) << g.err;
    EXPECT_EQ(g.out, "hello world"); // byte-exact when not on a terminal
    // From standard input, with bytes a shell would mangle.
    std::string bytes("line 1\nline 2\n\x01\xff", 16);
    ASSERT_EQ(run({"set", k + "b"}, url, bytes).status, 0);
    EXPECT_EQ(run({"get", k + "b"}, url).out, bytes);
    ASSERT_EQ(run({"set", k + "c", "-"}, url, "dash").status, 0);
    EXPECT_EQ(run({"get", k + "c"}, url).out, "dash");
    // --url beats $UNICACHE_URL.
    EXPECT_EQ(run({"--url", url, "get", k + "a"}, "memory://").out, "hello world");

    EXPECT_EQ(run({"delete", k + "a"}, url).status, 0);
    Outcome again = run({"delete", k + "a"}, url);
    EXPECT_EQ(again.status, 1);
    Outcome miss = run({"get", k + "a"}, url);
    EXPECT_EQ(miss.status, 1);
    EXPECT_EQ(miss.out, "");
}

TEST_P(Cli, CountersAndTtl)
{
    if (!GetParam().shares)
        return;
    run({"delete", k + "n"}, url);
    EXPECT_EQ(run({"incr", k + "n"}, url).out, "1\n");
    EXPECT_EQ(run({"incr", k + "n", "41"}, url).out, "42\n");
    EXPECT_EQ(run({"incr", k + "n", "-2"}, url).out, "40\n");
    ASSERT_EQ(run({"set", k + "word", "abc"}, url).status, 0);
    Outcome nan = run({"incr", k + "word"}, url);
    EXPECT_EQ(nan.status, 14) << nan.err; // a value error
    EXPECT_NE(nan.err.find("not a number"), std::string::npos) << nan.err;

    ASSERT_EQ(run({"set", k + "t", "v", "--ttl", "100s"}, url).status, 0);
    Outcome t = run({"ttl", k + "t"}, url);
    ASSERT_EQ(t.status, 0) << t.err;
    double left = std::atof(t.out.c_str());
    EXPECT_GT(left, 90);
    EXPECT_LE(left, 100);
    ASSERT_EQ(run({"set", k + "forever", "v", "--ttl", "0"}, url).status, 0);
    EXPECT_EQ(run({"ttl", k + "forever"}, url).out, "never\n");
    EXPECT_EQ(run({"ttl", k + "absent"}, url).status, 1);
}

TEST_P(Cli, KeysAndDeletePattern)
{
    if (!GetParam().shares)
        return;
    for (const char *s : {"x1", "x2", "y1"})
        ASSERT_EQ(run({"set", k + s, "v"}, url).status, 0);
    Outcome keys = run({"keys", k + "x*"}, url);
    if (!GetParam().lists_keys) {
        EXPECT_EQ(keys.status, 13) << keys.err; // not supported
        EXPECT_NE(keys.err.find("cannot list keys"), std::string::npos) << keys.err;
        return;
    }
    ASSERT_EQ(keys.status, 0) << keys.err;
    EXPECT_NE(keys.out.find(k + "x1\n"), std::string::npos) << keys.out;
    EXPECT_NE(keys.out.find(k + "x2\n"), std::string::npos) << keys.out;
    EXPECT_EQ(keys.out.find("y1"), std::string::npos) << keys.out;
    EXPECT_EQ(run({"keys", k + "*", "--limit", "1"}, url).out.find('\n'),
              run({"keys", k + "*", "--limit", "1"}, url).out.size() - 1);
    Outcome del = run({"delete-pattern", k + "x*"}, url);
    EXPECT_EQ(del.out, "2\n") << del.err;
    EXPECT_EQ(run({"get", k + "x1"}, url).status, 1);
    EXPECT_EQ(run({"get", k + "y1"}, url).status, 0);
}

TEST_P(Cli, ClearAsksOrNeedsYes)
{
    ASSERT_EQ(run({"set", k + "keep", "v"}, url).status, 0);
    Outcome refused = run({"clear"}, url); // no terminal, no --yes
    EXPECT_EQ(refused.status, 2);
    EXPECT_NE(refused.err.find("--yes"), std::string::npos) << refused.err;
    if (GetParam().shares) {
        EXPECT_EQ(run({"get", k + "keep"}, url).status, 0);
        Outcome no = run_on_tty({"clear"}, url, "[y/N]", "n\n");
        EXPECT_EQ(no.status, 3) << no.out;
        EXPECT_EQ(run({"get", k + "keep"}, url).status, 0);
        Outcome yes = run_on_tty({"clear"}, url, "[y/N]", "y\n");
        EXPECT_EQ(yes.status, 0) << yes.out;
        EXPECT_EQ(run({"get", k + "keep"}, url).status, 1);
        ASSERT_EQ(run({"set", k + "keep", "v"}, url).status, 0);
    }
    EXPECT_EQ(run({"clear", "--yes"}, url).status, 0);
    if (GetParam().shares) {
        EXPECT_EQ(run({"get", k + "keep"}, url).status, 1);
    }
}

TEST_P(Cli, StatsInfoPingWatch)
{
    Outcome table = run({"stats"}, url);
    ASSERT_EQ(table.status, 0) << table.err;
    EXPECT_NE(table.out.find("hit_ratio"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("backend "), std::string::npos) << table.out;
    Outcome json = run({"stats", "--json"}, url);
    ASSERT_EQ(json.status, 0);
    EXPECT_EQ(json.out.substr(0, 2), "{\"");
    Outcome info = run({"info"}, url);
    EXPECT_EQ(info.status, 0) << info.err;
    EXPECT_FALSE(info.out.empty());
    Outcome ping = run({"ping"}, url);
    EXPECT_EQ(ping.status, 0) << ping.err;
    EXPECT_EQ(ping.out.substr(0, 3), "ok ");
    auto t0 = Clock::now();
    Outcome watch = run({"watch", url, "--count", "3", "--interval", "100"});
    EXPECT_EQ(watch.status, 0) << watch.err;
    size_t lines = 0;
    for (char c : watch.out)
        lines += c == '\n';
    EXPECT_EQ(lines, 3u) << watch.out;
    EXPECT_NE(watch.out.find(" size="), std::string::npos) << watch.out;
    EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(200)); // it waited between refreshes
}

// Hits and misses of each refresh of watch's output line n (0-based):
// name=value pairs after the time stamp.
std::map<std::string, std::string> watch_fields(const std::string &out, size_t n)
{
    std::map<std::string, std::string> f;
    size_t at = 0;
    for (size_t i = 0; i < n && at != std::string::npos; i++)
        at = out.find('\n', at) + 1;
    std::string line = out.substr(at, out.find('\n', at) - at);
    std::istringstream in(line);
    std::string word;
    while (in >> word)
        if (word.find('=') != std::string::npos)
            f[word.substr(0, word.find('='))] = word.substr(word.find('=') + 1);
    return f;
}

TEST_P(Cli, WatchShowsWhatOtherProcessesDo)
{
    // This test process is the other process: its gets run while watch
    // refreshes, and watch's own handle never sees them.
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(url.c_str(), &c), CACHE_OK) << cache_last_error();
    const std::string key = k + "w";
    ASSERT_EQ(cache_set(c, key.data(), key.size(), "v", 1, CACHE_TTL_NONE), CACHE_OK);
    std::atomic<bool> stop{false};
    std::thread traffic([&] {
        auto until = Clock::now() + std::chrono::seconds(20);
        for (int i = 0; i < 200000 && !stop && Clock::now() < until; i++) {
            cache_buf b = {nullptr, 0};
            std::string miss = k + "absent";
            cache_get(c, key.data(), key.size(), &b);
            cache_buf_free(&b);
            cache_get(c, miss.data(), miss.size(), &b);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    Outcome w = run({"watch", url, "--count", "2", "--interval", "400"});
    stop = true;
    traffic.join();
    cache_close(c);
    ASSERT_EQ(w.status, 0) << w.err;
    auto first = watch_fields(w.out, 0), second = watch_fields(w.out, 1);
    const std::string name = GetParam().name;
    EXPECT_EQ(second["backend"], name == "memory" ? "memory" : name) << w.out;
    if (name == "redis" || name == "memcached") {
        const std::string hits = name == "redis" ? "keyspace_hits" : "get_hits";
        const std::string misses = name == "redis" ? "keyspace_misses" : "get_misses";
        EXPECT_EQ(second["source"], "server") << w.out;
        EXPECT_GT(std::stod(second[hits]), std::stod(first[hits])) << w.out;
        EXPECT_GT(std::stod(second[misses]), std::stod(first[misses])) << w.out;
        EXPECT_GT(std::stod(second[hits + "_per_s"]), 0) << w.out;
        EXPECT_EQ(first[hits + "_per_s"], "-") << w.out; // no interval yet
        EXPECT_NE(second["interval_hit_ratio"], "-") << w.out;
        EXPECT_EQ(second.count("hits"), 0u) << "the handle's own counters are not shown";
        EXPECT_NE(w.err.find("every client"), std::string::npos) << w.err;
    } else if (name == "sqlite") {
        EXPECT_EQ(second["source"], "file") << w.out;
        EXPECT_GT(std::stod(second["file_bytes"]), 0) << w.out;
        EXPECT_GT(std::stod(second["page_count"]), 0) << w.out;
        EXPECT_NE(w.err.find("other processes' hits cannot be observed"), std::string::npos)
            << w.err;
    } else {
        EXPECT_EQ(second["source"], "this-handle") << w.out;
        EXPECT_EQ(second["hits"], "0") << w.out;
        EXPECT_NE(w.err.find("no other process's memory:// cache can be observed"),
                  std::string::npos)
            << w.err;
    }
}

TEST_P(Cli, BenchPrintsATableAndTheHitRatio)
{
    Outcome b = run({"bench", url, "--threads", "2", "--ops", "3000", "--keys", "200", "--zipf",
                     "0.99", "--read-ratio", "0.8", "--value-size", "64"});
    ASSERT_EQ(b.status, 0) << b.err << b.out;
    for (const char *want : {"p50 us", "p99 us", "p99.9 us", "\nget ", "\nset ", "\nall ",
                             "hit ratio 1.0000", " 3000 "})
        EXPECT_NE(b.out.find(want), std::string::npos) << want << " in\n" << b.out;
    EXPECT_EQ(b.err.find('\r'), std::string::npos) << "no progress bar off a terminal";
}

std::string memory_uri()
{
    return "memory://";
}
std::string sqlite_uri()
{
    return "sqlite://" + dir().file("cli.db");
}
std::string redis_uri()
{
    return "redis://127.0.0.1:" + std::to_string(redis_server().port()) + "/0";
}
std::string memcached_uri()
{
    return "memcached://127.0.0.1:" + std::to_string(memcached_server().port());
}

INSTANTIATE_TEST_SUITE_P(Backends, Cli,
                         ::testing::Values(Target{"memory", memory_uri, false, true},
                                           Target{"sqlite", sqlite_uri}, Target{"redis", redis_uri},
                                           Target{"memcached", memcached_uri, true, false}),
                         [](const ::testing::TestParamInfo<Target> &i) { return i.param.name; });

TEST(CliTerminal, BenchDrawsAProgressBarOnATerminalOnly)
{
    Outcome b =
        run_on_tty({"bench", "--ops", "200000", "--keys", "1000", "--time", "30"}, "memory://");
    ASSERT_EQ(b.status, 0) << b.out;
    EXPECT_NE(b.out.find("\r["), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("%  "), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("/200000 ops"), std::string::npos) << b.out;
    EXPECT_NE(b.out.find("\r\033[K"), std::string::npos) << "the bar is erased before the table";
    EXPECT_NE(b.out.find("hit ratio"), std::string::npos) << b.out;
    // And a bench bounded by --time stops and says so.
    Outcome t = run({"bench", "memory://", "--ops", "1000000000", "--time", "0.3"});
    EXPECT_EQ(t.status, 0) << t.err;
    EXPECT_NE(t.out.find("stopped by --time"), std::string::npos) << t.out;
}

TEST(CliUsage, UsageErrorsExitTwo)
{
    const std::vector<std::vector<std::string>> bad = {
        {},
        {"frobnicate"},
        {"get"},
        {"get", "a", "b"},
        {"set", "k", "v", "--ttl", "soon"},
        {"set", "k", "v", "--bogus"},
        {"keys", "*", "--limit", "-1"},
        {"bench", "--threads", "0"},
        {"bench", "--read-ratio", "2"},
        {"watch", "--count"},
        {"--url"},
    };
    for (const auto &args : bad) {
        Outcome r = run(args, "memory://");
        EXPECT_EQ(r.status, 2) << args.size() << " " << r.err;
        EXPECT_NE(r.err.find("unicache"), std::string::npos) << r.err;
    }
    Outcome none = run({"get", "k"}); // no --url, no $UNICACHE_URL
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.err.find("UNICACHE_URL"), std::string::npos) << none.err;
    Outcome help = run({"--help"});
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("exit status"), std::string::npos);
}

TEST(CliErrors, EachFamilyHasItsExitStatusAndNoPasswordIsPrinted)
{
    Outcome invalid = run({"ping"}, "memory://?bogus_param=1");
    EXPECT_EQ(invalid.status, 10) << invalid.err;
    EXPECT_NE(invalid.err.find("bogus_param"), std::string::npos) << invalid.err;

    int closed = ServerProcess::free_port();
    Outcome down =
        run({"ping"}, "redis://127.0.0.1:" + std::to_string(closed) + "/0?timeout_ms=500");
    EXPECT_EQ(down.status, 11) << down.err;

    std::string port = std::to_string(redis_with_password().port());
    std::string wrong = std::string("redis://:not-") + kSecret + "@127.0.0.1:" + port + "/0";
    Outcome auth = run({"get", "k"}, wrong);
    EXPECT_EQ(auth.status, 12) << auth.err;
    std::string right = std::string("redis://:") + kSecret + "@127.0.0.1:" + port + "/0";
    Outcome ok = run({"stats"}, right);
    EXPECT_EQ(ok.status, 0) << ok.err;
    Outcome benched = run({"bench", right, "--ops", "100", "--keys", "10"});
    EXPECT_EQ(benched.status, 0) << benched.err;
    for (const Outcome *r : {&auth, &ok, &benched}) {
        EXPECT_EQ(r->out.find("S3cret"), std::string::npos) << r->out;
        EXPECT_EQ(r->err.find("S3cret"), std::string::npos) << r->err;
    }
    EXPECT_NE(ok.out.find("***"), std::string::npos) << ok.out;
}

} // namespace

} // namespace unicache_test
