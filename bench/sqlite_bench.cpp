// SQLite backend throughput beside the bare-SQLite anchor, in the same run,
// on the same file system:
//
//   anchor: one plain two-column table in WAL mode,
//             CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB)
//           driven by a loop of prepared statements, one connection per
//           thread or process:
//             get:  SELECT v FROM kv WHERE k = ?   (value copied out)
//             set:  INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)
//   unicache: cache_get / cache_set through the C API on sqlite://, so the
//           numbers include everything a caller pays (argument checks,
//           statistics, expiry filter, connection lease, the malloc'd
//           result buffer).
//
// Both sides use synchronous=NORMAL (the WAL default that survives process
// crashes), 100-byte values and 10000 keys, every get a hit, every set an
// overwrite with new bytes. Each configuration runs `rounds` times,
// interleaved with the others and alternating which side goes first, so a
// burst of load from another process hurts both columns alike; the table
// reports the best round of each.
//
// Usage: sqlite_bench [ops per measurement, default 20000] [rounds, default 5]
//                     [directory for the files, default $TMPDIR or /tmp]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <sqlite3.h>

#include "unicache.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kValueSize = 100;
constexpr long kKeys = 10000;
const char kSynchronous[] = "normal";

double seconds_since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string key_for(long i)
{
    return "bench:key:" + std::to_string((i * 7919) % kKeys);
}

// Operation indexes never repeat across measurements, so every set writes
// bytes the row never held: SQLite skips rewriting a page whose content is
// unchanged, which would flatter an in-place update.
long next_first()
{
    static long next = 100000000;
    long first = next;
    next += 10000000;
    return first;
}

// New bytes on every write (see next_first).
void fill_value(char *v, long i)
{
    std::memset(v, 'v', kValueSize);
    std::snprintf(v, 24, "%ld", i);
}

[[noreturn]] void die(const std::string &what)
{
    std::fprintf(stderr, "sqlite_bench: %s\n", what.c_str());
    std::exit(1);
}

// ------------------------------------------------------------ the anchor

class BareSqlite {
public:
    explicit BareSqlite(const std::string &path)
    {
        if (sqlite3_open_v2(path.c_str(), &db_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK)
            die("open " + path);
        sqlite3_busy_timeout(db_, 10000);
        exec("PRAGMA journal_mode = WAL");
        exec(std::string("PRAGMA synchronous = ") + kSynchronous);
        exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB)");
        prepare("SELECT v FROM kv WHERE k = ?1", &get_);
        prepare("INSERT OR REPLACE INTO kv(k, v) VALUES (?1, ?2)", &set_);
    }
    ~BareSqlite()
    {
        sqlite3_finalize(get_);
        sqlite3_finalize(set_);
        sqlite3_close_v2(db_);
    }
    bool get(const std::string &k, std::string *out)
    {
        sqlite3_bind_blob(get_, 1, k.data(), int(k.size()), SQLITE_STATIC);
        bool hit = sqlite3_step(get_) == SQLITE_ROW;
        if (hit)
            out->assign(static_cast<const char *>(sqlite3_column_blob(get_, 0)),
                        size_t(sqlite3_column_bytes(get_, 0)));
        sqlite3_reset(get_);
        return hit;
    }
    void set(const std::string &k, const char *v)
    {
        sqlite3_bind_blob(set_, 1, k.data(), int(k.size()), SQLITE_STATIC);
        sqlite3_bind_blob(set_, 2, v, int(kValueSize), SQLITE_STATIC);
        int rc = sqlite3_step(set_);
        sqlite3_reset(set_);
        if (rc != SQLITE_DONE)
            die(std::string("bare set: ") + sqlite3_errmsg(db_));
    }

private:
    void exec(const std::string &sql)
    {
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
            die(sql + ": " + sqlite3_errmsg(db_));
    }
    void prepare(const char *sql, sqlite3_stmt **s)
    {
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, s, nullptr) != SQLITE_OK)
            die(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
    sqlite3 *db_ = nullptr;
    sqlite3_stmt *get_ = nullptr, *set_ = nullptr;
};

// ------------------------------------------------------------ the loops

enum class Side { unicache, bare };
enum class Op { get, set };

struct Files {
    std::string dir, bare, cache, cache_uri, bounded_uri;
};

cache_t *open_cache(const std::string &uri)
{
    cache_t *c = nullptr;
    if (cache_open(uri.c_str(), &c) != CACHE_OK)
        die("cache_open " + uri + ": " + cache_last_error());
    return c;
}

// `ops` operations starting at index `first`; gets must all hit.
void run_unicache(cache_t *c, Op op, long first, long ops)
{
    char v[kValueSize];
    for (long i = first; i < first + ops; i++) {
        std::string k = key_for(i);
        if (op == Op::set) {
            fill_value(v, i);
            if (cache_set(c, k.data(), k.size(), v, kValueSize, CACHE_TTL_NONE) != CACHE_OK)
                die(std::string("cache_set: ") + cache_last_error());
        } else {
            cache_buf b = {nullptr, 0};
            if (cache_get(c, k.data(), k.size(), &b) != CACHE_OK)
                die("cache_get missed " + k + ": " + cache_last_error());
            cache_buf_free(&b);
        }
    }
}

