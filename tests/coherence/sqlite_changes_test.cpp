// The SQLite change log (lib/backends/sqlite/sqlite_changes.h), white-box: a
// recording listener stands where the tier's L1 will; real files, other
// handles, other processes and a plain sqlite3 writer make the changes.
//
// The bound these tests hold it to: a committed write is told within
// kBound (change_poll_ms, 10 ms by default, plus one poll; the bench,
// bench/coherence_lag.cpp, measures the real lag).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "backends/factories.h"
#include "backends/sqlite/sqlite_sql.h"
#include "core/config.h"
#include "core/error.h"
#include "recording_listener.h"
#include "sqlite/sqlite_raw.h"
#include "sqlite/sqlite_temp_dir.h"

namespace unicache_test {

namespace {

using namespace std::chrono_literals;
constexpr auto kBound = 250ms;

std::unique_ptr<unicache::Backend> open_sqlite(const std::string &path,
                                               const std::string &query = "")
{
    unicache::Config c =
        unicache::Config::parse("sqlite://" + path + (query.empty() ? "" : "?" + query));
    auto b = unicache::make_sqlite_backend(c);
    c.params.finish("sqlite");
    return b;
}

} // namespace

TEST(SqliteChanges, WritesByAnyoneAreToldWithinTheBound)
{
    SqliteTempDir dir("changes");
    std::string path = dir.file("c.db");
    RecordingListener l;
    auto a = open_sqlite(path);
    auto b = open_sqlite(path); // another handle, opened before the log exists
    ASSERT_TRUE(a->watch_changes(&l));
    EXPECT_EQ(l.events(), (std::vector<std::string>{"all", "live"}));

    b->set("k", "v1", 0);
    auto took = l.time_until("changed:k", kBound);
    EXPECT_GE(took.count(), 0) << "not told within " << kBound.count() << " ms";
    b->set("k", "v2", 60000); // a rewrite
    EXPECT_TRUE(l.wait_for("changed:k", kBound, 2));
    EXPECT_TRUE(b->touch("k", 0));
    EXPECT_TRUE(l.wait_for("changed:k", kBound, 3));
    EXPECT_EQ(b->incr("n", 1, 0), 1);
    EXPECT_EQ(b->incr("n", 1, 0), 2);
    EXPECT_TRUE(l.wait_for("changed:n", kBound, 2));
    EXPECT_TRUE(b->del("k"));
    EXPECT_TRUE(l.wait_for("changed:k", kBound, 4));
    a->set("own", "v", 0); // this very handle too
    EXPECT_TRUE(l.wait_for("changed:own", kBound));

    // A writer that is not unicache at all: the triggers live in the file.
    RawDb raw(path);
    raw.exec("INSERT INTO cache (key, value) VALUES (CAST('raw' AS BLOB), CAST('x' AS BLOB))");
    EXPECT_TRUE(l.wait_for("changed:raw", kBound));

    // Another process, with a handle of its own.
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        auto c = open_sqlite(path);
        c->set("from-child", "v", 0);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_TRUE(l.wait_for("changed:from-child", kBound));
    EXPECT_EQ(l.count("down"), 0u);
    std::string info = a->info();
    EXPECT_NE(info.find(" change_log=live change_poll_ms=10 "), std::string::npos) << info;
    EXPECT_EQ(b->info().find("change_log="), std::string::npos); // nothing watches there
}

TEST(SqliteChanges, ReadsAndTheEvictionClockAreNotChanges)
{
    SqliteTempDir dir("changes-reads");
    std::string path = dir.file("c.db");
    RecordingListener l;
    auto a = open_sqlite(path, "max_items=100");
    ASSERT_TRUE(a->watch_changes(&l));
    auto b = open_sqlite(path, "max_items=100");
    b->set("k", "v", 0);
    ASSERT_TRUE(l.wait_for("changed:k", kBound));
    unicache::OwnedBuffer out;
    for (int i = 0; i < 50; i++) // each marks the reference bit
        ASSERT_TRUE(b->get("k", &out));
    b->set("sentinel", "v", 0);
    ASSERT_TRUE(l.wait_for("changed:sentinel", kBound));
    EXPECT_EQ(l.count("changed:k"), 1u);
}

TEST(SqliteChanges, ALogTrimmedPastWhatWasSeenIsChangedAll)
{
    SqliteTempDir dir("changes-trim");
    std::string path = dir.file("c.db");
    RecordingListener l;
    auto a = open_sqlite(path, "change_poll_ms=2000");
    ASSERT_TRUE(a->watch_changes(&l));
    ASSERT_EQ(l.count("all"), 1u);
    // More changes than the log keeps, between two polls.
    auto b = open_sqlite(path);
    const size_t n = size_t(unicache::kChangeLogKeep + 2 * unicache::kChangeLogTrimEvery);
    std::vector<std::string> keys(n);
    std::vector<unicache::Bytes> kb(n), vb(n, "v");
    for (size_t i = 0; i < n; i++) {
        keys[i] = "k" + std::to_string(i);
        kb[i] = keys[i];
    }
    b->set_many(kb.data(), vb.data(), n, 0);
    RawDb raw(path);
    EXPECT_LE(std::stoll(raw.text("SELECT count(*) FROM \"cache.changes\"")),
              unicache::kChangeLogKeep + unicache::kChangeLogTrimEvery);
    ASSERT_TRUE(l.wait_for("all", 4000ms, 2));
    EXPECT_EQ(l.count("changed:k0"), 0u); // trimmed: not told one by one
    // Then back to telling keys.
    b->set("after", "v", 0);
    EXPECT_TRUE(l.wait_for("changed:after", 4000ms));
}

TEST(SqliteChanges, ForkedChildWatchesOnItsOwn)
{
    SqliteTempDir dir("changes-fork");
    std::string path = dir.file("c.db");
    RecordingListener l;
    auto a = open_sqlite(path);
    ASSERT_TRUE(a->watch_changes(&l));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        unicache::OwnedBuffer out;
        a->get("nothing", &out); // the child's first call starts its watch
        bool live = l.wait_for("live", 2000ms, 2);
        auto other = open_sqlite(path);
        other->set("told-in-child", "v", 0);
        bool told = l.wait_for("changed:told-in-child", kBound);
        _exit(live && told ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_TRUE(l.wait_for("changed:told-in-child", kBound)); // the parent too
    a->set("parent-still", "v", 0);
    EXPECT_TRUE(l.wait_for("changed:parent-still", kBound));
}

TEST(SqliteChanges, BadPollIntervalIsRefused)
{
    SqliteTempDir dir("changes-bad");
    for (const char *q : {"change_poll_ms=0", "change_poll_ms=-5", "change_poll_ms=x"}) {
        try {
            open_sqlite(dir.file("c.db"), q);
            ADD_FAILURE() << q << " was accepted";
        } catch (const unicache::Error &e) {
            EXPECT_EQ(e.status(), CACHE_EINVAL) << q;
            EXPECT_NE(std::string(e.what()).find("change_poll_ms"), std::string::npos) << e.what();
        }
    }
}

} // namespace unicache_test
