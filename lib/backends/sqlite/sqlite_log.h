// SqliteRecoveryLog: SQLite's own word that it recovered a database after a
// crash, as a unicache log line. SQLite says so only through its process-wide
// error log (SQLITE_CONFIG_LOG): SQLITE_NOTICE_RECOVER_WAL when the first
// connection after a crash rebuilds the WAL index from a WAL that was not
// checkpointed ("recovered 12 frames from WAL file ..."), and
// SQLITE_NOTICE_RECOVER_ROLLBACK when it plays back a hot rollback journal.
// Nothing on disk tells that apart from a WAL another process has open, so
// this is the signal unicache uses.
//
// SQLite accepts the callback only before it is initialized (this SQLite,
// 3.40, refuses it afterwards with SQLITE_MISUSE), so it is installed before
// unicache's first sqlite3_open_v2 in the process; when the application had
// already opened a SQLite database of its own, recoveries go unreported and
// the first SQLite open says so at debug level. The callback is then
// SQLite's for the whole process: only the two recovery notices become
// lines (they name a file, never a value), everything else SQLite logs is
// dropped, since its messages can quote an application's SQL.
#pragma once

namespace unicache {

// Installs the callback once; call before opening a connection.
void watch_sqlite_recoveries();

} // namespace unicache