void run_bare(BareSqlite &db, Op op, long first, long ops)
{
    char v[kValueSize];
    std::string out;
    for (long i = first; i < first + ops; i++) {
        std::string k = key_for(i);
        if (op == Op::set) {
            fill_value(v, i);
            db.set(k, v);
        } else if (!db.get(k, &out)) {
            die("bare get missed " + k);
        }
    }
}

// Reads every key once, so both sides start with warm page caches.
void warm_up(cache_t *c, BareSqlite *bare)
{
    if (c)
        run_unicache(c, Op::get, 0, kKeys);
    if (bare)
        run_bare(*bare, Op::get, 0, kKeys);
}

// Threads share one unicache handle (as an application would) or use a
// long-lived bare connection each (SQLite connections are not shareable).
double measure_threads(std::vector<std::unique_ptr<BareSqlite>> &conns, cache_t *c, Side side,
                       Op op, int threads, long ops)
{
    std::vector<std::thread> ts;
    long base = next_first();
    auto t0 = Clock::now();
    for (int t = 0; t < threads; t++)
        ts.emplace_back([&, t] {
            long first = base + long(t) * 1000003;
            if (side == Side::unicache)
                run_unicache(c, op, first, ops);
            else
                run_bare(*conns[size_t(t)], op, first, ops);
        });
    for (auto &t : ts)
        t.join();
    return double(ops) * threads / seconds_since(t0);
}

// Two processes, each with its own handle or connection, released at once;
// the rate counts from the release to the last one finishing.
double measure_processes(const Files &f, Side side, Op op, long ops)
{
    const int procs = 2;
    struct Child {
        pid_t pid;
        int to, from;
    };
    std::vector<Child> kids;
    long base = next_first();
    for (int p = 0; p < procs; p++) {
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0)
            die("pipe");
        pid_t pid = fork();
        if (pid == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[1]);
            close(out[0]);
            std::string s = side == Side::bare ? "bare" : "unicache";
            std::string o = op == Op::set ? "set" : "get";
            std::string target = side == Side::bare ? f.bare : f.cache_uri;
            std::string first = std::to_string(base + long(p) * 1000003), n = std::to_string(ops);
            execl("/proc/self/exe", "sqlite_bench", "--child", s.c_str(), o.c_str(), target.c_str(),
                  first.c_str(), n.c_str(), static_cast<char *>(nullptr));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        kids.push_back(Child{pid, in[1], out[0]});
    }
    char byte;
    for (auto &k : kids)
        if (read(k.from, &byte, 1) != 1)
            die("a child process failed to start");
    auto t0 = Clock::now();
    for (auto &k : kids)
        if (write(k.to, "g", 1) != 1)
            die("cannot start a child process");
    for (auto &k : kids) {
        if (read(k.from, &byte, 1) != 1)
            die("a child process failed");
    }
    double elapsed = seconds_since(t0);
    for (auto &k : kids) {
        int status = 0;
        waitpid(k.pid, &status, 0);
        close(k.to);
        close(k.from);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("a child process exited with an error");
    }
    return double(ops) * procs / elapsed;
}

// --child SIDE OP TARGET FIRST OPS: open, report ready, wait for the go,
// run, report done.
int child_main(char **argv)
{
    Side side = std::strcmp(argv[2], "bare") == 0 ? Side::bare : Side::unicache;
    Op op = std::strcmp(argv[3], "set") == 0 ? Op::set : Op::get;
    long first = std::atol(argv[5]), ops = std::atol(argv[6]);
    std::unique_ptr<BareSqlite> bare;
    cache_t *c = nullptr;
    if (side == Side::bare)
        bare = std::make_unique<BareSqlite>(argv[4]);
    else
        c = open_cache(argv[4]);
    warm_up(c, bare.get());
    char byte;
    if (write(1, "r", 1) != 1 || read(0, &byte, 1) != 1)
        return 1;
    if (side == Side::bare)
        run_bare(*bare, op, first, ops);
    else
        run_unicache(c, op, first, ops);
    cache_close(c);
    return write(1, "d", 1) == 1 ? 0 : 1;
}

std::string describe_fs(const std::string &dir)
{
    struct statfs s;
    if (statfs(dir.c_str(), &s) != 0)
        return "?";
    switch (s.f_type) {
    case 0xEF53:
        return "ext4";
    case 0x01021994:
        return "tmpfs";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x794c7630:
        return "overlayfs";
    default: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "fs 0x%lx", long(s.f_type));
        return buf;
    }
    }
}

