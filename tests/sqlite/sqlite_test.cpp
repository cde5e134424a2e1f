// SQLite-backend behaviour beyond the contract: URI forms and parameters,
// the file format and its safety checks, locking, eviction, expiry, tags
// and glob patterns. Files are inspected with plain sqlite3 (sqlite_raw.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <set>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "sqlite_raw.h"
#include "sqlite_temp_dir.h"
#include "unicache.h"

namespace unicache_test {

namespace {

std::string last()
{
    return cache_last_error();
}

// The buffer's bytes as a string; frees the buffer.
std::string consume(cache_buf *b)
{
    std::string s(b->data ? static_cast<char *>(b->data) : "", b->size);
    cache_buf_free(b);
    return s;
}

int set_str(cache_t *c, const std::string &k, const std::string &v, int64_t ttl = 0)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), ttl);
}

std::string get_str(cache_t *c, const std::string &k, int *rc = nullptr)
{
    cache_buf b = {nullptr, 0};
    int r = cache_get(c, k.data(), k.size(), &b);
    if (rc)
        *rc = r;
    return consume(&b);
}

std::string stats(cache_t *c)
{
    cache_buf j = {nullptr, 0};
    EXPECT_EQ(cache_stats_json(c, &j), CACHE_OK);
    return consume(&j);
}

long long stat_field(const std::string &json, const std::string &name)
{
    size_t p = json.find("\"" + name + "\":");
    if (p == std::string::npos)
        return -1;
    return std::stoll(json.substr(p + name.size() + 3));
}

std::string info(cache_t *c)
{
    cache_buf b = {nullptr, 0};
    EXPECT_EQ(cache_backend_info(c, &b), CACHE_OK);
    return consume(&b);
}

std::set<std::string> list_keys(cache_t *c, const std::string &pattern, int *rc)
{
    cache_buf_array arr = {nullptr, 0};
    *rc = cache_keys(c, pattern.data(), pattern.size(), 0, &arr);
    std::set<std::string> out;
    for (size_t i = 0; i < arr.count; i++)
        out.insert(std::string(static_cast<char *>(arr.items[i].data), arr.items[i].size));
    cache_buf_array_free(&arr);
    return out;
}

// Opens and expects success.
cache_t *open_ok(const std::string &uri)
{
    cache_t *c = nullptr;
    int rc = cache_open(uri.c_str(), &c);
    EXPECT_EQ(rc, CACHE_OK) << uri << ": " << last();
    return c;
}

// Opens and expects failure with `status`; returns the message.
std::string open_fails(const std::string &uri, int status)
{
    cache_t *c = reinterpret_cast<cache_t *>(1);
    EXPECT_EQ(cache_open(uri.c_str(), &c), status) << uri << ": " << last();
    EXPECT_EQ(c, nullptr);
    if (c && c != reinterpret_cast<cache_t *>(1))
        cache_close(c);
    return last();
}

bool contains(const std::string &haystack, const std::string &needle)
{
    return haystack.find(needle) != std::string::npos;
}

class SqliteFile : public ::testing::Test {
protected:
    SqliteFile() : dir("unit") {}
    std::string path(const std::string &name = "cache.db") const { return dir.file(name); }
    std::string uri(const std::string &name = "cache.db", const std::string &query = "") const
    {
        return "sqlite://" + dir.file(name) + query;
    }
    SqliteTempDir dir;
};

// ------------------------------------------------------------ URI forms

TEST_F(SqliteFile, AbsoluteRelativeAndJsonLocationsNameTheSameFile)
{
    cache_t *abs = open_ok(uri()); // sqlite:///tmp/.../cache.db
    ASSERT_EQ(set_str(abs, "k", "from absolute"), CACHE_OK) << last();

    char cwd[4096];
    ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
    ASSERT_EQ(chdir(dir.path().c_str()), 0);
    cache_t *rel = open_ok("sqlite://cache.db");
    ASSERT_EQ(chdir(cwd), 0);
    ASSERT_NE(rel, nullptr);
    EXPECT_EQ(get_str(rel, "k"), "from absolute");

    std::string json = R"({"backend":"sqlite","path":")" + path() + R"(","busy_timeout_ms":100})";
    cache_t *js = open_ok(json);
    ASSERT_NE(js, nullptr);
    EXPECT_EQ(get_str(js, "k"), "from absolute");
    cache_close(js);
    cache_close(rel);
    cache_close(abs);
}

TEST(Sqlite, MemoryDatabasesArePrivateToTheirHandle)
{
    cache_t *a = open_ok("sqlite://:memory:");
    cache_t *b = open_ok("sqlite://:memory:");
    ASSERT_EQ(set_str(a, "k", "a"), CACHE_OK) << last();
    EXPECT_EQ(cache_exists(b, "k", 1), CACHE_MISS);
    EXPECT_EQ(get_str(a, "k"), "a");
    EXPECT_TRUE(contains(info(a), "path=:memory:")) << info(a);
    cache_close(a);
    cache_close(b);
}

