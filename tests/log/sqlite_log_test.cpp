// The SQLite store's log lines (issue 15: "a store opened read-only or
// recovered"), on real files: a WAL and a hot rollback journal left by a
// process killed with SIGKILL in the middle of a transaction are recovered
// by SQLite on the next open, and SQLite's own notice of it becomes one
// warning line; a clean reopen says nothing. (The read-only line is tested
// on a real read-only mount in tests/sqlite/sqlite_readonly_test.cpp.)
//
// SQLite's log callback can only be installed before SQLite is initialized
// in the process, so every test here opens a unicache handle before its
// first plain sqlite3 call; the crashing writers run in forked children.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sqlite/sqlite_raw.h"
#include "sqlite/sqlite_temp_dir.h"
#include "support/cache_io.h"
#include "support/log_recorder.h"
#include "unicache.h"

namespace unicache_test {

namespace {

const char kValue[] = "VALUE-5e0c";

long long file_size(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0 ? (long long)st.st_size : -1;
}

cache_t *open_ok(const std::string &uri)
{
    cache_t *c = nullptr;
    EXPECT_EQ(cache_open(uri.c_str(), &c), CACHE_OK) << uri << ": " << cache_last_error();
    return c;
}

// Runs body in a forked child that body ends with SIGKILL (bounded by
// 30 s); true when the child died of it.
bool killed_in_child(const std::function<void()> &body)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30);
        body();
        _exit(3); // body did not get to its kill
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// A transaction that writes well past the page cache (so its pages reach
// the WAL or the database file before any commit), and the kill in its
// middle.
void die_in_a_transaction(const std::string &db)
{
    RawDb raw(db);
    raw.exec("PRAGMA cache_size = 5");
    raw.exec("BEGIN IMMEDIATE");
    raw.exec("CREATE TABLE unfinished(x)");
    raw.exec("INSERT INTO unfinished WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
             "FROM n WHERE i < 5000) SELECT randomblob(200) FROM n");
    raise(SIGKILL);
}

} // namespace

TEST(SqliteLog, AWalLeftByACrashIsRecoveredAndSaidSo)
{
    SqliteTempDir dir("walcrash");
    const std::string db = dir.file("cache.db");
    // No checkpoint: the committed writes are only in the WAL when it dies.
    const std::string uri = "sqlite://" + db + "?wal_autocheckpoint=0&purge_interval_ms=0";
    ASSERT_TRUE(killed_in_child([&] {
        cache_t *c = nullptr;
        if (cache_open(uri.c_str(), &c) != CACHE_OK)
            _exit(4);
        for (int i = 0; i < 20; i++) {
            if (set_string(c, "k" + std::to_string(i), kValue + std::to_string(i)) != CACHE_OK)
                _exit(5);
        }
        die_in_a_transaction(db);
    }));
    ASSERT_GT(file_size(db + "-wal"), 0) << "the crash left no WAL to recover";

    Recorder r;
    cache_t *c = open_ok(uri);
    ASSERT_NE(c, nullptr);
    std::vector<Line> recovered = r.with("recovered");
    ASSERT_EQ(recovered.size(), 1u) << dump(r.lines());
    EXPECT_EQ(recovered[0].level, CACHE_LOG_WARN);
    EXPECT_NE(recovered[0].text.find("after a crash"), std::string::npos) << recovered[0].text;
    EXPECT_NE(recovered[0].text.find("from WAL file " + db + "-wal"), std::string::npos)
        << recovered[0].text;
    // What was committed is there; the unfinished transaction is not.
    for (int i = 0; i < 20; i++)
        EXPECT_EQ(get_string(c, "k" + std::to_string(i)), kValue + std::to_string(i));
    RawDb raw(db);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'unfinished'"), 0);
    cache_close(c);
    r.expect_clean({kValue});
}

TEST(SqliteLog, AHotRollbackJournalIsRolledBackAndSaidSo)
{
    SqliteTempDir dir("journalcrash");
    const std::string db = dir.file("cache.db");
    const std::string uri = "sqlite://" + db + "?purge_interval_ms=0";
    cache_t *c = open_ok(uri);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_string(c, "k", kValue), CACHE_OK);
    cache_close(c);
    // A cache file in rollback-journal mode (a copy made with a tool, an old
    // build), whose writer dies with its journal hot.
    {
        RawDb raw(db);
        ASSERT_EQ(raw.text("PRAGMA journal_mode = DELETE"), "delete");
    }
    ASSERT_TRUE(killed_in_child([&] { die_in_a_transaction(db); }));
    ASSERT_GT(file_size(db + "-journal"), 0) << "the crash left no hot journal";

    Recorder r;
    c = open_ok(uri);
    ASSERT_NE(c, nullptr);
    std::vector<Line> recovered = r.with("recovered");
    ASSERT_EQ(recovered.size(), 1u) << dump(r.lines());
    EXPECT_EQ(recovered[0].level, CACHE_LOG_WARN);
    EXPECT_NE(recovered[0].text.find("rolled back"), std::string::npos) << recovered[0].text;
    EXPECT_NE(recovered[0].text.find(db + "-journal"), std::string::npos) << recovered[0].text;
    EXPECT_EQ(get_string(c, "k"), kValue);
    RawDb raw(db);
    EXPECT_EQ(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'unfinished'"), 0);
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal"); // unicache's mode again
    cache_close(c);
    r.expect_clean({kValue});
}

TEST(SqliteLog, ACleanReopenAndASharedWalSayNothing)
{
    SqliteTempDir dir("clean");
    const std::string uri = "sqlite://" + dir.file("cache.db") + "?purge_interval_ms=0";
    Recorder r;
    cache_t *c = open_ok(uri);
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(set_string(c, "k", kValue), CACHE_OK);
    // A second handle while the first has the WAL open, then a reopen after
    // a clean close: neither is a recovery.
    cache_t *other = open_ok(uri);
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(get_string(other, "k"), kValue);
    cache_close(other);
    cache_close(c);
    c = open_ok(uri);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(get_string(c, "k"), kValue);
    cache_close(c);
    EXPECT_TRUE(r.with("recovered").empty()) << dump(r.lines());
    EXPECT_TRUE(r.with("could not be installed").empty()) << dump(r.lines());
    r.expect_clean({kValue});
}

} // namespace unicache_test