struct Row {
    const char *name;
    Op op;
    int threads, procs;
    double target;        // 0: no target
    bool bounded = false; // unicache with max_items (eviction bookkeeping on)
    double best_uc = 0, best_bare = 0;
};

} // namespace

int main(int argc, char **argv)
{
    if (argc >= 7 && std::strcmp(argv[1], "--child") == 0)
        return child_main(argv);
    long ops = argc > 1 ? std::atol(argv[1]) : 20000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
    const char *tmp = std::getenv("TMPDIR");
    std::string base = argc > 3 ? argv[3] : (tmp && *tmp ? tmp : "/tmp");
    std::string tmpl = base + "/unicache-sqlite-bench-XXXXXX";
    if (ops <= 0 || ops > 1000000 || rounds <= 0 || !mkdtemp(&tmpl[0]))
        die("usage: sqlite_bench [ops] [rounds] [directory]");
    Files f;
    f.dir = tmpl;
    f.bare = f.dir + "/bare.db";
    f.cache = f.dir + "/unicache.db";
    f.cache_uri = "sqlite://" + f.cache + "?synchronous=" + kSynchronous;
    // Every key fits, so nothing is evicted, but every write is counted
    // toward the next check and every hit marks its row for the clock.
    f.bounded_uri = "sqlite://" + f.dir + "/bounded.db?max_items=" + std::to_string(kKeys) +
                    "&synchronous=" + kSynchronous;

    // Both files hold every key before anything is measured.
    {
        BareSqlite bare(f.bare);
        cache_t *c = open_cache(f.cache_uri);
        run_bare(bare, Op::set, 0, kKeys);
        run_unicache(c, Op::set, 0, kKeys);
        cache_close(c);
        c = open_cache(f.bounded_uri);
        run_unicache(c, Op::set, 0, kKeys);
        cache_close(c);
    }
    cache_t *c = open_cache(f.cache_uri);
    cache_t *bounded = open_cache(f.bounded_uri);
    warm_up(bounded, nullptr);
    std::vector<std::unique_ptr<BareSqlite>> conns;
    for (int t = 0; t < 2; t++) {
        conns.push_back(std::make_unique<BareSqlite>(f.bare));
        warm_up(nullptr, conns.back().get());
    }
    measure_threads(conns, c, Side::unicache, Op::get, 2, kKeys); // opens and warms the pool

    std::vector<Row> rows = {
        {"get hit, 1 thread", Op::get, 1, 0, 0.8},      {"set, 1 thread", Op::set, 1, 0, 0.7},
        {"get hit, 2 threads", Op::get, 2, 0, 0},       {"set, 2 threads", Op::set, 2, 0, 0},
        {"get hit, 2 processes", Op::get, 0, 2, 0},     {"set, 2 processes", Op::set, 0, 2, 0},
        {"get hit, max_items", Op::get, 1, 0, 0, true}, {"set, max_items", Op::set, 1, 0, 0, true},
    };
    for (int r = 0; r < rounds; r++) {
        for (Row &row : rows) {
            for (int turn = 0; turn < 2; turn++) {
                Side side = (turn + r) % 2 ? Side::bare : Side::unicache;
                double rate = row.procs ? measure_processes(f, side, row.op, ops)
                                        : measure_threads(conns, row.bounded ? bounded : c, side,
                                                          row.op, row.threads, ops);
                double &best = side == Side::bare ? row.best_bare : row.best_uc;
                best = std::max(best, rate);
            }
        }
    }
    cache_close(c);
    cache_close(bounded);
    conns.clear();

    std::printf("sqlite backend vs bare SQLite, same run, same file system (%s, %s)\n",
                f.dir.c_str(), describe_fs(f.dir).c_str());
    std::printf("WAL, synchronous=%s on both sides, %zu-byte values, %ld keys, SQLite %s,\n",
                kSynchronous, kValueSize, kKeys, sqlite3_libversion());
    std::printf("best of %d rounds of %ld operations per thread or process, %u cores;\n", rounds,
                ops, std::thread::hardware_concurrency());
    std::printf("\"max_items\" rows: 1 thread, unicache opened with max_items=%ld (eviction "
                "bookkeeping on)\n\n",
                kKeys);
    std::printf("%-22s %14s %14s %8s %8s\n", "operation", "unicache op/s", "bare op/s", "ratio",
                "target");
    for (const Row &row : rows) {
        char target[16] = "";
        if (row.target > 0)
            std::snprintf(target, sizeof target, ">= %.1fx", row.target);
        std::printf("%-22s %14.0f %14.0f %7.2fx %8s\n", row.name, row.best_uc, row.best_bare,
                    row.best_uc / row.best_bare, target);
    }
    std::string cleanup = "rm -rf '" + f.dir + "'";
    if (std::system(cleanup.c_str()) != 0)
        std::fprintf(stderr, "could not remove %s\n", f.dir.c_str());
    return 0;
}
