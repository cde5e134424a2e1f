// SqlitePool: connections to one database, one per concurrent caller.
// SQLite connections are not shareable across threads at once, and WAL
// readers only run in parallel on separate connections, so each operation
// leases a connection for its duration. The pool grows on demand up to its
// limit (then callers wait) and keeps idle connections open for reuse.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "sqlite_connection.h"

namespace unicache {

class SqlitePool {
public:
    class Lease {
    public:
        Lease(SqlitePool *pool, std::unique_ptr<SqliteConnection> c)
            : pool_(pool), c_(std::move(c))
        {
        }
        Lease(Lease &&) = default;
        Lease &operator=(Lease &&) = delete;
        ~Lease()
        {
            if (c_)
                pool_->release(std::move(c_));
        }
        SqliteConnection &operator*() const { return *c_; }
        SqliteConnection *operator->() const { return c_.get(); }

    private:
        SqlitePool *pool_;
        std::unique_ptr<SqliteConnection> c_;
    };

    // limit: most connections open at once (>= 1).
    SqlitePool(const SqliteOptions &opts, const SqlCatalog &sql, size_t limit);

    // A connection for one operation; opens one when none is idle.
    Lease acquire();
    // Hands over an already opened connection (the one that set up the file).
    void adopt(std::unique_ptr<SqliteConnection> c);
    size_t open_count();

private:
    void release(std::unique_ptr<SqliteConnection> c);

    const SqliteOptions &opts_;
    const SqlCatalog &sql_;
    const size_t limit_;
    std::mutex mu_;
    std::condition_variable idle_cv_;
    std::vector<std::unique_ptr<SqliteConnection>> idle_;
    size_t open_ = 0;
};

} // namespace unicache
