#include "sqlite_log.h"

#include <atomic>
#include <string>

#include <sqlite3.h>

#include "core/log.h"

namespace unicache {

namespace {

// Runs in the thread whose SQLite call recovered the file (an API call of
// ours, or a background thread of ours): log_event only queues, so nothing
// is delivered under SQLite's locks.
void on_sqlite_log(void *, int code, const char *message)
{
    if (code != SQLITE_NOTICE_RECOVER_WAL && code != SQLITE_NOTICE_RECOVER_ROLLBACK)
        return;
    log_event(CACHE_LOG_WARN, [&] {
        return std::string("sqlite: a database was recovered after a crash or power loss: ") +
               (message ? message : "") +
               (code == SQLITE_NOTICE_RECOVER_WAL
                    ? " (committed writes kept, an unfinished transaction dropped)"
                    : " (an unfinished transaction rolled back)");
    });
}

bool install()
{
    return sqlite3_config(SQLITE_CONFIG_LOG, on_sqlite_log, nullptr) == SQLITE_OK;
}

} // namespace

void watch_sqlite_recoveries()
{
    static const bool installed = install();
    static std::atomic<bool> said{false};
    if (!installed && !said.exchange(true))
        log_event(CACHE_LOG_DEBUG, [] {
            return std::string("sqlite: SQLite was initialized before unicache's first open in "
                               "this process, so SQLite's log callback could not be installed: "
                               "crash recoveries of cache files are not logged");
        });
}

} // namespace unicache
