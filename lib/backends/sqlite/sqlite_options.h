// SqliteOptions: the sqlite:// parameters, parsed once by the factory.
#pragma once

#include <cstdint>
#include <string>

namespace unicache {

struct SqliteOptions {
    std::string path;                   // file name, or ":memory:"
    std::string table = "cache";        // entries table; tags live in "<table>.tags"
    int64_t max_items = 0;              // 0: unbounded
    int64_t max_size_bytes = 0;         // pages in use; 0: unbounded
    std::string synchronous = "normal"; // PRAGMA synchronous for every connection
    int64_t busy_timeout_ms = 5000;     // how long a locked database is retried
    int64_t wal_autocheckpoint = 1000;  // WAL pages that trigger a checkpoint; 0: never
    int64_t purge_interval_ms = 1000;   // background purge period; 0: none
    bool read_anchor = true;            // hold a WAL read snapshot for cheaper reads
    int64_t change_poll_ms = 10;        // change log poll period (sqlite_changes.h)

    bool in_memory() const { return path == ":memory:"; }
    bool bounded() const { return max_items > 0 || max_size_bytes > 0; }
};

} // namespace unicache