TEST(Sqlite, BadParametersAreInvalid)
{
    struct Case {
        std::string uri, mention;
    } cases[] = {
        {"sqlite://", "needs a file"},
        {"sqlite://:memory:?table=drop%20table", "table"},
        {"sqlite://:memory:?table=sqlite_x", "table"},
        {"sqlite://:memory:?table=9lives", "table"},
        {"sqlite://:memory:?synchronous=sometimes", "synchronous"},
        {"sqlite://:memory:?busy_timeout_ms=-1", "busy_timeout_ms"},
        {"sqlite://:memory:?max_items=-5", "max_items"},
        {"sqlite://:memory:?max_size_mb=lots", "max_size_mb"},
        {"sqlite://:memory:?purge_interval_ms=1.5", "purge_interval_ms"},
        {"sqlite://:memory:?read_anchor=sometimes", "read_anchor"},
        {"sqlite://:memory:?wal_autocheckpoint=-1", "wal_autocheckpoint"},
        {"sqlite://:memory:?max_entries=5", "max_entries"},
        {"sqlite://user:secret@host/x.db", "user and password"},
    };
    for (const Case &k : cases) {
        std::string msg = open_fails(k.uri, CACHE_EINVAL);
        EXPECT_TRUE(contains(msg, k.mention)) << k.uri << " -> " << msg;
        EXPECT_FALSE(contains(msg, "secret")) << msg;
    }
    // The unknown-parameter message lists the valid ones.
    std::string msg = open_fails("sqlite://:memory:?max_entries=5", CACHE_EINVAL);
    for (const char *p :
         {"table", "max_items", "max_size_mb", "synchronous", "busy_timeout_ms",
          "purge_interval_ms", "read_anchor", "wal_autocheckpoint", "prefix", "default_ttl"})
        EXPECT_TRUE(contains(msg, p)) << p << " not in: " << msg;
}

TEST_F(SqliteFile, EveryParameterIsApplied)
{
    cache_t *c = open_ok(uri("p.db", "?table=mine&max_items=500&max_size_mb=3&synchronous=full&"
                                     "busy_timeout_ms=1234&purge_interval_ms=0&read_anchor=false&"
                                     "wal_autocheckpoint=77&prefix=app:"));
    ASSERT_NE(c, nullptr);
    std::string text = info(c);
    for (const char *want : {"table=mine", "max_items=500", "max_size_mb=3", "synchronous=full",
                             "busy_timeout_ms=1234", "purge_interval_ms=0", "read_anchor=off",
                             "wal_autocheckpoint=77", "journal_mode=wal"})
        EXPECT_TRUE(contains(text, want)) << want << " not in: " << text;
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    cache_close(c);
    RawDb raw(path("p.db"));
    EXPECT_EQ(raw.text("SELECT value FROM mine WHERE key = CAST('app:|k' AS BLOB)"), "v");
}

// -------------------------------------------------------- file format

TEST_F(SqliteFile, FileCarriesApplicationIdSchemaVersionAndWal)
{
    cache_t *c = open_ok(uri());
    ASSERT_EQ(set_str(c, "k", "v", 60000), CACHE_OK);
    {
        RawDb raw(path());
        EXPECT_EQ(raw.integer("PRAGMA application_id"), 0x75636163);
        EXPECT_EQ(raw.integer("PRAGMA user_version"), 1);
        EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
        for (const char *n : {"cache", "cache.tags", "cache.expiry", "cache.tags_key",
                              "cache.untag_delete", "cache.untag_update"})
            EXPECT_EQ(raw.integer(std::string("SELECT count(*) FROM sqlite_master WHERE name = '") +
                                  n + "'"),
                      1)
                << n;
    }
    cache_close(c);
}

TEST_F(SqliteFile, ExpiryQueriesUseTheIndex)
{
    cache_t *c = open_ok(uri());
    cache_close(c);
    RawDb raw(path());
    sqlite3_stmt *s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw.db(),
                                 "EXPLAIN QUERY PLAN SELECT rowid FROM cache WHERE expires_at > 0 "
                                 "AND expires_at <= 5 LIMIT 10",
                                 -1, &s, nullptr),
              SQLITE_OK);
    std::string plan;
    while (sqlite3_step(s) == SQLITE_ROW)
        plan += reinterpret_cast<const char *>(sqlite3_column_text(s, 3));
    sqlite3_finalize(s);
    EXPECT_TRUE(contains(plan, "cache.expiry")) << plan;
}

TEST_F(SqliteFile, SeveralTablesShareOneFileIndependently)
{
    cache_t *a = open_ok(uri("shared.db", "?table=alpha"));
    cache_t *b = open_ok(uri("shared.db", "?table=beta"));
    ASSERT_EQ(set_str(a, "k", "alpha"), CACHE_OK) << last();
    ASSERT_EQ(set_str(b, "k", "beta"), CACHE_OK) << last();
    ASSERT_EQ(cache_clear(a), CACHE_OK);
    EXPECT_EQ(cache_exists(a, "k", 1), CACHE_MISS);
    EXPECT_EQ(get_str(b, "k"), "beta");
    cache_close(a);
    cache_close(b);
}

TEST_F(SqliteFile, NewerSchemaVersionIsRefusedAndLeftAlone)
{
    cache_t *c = open_ok(uri());
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    cache_close(c);
    {
        RawDb raw(path());
        raw.exec("PRAGMA user_version = 2");
    }
    std::string before = read_file(path());
    std::string msg = open_fails(uri(), CACHE_EVERSION);
    EXPECT_TRUE(contains(msg, "newer unicache")) << msg;
    EXPECT_TRUE(contains(msg, "version 2")) << msg;
    EXPECT_EQ(read_file(path()), before);
    RawDb raw(path());
    EXPECT_EQ(raw.integer("PRAGMA user_version"), 2);
    EXPECT_EQ(raw.text("SELECT value FROM cache"), "v");
}

TEST_F(SqliteFile, TextFileIsNotSqliteAndIsNeverOverwritten)
{
    std::string text = "these are my notes, not a database\n";
    text += std::string(5000, 'n');
    write_file(path(), text);
    std::string msg = open_fails(uri(), CACHE_ECORRUPT);
    EXPECT_TRUE(contains(msg, "not a SQLite database")) << msg;
    EXPECT_TRUE(contains(msg, path())) << msg;
    EXPECT_EQ(read_file(path()), text);
    EXPECT_FALSE(file_exists(path() + "-wal"));
}

