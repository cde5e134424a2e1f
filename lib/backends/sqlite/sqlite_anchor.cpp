#include "sqlite_anchor.h"

#include <chrono>

namespace unicache {

namespace {

// The wal-index (-shm) layout, from SQLite's file format documentation
// (walformat.html). Processes running different SQLite versions share one
// wal-index, so it is as stable as the database format. All fields are in
// native byte order. Two copies of a 48-byte header, then the checkpoint
// information:
const unsigned kVersionOffset = 0;   // u32 iVersion, 3007000
const unsigned kChangeOffset = 8;    // u32 iChange: bumped on every commit
const unsigned kInitOffset = 12;     // u8 isInit
const unsigned kMaxFrameOffset = 16; // u32 mxFrame: the last valid frame
const unsigned kBackfillOffset = 96; // u32 nBackfill: frames copied back
const uint32_t kIndexVersion = 3007000;
const int kRegionSize = 32768; // one wal-index region

// Reads a field SQLite's writers update while we look: a torn or stale
// value only makes the anchor renew once more, or once less.
uint32_t load_u32(const volatile unsigned char *base, unsigned offset)
{
    return __atomic_load_n(reinterpret_cast<const volatile uint32_t *>(base + offset),
                           __ATOMIC_RELAXED);
}

int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

sqlite3_stmt *prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        sqlite3_finalize(stmt);
        return nullptr;
    }
    return stmt;
}

// Steps a statement once and resets it; true when SQLite did what was asked.
bool run(sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

} // namespace

ReadAnchor::ReadAnchor(const SqliteOptions &opts, const SqlCatalog &sql, bool enabled)
    : opts_(opts), sql_(sql), wanted_(enabled && !opts.in_memory()),
      autocheckpoint_(opts.wal_autocheckpoint)
{
    open();
}

ReadAnchor::~ReadAnchor()
{
    std::lock_guard<std::mutex> lock(mu_);
    end();
    close();
}

void ReadAnchor::open()
{
    if (!wanted_)
        return;
    try {
        conn_ = std::make_unique<SqliteConnection>(opts_, sql_);
    } catch (...) {
        return; // too many open files, say: the pool will say so on its own
    }
    sqlite3 *db = conn_->db();
    // Never wait: a reader that renews must not sleep for a lock.
    sqlite3_busy_handler(db, nullptr, nullptr);
    begin_ = prepare(db, "BEGIN");
    touch_ = prepare(db, "PRAGMA data_version");
    commit_ = prepare(db, "COMMIT");
    bool usable = begin_ && touch_ && commit_ && begin() && map_header();
    end(); // held from the first read on, not from open
    if (!usable)
        close();
}

void ReadAnchor::close()
{
    header_ = nullptr;
    for (sqlite3_stmt **s : {&begin_, &touch_, &commit_}) {
        sqlite3_finalize(*s);
        *s = nullptr;
    }
    conn_.reset();
    quiet_head_ = kNotHeld;
}

void ReadAnchor::suspend()
{
    mu_.lock();
    end();
    close();
}

void ReadAnchor::resume()
{
    open();
    mu_.unlock();
}

bool ReadAnchor::map_header()
{
    // SQLite's own mapping of the -shm file, through the public VFS methods:
    // region 0 stays mapped while this connection is open.
    sqlite3_file *file = nullptr;
    if (sqlite3_file_control(conn_->db(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
        !file || !file->pMethods || file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
        return false;
    void volatile *region = nullptr;
    if (file->pMethods->xShmMap(file, 0, kRegionSize, 0, &region) != SQLITE_OK || !region)
        return false;
    auto *base = static_cast<const volatile unsigned char *>(region);
    if (load_u32(base, kVersionOffset) != kIndexVersion || base[kInitOffset] != 1)
        return false; // a layout we do not know: stay off
    header_ = base;
    return true;
}

uint64_t ReadAnchor::wal_head() const
{
    // A reader takes the newest read mark, or mark 0 once every frame is
    // copied back (it then reads the database file alone): a finished
    // checkpoint moves readers as surely as a commit does.
    uint32_t change = load_u32(header_, kChangeOffset);
    uint32_t max_frame = load_u32(header_, kMaxFrameOffset);
    uint64_t backfilled = load_u32(header_, kBackfillOffset) == max_frame;
    return uint64_t(change) << 33 | backfilled << 32 | max_frame;
}

bool ReadAnchor::checkpoint_due() const
{
    uint32_t max_frame = load_u32(header_, kMaxFrameOffset);
    return autocheckpoint_ > 0 && int64_t(max_frame) >= autocheckpoint_ &&
           load_u32(header_, kBackfillOffset) < max_frame;
}

bool ReadAnchor::begin()
{
    // BEGIN is deferred: the PRAGMA reads the database header, which is
    // what takes the read mark and fixes the snapshot.
    if (run(begin_) && run(touch_))
        return true;
    end();
    return false;
}

void ReadAnchor::end()
{
    held_head_.store(kNotHeld, std::memory_order_relaxed);
    if (conn_ && !sqlite3_get_autocommit(conn_->db()) && !run(commit_))
        sqlite3_exec(conn_->db(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void ReadAnchor::renew()
{
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock())
        return; // another reader is renewing; this one reads as usual
    uint64_t head = wal_head();
    if (held_head_.load(std::memory_order_relaxed) == head)
        return; // renewed while this reader waited for nothing
    int64_t now = now_ns();
    if (head != quiet_head_) {
        // A commit, a checkpoint or a restart: writers are busy. Let go,
        // so that their checkpoints run as if the anchor did not exist,
        // and hold again once the WAL has been quiet for a while.
        end();
        quiet_head_ = head;
        quiet_since_ns_ = now;
        return;
    }
    if (now - quiet_since_ns_ < kQuietNs)
        return;
    // A checkpoint cut short by the old snapshot would stay short while
    // the anchor holds the next one, and the WAL could never start over:
    // finish it first. The writers are quiet, so this contends with nobody.
    if (checkpoint_due()) {
        sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr);
        quiet_head_ = head = wal_head();
    }
    // head is read before the snapshot starts: a commit in between leaves
    // the anchor behind it, which the next read notices.
    if (!begin()) {
        // SQLite refused a snapshot (WAL recovery in another process, say):
        // reads go on without the anchor; try again a little later.
        quiet_since_ns_ = now + kRetryNs;
        return;
    }
    held_head_.store(head, std::memory_order_relaxed);
}

void ReadAnchor::release_if_idle()
{
    if (used_.exchange(false, std::memory_order_relaxed))
        return;
    std::lock_guard<std::mutex> lock(mu_);
    end();
}

} // namespace unicache
