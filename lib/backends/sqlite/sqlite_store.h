// Opening a cache file safely: decide whether the file is ours, empty, from
// a newer unicache, or someone else's, before anything is written to it.
#pragma once

#include "sqlite_connection.h"

namespace unicache {

// PRAGMA application_id of every unicache file: "ucac".
constexpr int64_t kSqliteApplicationId = 0x75636163;
// PRAGMA user_version this build writes and reads. A file with a larger
// number was written by a newer unicache and is refused (CACHE_EVERSION).
constexpr int64_t kSqliteSchemaVersion = 1;

// Checks the path before SQLite creates anything: a missing directory or a
// directory in place of the file is CACHE_EIO with a precise message.
void check_store_path(const std::string &path);

// Validates the file on its first connection and creates the schema when
// the file is new (or a new table= in an existing cache file). Throws
// CACHE_ECORRUPT for a file that is not SQLite, is corrupt or belongs to
// someone else; CACHE_EVERSION for a newer schema; CACHE_EIO for a
// read-only file. Never writes to a file it refuses.
void open_store(SqliteConnection &c);

} // namespace unicache