TEST_F(SqliteFile, AnotherApplicationsDatabaseIsRefusedAndLeftAlone)
{
    {
        RawDb raw(path());
        raw.exec("CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL);"
                 "INSERT INTO invoices(total) VALUES (12.5)");
    }
    std::string before = read_file(path());
    std::string msg = open_fails(uri(), CACHE_ECORRUPT);
    EXPECT_TRUE(contains(msg, "did not create")) << msg;
    EXPECT_EQ(read_file(path()), before);
    {
        RawDb raw(path());
        raw.exec("PRAGMA application_id = 1234");
    }
    msg = open_fails(uri(), CACHE_ECORRUPT);
    EXPECT_TRUE(contains(msg, "another application")) << msg;
    RawDb raw(path());
    EXPECT_EQ(raw.text("PRAGMA journal_mode"), "delete"); // never switched to WAL
}

TEST_F(SqliteFile, ForeignTableUnderTheCacheNameIsRefused)
{
    cache_t *c = open_ok(uri());
    cache_close(c);
    {
        RawDb raw(path());
        raw.exec("CREATE TABLE other(id INTEGER PRIMARY KEY, name TEXT)");
    }
    std::string msg = open_fails(uri("cache.db", "?table=other"), CACHE_ECORRUPT);
    EXPECT_TRUE(contains(msg, "unicache layout")) << msg;
}

TEST_F(SqliteFile, CorruptFilesGiveCorruptStatus)
{
    cache_t *c = open_ok(uri());
    std::string big(3000, 'x');
    for (int i = 0; i < 2000; i++)
        ASSERT_EQ(set_str(c, "key" + std::to_string(i), big), CACHE_OK);
    cache_close(c); // checkpoints the WAL into the file
    ASSERT_FALSE(file_exists(path() + "-wal"));
    std::string good = read_file(path());
    ASSERT_GT(good.size(), 100000u);

    // Every page but the first (the schema) overwritten with garbage.
    std::string bad = good;
    for (size_t i = 4096; i < bad.size(); i++)
        bad[i] = char(0xA5 ^ (i * 31));
    write_file(path(), bad);
    cache_t *h = nullptr;
    int rc = cache_open(uri().c_str(), &h);
    if (rc == CACHE_OK) {
        int r = CACHE_OK;
        get_str(h, "key5", &r);
        int k;
        list_keys(h, "*", &k);
        EXPECT_TRUE(r == CACHE_ECORRUPT || k == CACHE_ECORRUPT) << r << " " << k;
        EXPECT_TRUE(contains(last(), "corrupt")) << last();
        cache_close(h);
    } else {
        EXPECT_EQ(rc, CACHE_ECORRUPT) << last();
    }

    // A damaged header: not recognisable as SQLite at all.
    bad = good;
    bad.replace(0, 16, "garbage garbage!");
    write_file(path(), bad);
    std::string msg = open_fails(uri(), CACHE_ECORRUPT);
    EXPECT_TRUE(contains(msg, "not a SQLite database")) << msg;
    EXPECT_EQ(read_file(path()), bad);
}

// ---------------------------------------------------------- bad input

TEST_F(SqliteFile, MissingDirectoryIsAnIoErrorAndCreatesNothing)
{
    std::string missing = dir.path() + "/no/such/dir/cache.db";
    std::string msg = open_fails("sqlite://" + missing, CACHE_EIO);
    EXPECT_TRUE(contains(msg, "does not exist")) << msg;
    EXPECT_TRUE(contains(msg, dir.path() + "/no/such/dir")) << msg;
    EXPECT_FALSE(file_exists(dir.path() + "/no"));
}

TEST_F(SqliteFile, DirectoryInPlaceOfTheFileIsAnIoError)
{
    ASSERT_EQ(mkdir(path("adir").c_str(), 0755), 0);
    std::string msg = open_fails(uri("adir"), CACHE_EIO);
    EXPECT_TRUE(contains(msg, "is a directory")) << msg;
}

