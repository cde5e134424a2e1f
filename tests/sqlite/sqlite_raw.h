// Helpers that look at a cache file without unicache: plain sqlite3 calls
// and file bytes, so tests check what is really on disk.
#pragma once

#include <fstream>
#include <iterator>
#include <sqlite3.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>

namespace unicache_test {

class RawDb {
public:
    explicit RawDb(const std::string &path)
    {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr) != SQLITE_OK)
            throw std::runtime_error("sqlite3_open_v2 " + path + ": " + sqlite3_errmsg(db_));
        sqlite3_busy_timeout(db_, 10000);
    }
    ~RawDb() { sqlite3_close_v2(db_); }
    RawDb(const RawDb &) = delete;
    RawDb &operator=(const RawDb &) = delete;

    void exec(const std::string &sql)
    {
        char *err = nullptr;
        if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "?";
            sqlite3_free(err);
            throw std::runtime_error(sql + ": " + msg);
        }
    }
    // First column of the first row as text ("" when there is no row).
    std::string text(const std::string &sql)
    {
        sqlite3_stmt *s = nullptr;
        if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
            throw std::runtime_error(sql + ": " + sqlite3_errmsg(db_));
        std::string out;
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
            out = reinterpret_cast<const char *>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            throw std::runtime_error(sql + ": " + sqlite3_errstr(rc));
        return out;
    }
    long long integer(const std::string &sql)
    {
        std::string t = text(sql);
        return t.empty() ? 0 : std::stoll(t);
    }
    sqlite3 *db() const { return db_; }
    // PRAGMA wal_checkpoint(TRUNCATE) without waiting: 0 when it finished,
    // 1 when a reader (of any connection, in any process) was in the way.
    int truncate_busy()
    {
        sqlite3_busy_timeout(db_, 0);
        return int(integer("PRAGMA wal_checkpoint(TRUNCATE)"));
    }

private:
    sqlite3 *db_ = nullptr;
};

inline std::string read_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::string &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
}

inline bool file_exists(const std::string &path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0;
}

} // namespace unicache_test