TEST_F(SqliteFile, ReadOnlyFileIsAnIoErrorAndStaysIntact)
{
    cache_t *c = open_ok(uri());
    ASSERT_EQ(set_str(c, "k", "kept"), CACHE_OK);
    cache_close(c);
    std::string before = read_file(path());
    ASSERT_EQ(chmod(path().c_str(), 0444), 0);
    // root ignores permission bits: run the open as an unprivileged user,
    // in a child, with a directory it may write (only the file is read-only).
    ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        cache_t *h = nullptr;
        int rc = cache_open(uri().c_str(), &h);
        std::string report = std::to_string(rc) + " " + cache_last_error();
        if (write(fds[1], report.data(), report.size()) < 0)
            _exit(4);
        cache_close(h);
        _exit(0);
    }
    close(fds[1]);
    std::string report;
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        report.append(buf, size_t(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_EQ(report.substr(0, report.find(' ')), std::to_string(CACHE_EIO)) << report;
    EXPECT_TRUE(contains(report, "read-only")) << report;
    EXPECT_EQ(read_file(path()), before);
    chmod(path().c_str(), 0644);
    cache_t *again = open_ok(uri());
    EXPECT_EQ(get_str(again, "k"), "kept");
    cache_close(again);
}

TEST_F(SqliteFile, ValueLargerThanTheCacheIsTooBigAndChangesNothing)
{
    cache_t *c = open_ok(uri("small.db", "?max_size_mb=1"));
    ASSERT_EQ(set_str(c, "k", "old"), CACHE_OK);
    std::string huge(2 << 20, 'x');
    EXPECT_EQ(set_str(c, "k", huge), CACHE_ETOOBIG);
    EXPECT_TRUE(contains(last(), "max_size_mb=1")) << last();
    EXPECT_EQ(cache_add(c, "new", 3, huge.data(), huge.size(), 0), CACHE_ETOOBIG);
    cache_slice tag = {"t", 1};
    EXPECT_EQ(cache_set_tagged(c, "k", 1, huge.data(), huge.size(), 0, &tag, 1), CACHE_ETOOBIG);
    cache_slice ks[] = {{"a", 1}, {"k", 1}};
    cache_slice vs[] = {{"small", 5}, {huge.data(), huge.size()}};
    EXPECT_EQ(cache_set_many(c, ks, vs, 2, 0), CACHE_ETOOBIG);
    EXPECT_EQ(get_str(c, "k"), "old");
    EXPECT_EQ(cache_exists(c, "a", 1), CACHE_MISS);
    EXPECT_EQ(cache_exists(c, "new", 3), CACHE_MISS);
    cache_close(c);
}

// ------------------------------------------------------------ locking

TEST_F(SqliteFile, LockedDatabaseTimesOutWritesButNotReads)
{
    cache_t *c = open_ok(uri("locked.db", "?busy_timeout_ms=300"));
    ASSERT_EQ(set_str(c, "k", "before"), CACHE_OK);
    RawDb other(path("locked.db"));
    other.exec("BEGIN IMMEDIATE"); // another process's long write transaction

    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(set_str(c, "k", "during"), CACHE_ETIMEOUT);
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(contains(last(), "busy_timeout_ms=300")) << last();
    EXPECT_GE(waited, std::chrono::milliseconds(250));
    EXPECT_LT(waited, std::chrono::seconds(5));
    EXPECT_EQ(cache_incr(c, "n", 1, 1, nullptr), CACHE_ETIMEOUT);

    // WAL readers never wait for the writer.
    std::atomic<int> bad{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; t++)
        readers.emplace_back([&] {
            for (int i = 0; i < 200; i++)
                if (get_str(c, "k") != "before")
                    bad++;
        });
    for (auto &t : readers)
        t.join();
    EXPECT_EQ(bad.load(), 0);

    other.exec("COMMIT");
    EXPECT_EQ(set_str(c, "k", "after"), CACHE_OK) << last();
    EXPECT_EQ(get_str(c, "k"), "after");
    cache_close(c);
}

TEST_F(SqliteFile, AWriterWaitingForTheLockDoesNotBlockReadersOfTheSameHandle)
{
    cache_t *c = open_ok(uri("waiting.db", "?busy_timeout_ms=20000"));
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK);
    RawDb other(path("waiting.db"));
    other.exec("BEGIN IMMEDIATE");
    std::atomic<bool> written{false};
    std::thread writer([&] {
        EXPECT_EQ(set_str(c, "k", "new"), CACHE_OK) << last();
        written = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // the writer now waits
    // No handle-wide lock: this read gets its own connection and returns
    // while the writer still holds its one.
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(get_str(c, "k"), "v");
    EXPECT_FALSE(written.load());
    std::string text = info(c);
    size_t p = text.find("connections=");
    ASSERT_NE(p, std::string::npos) << text;
    EXPECT_GE(std::stoi(text.substr(p + 12)), 2) << text;
    other.exec("COMMIT");
    writer.join();
    EXPECT_TRUE(written.load());
    EXPECT_EQ(get_str(c, "k"), "new");
    cache_close(c);
}

TEST_F(SqliteFile, MoreThreadsThanConnectionsWaitTheirTurn)
{
    // 64 connections at most: the other threads wait for a free one.
    cache_t *c = open_ok(uri());
    const int threads = 96, per = 40;
    std::atomic<int> bad{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; t++)
        ts.emplace_back([&, t] {
            std::string k = "t" + std::to_string(t);
            for (int i = 0; i < per; i++) {
                bad += set_str(c, k, std::to_string(i)) != CACHE_OK;
                bad += get_str(c, k) != std::to_string(i);
                bad += cache_incr(c, "sum", 3, 1, nullptr) != CACHE_OK;
            }
        });
    for (auto &t : ts)
        t.join();
    EXPECT_EQ(bad.load(), 0) << last();
    EXPECT_EQ(get_str(c, "sum"), std::to_string(threads * per));
    std::string text = info(c);
    size_t p = text.find("connections=");
    ASSERT_NE(p, std::string::npos);
    EXPECT_LE(std::stoi(text.substr(p + 12)), 64) << text;
    cache_close(c);
}

// ----------------------------------------------------------- eviction

TEST_F(SqliteFile, MaxItemsIsEnforcedOldestFirst)
{
    cache_t *c = open_ok(uri("items.db", "?max_items=1000"));
    for (int i = 0; i < 5000; i++)
        ASSERT_EQ(set_str(c, "key" + std::to_string(i), "v"), CACHE_OK) << last();
    std::string s = stats(c);
    EXPECT_LE(stat_field(s, "size"), 1000) << s;
    EXPECT_GE(stat_field(s, "size"), 950) << s;
    EXPECT_GE(stat_field(s, "evictions"), 4000) << s;
    auto exists = [&](int i) {
        std::string k = "key" + std::to_string(i);
        return cache_exists(c, k.data(), k.size());
    };
    for (int i = 4900; i < 5000; i++)
        EXPECT_EQ(exists(i), CACHE_OK) << i;
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(exists(i), CACHE_MISS) << i;
    cache_close(c);
    RawDb raw(path("items.db"));
    EXPECT_LE(raw.integer("SELECT count(*) FROM cache"), 1000);
}

TEST_F(SqliteFile, LimitsApplyToRowsThatOtherHandlesWrote)
{
    // The bounded handle only reads; an unbounded one (another process, in
    // real life) writes. The bounded handle's background pass trims.
    cache_t *bounded = open_ok(uri("shared.db", "?max_items=100&purge_interval_ms=50"));
    cache_t *writer = open_ok(uri("shared.db", "?purge_interval_ms=0"));
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(set_str(writer, "key" + std::to_string(i), "v"), CACHE_OK);
    RawDb raw(path("shared.db"));
    long long rows = 0;
    for (int i = 0; i < 100; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        rows = raw.integer("SELECT count(*) FROM cache");
        if (rows <= 100)
            break;
    }
    EXPECT_LE(rows, 100);
    EXPECT_GE(rows, 90);
    EXPECT_EQ(get_str(bounded, "key999"), "v");
    cache_close(writer);
    cache_close(bounded);
}

TEST_F(SqliteFile, EvictionGivesEntriesThatWereReadASecondChance)
{
    cache_t *c = open_ok(uri("clock.db", "?max_items=1000"));
    auto key = [](int i) { return "key" + std::to_string(i); };
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ(set_str(c, key(i), "v"), CACHE_OK);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 100; i++) // the hot set: read, never rewritten
            ASSERT_EQ(get_str(c, key(i)), "v");
    for (int i = 1000; i < 1800; i++)
        ASSERT_EQ(set_str(c, key(i), "v"), CACHE_OK);
    int hot = 0, cold = 0;
    for (int i = 0; i < 100; i++)
        hot += cache_exists(c, key(i).data(), key(i).size()) == CACHE_OK;
    for (int i = 100; i < 1000; i++)
        cold += cache_exists(c, key(i).data(), key(i).size()) == CACHE_OK;
    EXPECT_GE(hot, 95) << "entries that were read must outlive those that were not";
    EXPECT_LE(cold, 200);
    cache_close(c);
}

TEST_F(SqliteFile, MaxSizeBoundsThePagesInUse)
{
    cache_t *c = open_ok(uri("size.db", "?max_size_mb=1"));
    std::string v(1000, 'x');
    for (int i = 0; i < 4000; i++)
        ASSERT_EQ(set_str(c, "key" + std::to_string(i), v), CACHE_OK) << last();
    std::string s = stats(c);
    EXPECT_LE(stat_field(s, "memory_bytes"), 1 << 20) << s;
    EXPECT_GE(stat_field(s, "memory_bytes"), (1 << 20) / 2) << s;
    EXPECT_GT(stat_field(s, "evictions"), 2500) << s;
    EXPECT_EQ(cache_exists(c, "key3999", 7), CACHE_OK);
    cache_close(c);
    RawDb raw(path("size.db"));
    long long used = raw.integer("SELECT (p.page_count - f.freelist_count) * s.page_size FROM "
                                 "pragma_page_count() p, pragma_freelist_count() f, "
                                 "pragma_page_size() s");
    EXPECT_LE(used, 1 << 20);
    EXPECT_EQ(raw.text("PRAGMA integrity_check"), "ok");
}

// Issue 10, break 21: the bound held only at the checks. A write that found
// the background pass enforcing returned without waiting, and the pass then
// reset the counters, forgetting the writes made meanwhile; and eviction went
// down to 63/64 of the limit while pages grow faster than the 1/64 of bytes
// written before the next check. So the pages in use ended a page over the
// limit 4 runs in 24. A busy background pass makes the first likelier; the
// bound must hold after every write, not just in the end.
TEST_F(SqliteFile, MaxSizeHoldsAfterEveryWriteWhileTheBackgroundPassRuns)
{
    cache_t *c = open_ok(uri("size2.db", "?max_size_mb=1&purge_interval_ms=1"));
    std::string v(1000, 'x');
    int over = 0;
    long long worst = 0;
    for (int i = 0; i < 3000; i++) {
        ASSERT_EQ(set_str(c, "key" + std::to_string(i), v), CACHE_OK) << last();
        if (i % 10 == 9) {
            long long used = stat_field(stats(c), "memory_bytes");
            worst = std::max(worst, used);
            over += used > (1 << 20);
        }
    }
    EXPECT_EQ(over, 0) << "worst " << worst;
    cache_close(c);
}

// -------------------------------------------------------------- expiry

TEST_F(SqliteFile, ExpiredRowsArePurgedInTheBackground)
{
    cache_t *c = open_ok(uri("purge.db", "?purge_interval_ms=100"));
    for (int i = 0; i < 300; i++)
        ASSERT_EQ(set_str(c, "short" + std::to_string(i), "v", 50), CACHE_OK);
    ASSERT_EQ(set_str(c, "long", "v", 600000), CACHE_OK);
    ASSERT_EQ(set_str(c, "forever", "v"), CACHE_OK);
    RawDb raw(path("purge.db"));
    long long rows = 0;
    for (int i = 0; i < 50; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        rows = raw.integer("SELECT count(*) FROM cache");
        if (rows == 2)
            break;
    }
    EXPECT_EQ(rows, 2);
    EXPECT_GE(stat_field(stats(c), "expirations"), 300);
    cache_close(c);
}

TEST_F(SqliteFile, ExpiredRowsAreNeverReturnedEvenBeforePurge)
{
    cache_t *c = open_ok(uri("lazy.db", "?purge_interval_ms=0"));
    ASSERT_EQ(set_str(c, "a:gone", "v", 30), CACHE_OK);
    ASSERT_EQ(set_str(c, "a:kept", "v"), CACHE_OK);
    cache_slice tag = {"t", 1};
    ASSERT_EQ(cache_set_tagged(c, "a:tagged", 8, "v", 1, 30, &tag, 1), CACHE_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    int rc;
    EXPECT_EQ(cache_exists(c, "a:gone", 6), CACHE_MISS);
    get_str(c, "a:gone", &rc);
    EXPECT_EQ(rc, CACHE_MISS);
    int64_t ttl;
    EXPECT_EQ(cache_ttl(c, "a:gone", 6, &ttl), CACHE_MISS);
    EXPECT_EQ(cache_touch(c, "a:gone", 6, 1000), CACHE_MISS);
    EXPECT_EQ(cache_delete(c, "a:gone", 6), CACHE_MISS);
    EXPECT_EQ(list_keys(c, "a:*", &rc), (std::set<std::string>{"a:kept"}));
    size_t n = 9;
    EXPECT_EQ(cache_invalidate_tags(c, &tag, 1, &n), CACHE_OK);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(stat_field(stats(c), "size"), 1);
    // An expired entry is absent for add and incr too.
    EXPECT_EQ(cache_add(c, "a:gone", 6, "new", 3, 0), CACHE_OK);
    EXPECT_EQ(get_str(c, "a:gone"), "new");
    ASSERT_EQ(set_str(c, "n", "41", 30), CACHE_OK);
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    int64_t v = 0;
    EXPECT_EQ(cache_incr(c, "n", 1, 1, &v), CACHE_OK);
    EXPECT_EQ(v, 1);
    EXPECT_EQ(cache_ttl(c, "n", 1, &ttl), CACHE_OK);
    EXPECT_EQ(ttl, -1);
    cache_close(c);
}

TEST_F(SqliteFile, TtlSurvivesReopen)
{
    cache_t *c = open_ok(uri());
    ASSERT_EQ(set_str(c, "k", "v", 120000), CACHE_OK);
    cache_close(c);
    c = open_ok(uri());
    int64_t ttl = 0;
    ASSERT_EQ(cache_ttl(c, "k", 1, &ttl), CACHE_OK);
    EXPECT_GT(ttl, 110000);
    EXPECT_LE(ttl, 120000);
    cache_close(c);
}

// ---------------------------------------------------------------- tags

TEST_F(SqliteFile, TagsLiveInTheirOwnTableAndNeverGoStale)
{
    cache_t *c = open_ok(uri());
    RawDb raw(path());
    auto tag_rows = [&] { return raw.integer("SELECT count(*) FROM \"cache.tags\""); };
    cache_slice tags[] = {{"t1", 2}, {"t2", 2}};
    ASSERT_EQ(cache_set_tagged(c, "k", 1, "v", 1, 0, tags, 2), CACHE_OK) << last();
    EXPECT_EQ(tag_rows(), 2);
    ASSERT_EQ(set_str(c, "k", "plain"), CACHE_OK); // no longer tagged
    EXPECT_EQ(tag_rows(), 0);
    ASSERT_EQ(cache_set_tagged(c, "k", 1, "v", 1, 0, tags, 2), CACHE_OK);
    ASSERT_EQ(cache_set_tagged(c, "k", 1, "v", 1, 0, tags + 1, 1), CACHE_OK); // retagged
    EXPECT_EQ(tag_rows(), 1);
    ASSERT_EQ(cache_delete(c, "k", 1), CACHE_OK);
    EXPECT_EQ(tag_rows(), 0);
    ASSERT_EQ(cache_set_tagged(c, "k", 1, "v", 1, 0, tags, 2), CACHE_OK);
    ASSERT_EQ(cache_set_tagged(c, "j", 1, "v", 1, 0, tags, 1), CACHE_OK);
    size_t n = 0;
    ASSERT_EQ(cache_invalidate_tags(c, tags, 2, &n), CACHE_OK);
    EXPECT_EQ(n, 2u); // each entry counted once
    EXPECT_EQ(tag_rows(), 0);
    ASSERT_EQ(cache_set_tagged(c, "k", 1, "v", 1, 0, tags, 2), CACHE_OK);
    ASSERT_EQ(cache_clear(c), CACHE_OK);
    EXPECT_EQ(tag_rows(), 0);
    cache_close(c);
}

// ------------------------------------------------------------- patterns

// The same keys in memory:// (GlobPattern::match on every key) and in
// sqlite:// (an index range plus unicache_match) give the same answers.
TEST_F(SqliteFile, GlobPatternsMatchExactlyWhatTheMemoryBackendMatches)
{
    const std::vector<std::string> keys = {"user:1",
                                           "user:2",
                                           "user:10",
                                           "user:x",
                                           "u*ser",
                                           "a*b",
                                           "a?b",
                                           "a[b",
                                           "a]b",
                                           "a\\b",
                                           "ab",
                                           "axb",
                                           "abc",
                                           "%",
                                           "_",
                                           "a%b",
                                           "a_b",
                                           "100%",
                                           "[abc]",
                                           "b",
                                           "c",
                                           "^x",
                                           "!x",
                                           "-",
                                           "a-c",
                                           std::string("\xff"),
                                           std::string("\xff\xff", 2),
                                           std::string("a\xff", 2),
                                           std::string("a\xffz", 3),
                                           std::string("nul\0byte", 8),
                                           "A",
                                           "Z",
                                           "userspace"};
    const std::vector<std::string> patterns = {"*",
                                               "?",
                                               "??",
                                               "a*",
                                               "a?b",
                                               "a\\*b",
                                               "a\\?b",
                                               "a[*]b",
                                               "a\\[b",
                                               "a]b",
                                               "a\\\\b",
                                               "[abc]",
                                               "[abc]*",
                                               "\\[abc]",
                                               "[!a]*",
                                               "[^a]*",
                                               "[a-c]",
                                               "[a-c]?",
                                               "[!a-z]",
                                               "*b",
                                               "*%*",
                                               "%",
                                               "_",
                                               "a_b",
                                               "a%b",
                                               "*\\%",
                                               "user:?",
                                               "user:[12]*",
                                               "user:[!0-9]",
                                               "u\\*ser",
                                               "user*",
                                               "user:*",
                                               std::string("\xff*"),
                                               std::string("a\xff*"),
                                               "[\\]]",
                                               "[\\-]",
                                               "[]a]*",
                                               "[!]]",
                                               "nul*",
                                               "*byte",
                                               "[A-Z]",
                                               "[Z-A]",
                                               "*\\\\*",
                                               "^*",
                                               "!*",
                                               "-",
                                               "[a\\-c]"};
    cache_t *mem = open_ok("memory://");
    cache_t *sql = open_ok(uri());
    for (const auto &k : keys) {
        ASSERT_EQ(set_str(mem, k, "v"), CACHE_OK);
        ASSERT_EQ(set_str(sql, k, "v"), CACHE_OK);
    }
    for (const auto &p : patterns) {
        int rm, rs;
        auto want = list_keys(mem, p, &rm);
        auto got = list_keys(sql, p, &rs);
        ASSERT_EQ(rm, CACHE_OK) << p;
        EXPECT_EQ(rs, CACHE_OK) << p << ": " << last();
        EXPECT_EQ(got, want) << "pattern '" << p << "'";
    }
    for (const char *bad : {"a[", "a\\", "[!"}) {
        int rc;
        list_keys(sql, bad, &rc);
        EXPECT_EQ(rc, CACHE_EINVAL) << bad;
    }
    // Deleting by pattern counts and removes the same keys too.
    for (const char *p : {"a?b", "[!a-z]*", "user:*"}) {
        size_t dm = 0, ds = 0;
        ASSERT_EQ(cache_delete_pattern(mem, p, strlen(p), &dm), CACHE_OK);
        ASSERT_EQ(cache_delete_pattern(sql, p, strlen(p), &ds), CACHE_OK) << last();
        EXPECT_EQ(ds, dm) << p;
    }
    int rm, rs;
    EXPECT_EQ(list_keys(sql, "*", &rs), list_keys(mem, "*", &rm));
    cache_close(mem);
    cache_close(sql);
}

TEST_F(SqliteFile, PrefixesWithSpecialAndHighBytesStayInTheirRange)
{
    const std::string prefixes[] = {"p*[", std::string("\xff\xff", 2), "a%_", "z"};
    std::vector<cache_t *> handles;
    for (const auto &p : prefixes) {
        cache_options o = CACHE_OPTIONS_INIT;
        o.prefix = p.data();
        o.prefix_len = p.size();
        cache_t *h = nullptr;
        ASSERT_EQ(cache_open_ext(uri().c_str(), &o, &h), CACHE_OK) << last();
        handles.push_back(h);
        for (const char *k : {"one", "two", "three"})
            ASSERT_EQ(set_str(h, k, p), CACHE_OK);
    }
    for (size_t i = 0; i < handles.size(); i++) {
        int rc;
        EXPECT_EQ(list_keys(handles[i], "*", &rc), (std::set<std::string>{"one", "two", "three"}));
        EXPECT_EQ(stat_field(stats(handles[i]), "size"), 3) << i;
    }
    ASSERT_EQ(cache_clear(handles[1]), CACHE_OK); // the 0xff 0xff prefix: no upper bound
    EXPECT_EQ(cache_exists(handles[1], "one", 3), CACHE_MISS);
    for (size_t i : {size_t(0), size_t(2), size_t(3)})
        EXPECT_EQ(get_str(handles[i], "one"), prefixes[i]) << i;
    for (cache_t *h : handles)
        cache_close(h);
}

TEST_F(SqliteFile, KeysHonoursTheLimit)
{
    cache_t *c = open_ok(uri());
    for (int i = 0; i < 50; i++)
        ASSERT_EQ(set_str(c, "k" + std::to_string(i), "v"), CACHE_OK);
    cache_buf_array arr = {nullptr, 0};
    ASSERT_EQ(cache_keys(c, "k*", 2, 7, &arr), CACHE_OK);
    EXPECT_EQ(arr.count, 7u);
    cache_buf_array_free(&arr);
    cache_close(c);
}

// ------------------------------------------------------- read anchor

// Reads key (which holds "v") without pause for `how_long`.
void read_for(cache_t *c, const std::string &key, std::chrono::milliseconds how_long)
{
    auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until)
        ASSERT_EQ(get_str(c, key), "v");
}

TEST_F(SqliteFile, ReadAnchorIsHeldWhileReadingAndLetGoWhenIdle)
{
    cache_t *c = open_ok(uri("anchor.db"));
    cache_t *plain = open_ok(uri("plain.db", "?read_anchor=false"));
    cache_t *mem = open_ok("sqlite://:memory:");
    EXPECT_TRUE(contains(info(c), "read_anchor=on")) << info(c);
    EXPECT_TRUE(contains(info(plain), "read_anchor=off")) << info(plain);
    EXPECT_TRUE(contains(info(mem), "read_anchor=off")) << info(mem);
    cache_close(mem);

    // A commit the WAL still holds, then reads until the WAL has been
    // quiet long enough: the anchor takes a read mark on the WAL, which a
    // TRUNCATE checkpoint must wait for.
    RawDb raw(path("anchor.db"));
    ASSERT_EQ(set_str(c, "k", "v"), CACHE_OK) << last();
    read_for(c, "k", std::chrono::milliseconds(150));
    EXPECT_EQ(raw.truncate_busy(), 1);

    // Idle: the background thread lets go within a few 100 ms ticks.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    int busy = 1;
    while (busy && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        busy = raw.truncate_busy();
    }
    EXPECT_EQ(busy, 0) << "an idle handle still pins the WAL";
    EXPECT_EQ(get_str(c, "k"), "v"); // and takes it again on the next read

    // Without the anchor nothing is held between operations.
    RawDb raw_plain(path("plain.db"));
    ASSERT_EQ(set_str(plain, "k", "v"), CACHE_OK) << last();
    read_for(plain, "k", std::chrono::milliseconds(20));
    EXPECT_EQ(raw_plain.truncate_busy(), 0);
    cache_close(plain);
    cache_close(c);
}

TEST_F(SqliteFile, ReadsWithTheAnchorSeeEveryCommitAtOnce)
{
    cache_t *c = open_ok(uri("fresh.db"));
    cache_t *other = open_ok(uri("fresh.db"));
    RawDb raw(path("fresh.db"));
    ASSERT_EQ(set_str(c, "k", "v0"), CACHE_OK) << last();
    for (int i = 1; i <= 200; i++) {
        std::string v = "v" + std::to_string(i);
        EXPECT_EQ(get_str(c, "k"), "v" + std::to_string(i - 1));
        if (i % 2)
            raw.exec("UPDATE cache SET value = CAST('" + v +
                     "' AS BLOB) WHERE key = CAST('k' AS BLOB)");
        else
            ASSERT_EQ(set_str(other, "k", v), CACHE_OK) << last();
        ASSERT_EQ(get_str(c, "k"), v) << "a read missed the commit before it";
        int rc = 0;
        std::string rest = get_str(c, "gone", &rc);
        EXPECT_EQ(rc, CACHE_MISS);
    }
    cache_close(other);
    cache_close(c);
}

TEST_F(SqliteFile, ReadAnchorLetsCheckpointsKeepTheWalSmall)
{
    // One handle reads without pause while another writes 20,000 separate
    // commits: were the anchor's snapshot never given up, the WAL could not
    // start over and would pass 100 MB (journal_size_limit then cuts it back
    // to 64 MiB). Plain SQLite (read_anchor=false) ends between 4 and 32 MB
    // on a quiet machine, depending on when the readers happen to hold
    // their marks, and can reach the limit too when the machine is loaded
    // enough to stall the writer between commits: the anchor must stay
    // under the limit, or else do no worse than plain SQLite in the same run.
    auto wal_after_load = [&](const std::string &db, const std::string &query) -> off_t {
        cache_t *reader = open_ok(uri(db, query));
        cache_t *writer = open_ok(uri(db, query));
        EXPECT_EQ(set_str(writer, "hot", "h"), CACHE_OK) << last();
        std::atomic<bool> stop{false};
        std::atomic<long> reads{0}, wrong{0};
        std::thread t([&] {
            while (!stop) {
                if (get_str(reader, "hot") != "h")
                    wrong++;
                reads++;
            }
        });
        const std::string value(1000, 'x');
        for (int i = 0; i < 20000; i++) {
            if (set_str(writer, "k" + std::to_string(i), value) != CACHE_OK) {
                ADD_FAILURE() << last();
                break;
            }
        }
        stop = true;
        t.join();
        struct stat st;
        EXPECT_EQ(stat(path(db + "-wal").c_str(), &st), 0);
        EXPECT_GT(reads.load(), 1000);
        EXPECT_EQ(wrong.load(), 0);
        EXPECT_EQ(get_str(reader, "k19999"), value);
        cache_close(writer);
        cache_close(reader);
        return st.st_size;
    };
    off_t anchored = wal_after_load("busy.db", "");
    if (anchored < (64 << 20))
        return;
    off_t plain = wal_after_load("plain-busy.db", "?read_anchor=false");
    EXPECT_LE(anchored, plain) << "the WAL grew to " << anchored << " bytes with the anchor, to "
                               << plain << " without it";
}

TEST_F(SqliteFile, ReadAnchorFinishesTheCheckpointsItCutShort)
{
    // Each commit lands while the reader's anchor holds the snapshot before
    // it, so the commit's own checkpoint stops there; only the anchor
    // finishing those checkpoints lets the WAL start over. With checkpoints
    // due every 20 pages, 60 commits of 40 KB (11 pages each, 660 in all)
    // would take the WAL past 2.7 MB were they never finished; finished, it
    // stays near 20 pages and a commit (under 200 KB).
    const std::string query = "?wal_autocheckpoint=20";
    cache_t *reader = open_ok(uri("cut-short.db", query));
    cache_t *writer = open_ok(uri("cut-short.db", query));
    ASSERT_EQ(set_str(writer, "hot", "v"), CACHE_OK) << last();
    for (int i = 0; i < 60; i++) {
        const std::string value(40000, char('a' + i % 26)); // every page new
        ASSERT_EQ(set_str(writer, "k" + std::to_string(i % 50), value), CACHE_OK) << last();
        read_for(reader, "hot", std::chrono::milliseconds(60)); // quiet 50 ms, then held
    }
    struct stat st;
    ASSERT_EQ(stat(path("cut-short.db-wal").c_str(), &st), 0);
    EXPECT_LT(st.st_size, 1 << 20) << "the WAL grew to " << st.st_size << " bytes";
    cache_close(writer);
    cache_close(reader);
}

} // namespace
} // namespace unicache_test
