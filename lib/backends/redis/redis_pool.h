// RedisPool: the connections of one cache handle, shared by every thread.
//
// A thread takes an idle connection (or opens a new one while fewer than
// pool_size exist, or waits up to timeout_ms for one to come back), uses it
// alone, and returns it. A connection that failed, or that still owes
// replies, is closed instead of returned. Before an idle connection is
// reused it is checked:
//  - without a round trip (a non-blocking peek that sees a close by the
//    server) when a failure anywhere in the pool since it was last checked
//    suggests the server went away, and always for commands that must not
//    be sent twice;
//  - with PING when it has been idle for health_check_interval_ms.
// A connection found dead is dropped and replaced, so the handle recovers
// by itself once the server is back.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "redis_connection.h"

namespace unicache {

// Where the server is, when it can move (Sentinel): asked before the first
// connection and again after a failure or a relocate().
class RedisLocator {
public:
    virtual ~RedisLocator() = default;
    // The server to use now, found before deadline_ns. Throws RedisIoError
    // (worth another try) or Error. Thread-safe.
    virtual RedisEndpoint locate(int64_t deadline_ns) = 0;
};

class RedisPool {
public:
    // locator: nullptr (opts names the server), or one that outlives the pool.
    explicit RedisPool(const RedisOptions &opts, RedisLocator *locator = nullptr);
    RedisPool(const RedisPool &) = delete;
    RedisPool &operator=(const RedisPool &) = delete;

    // Exclusive use of one connection; returns it to the pool when destroyed.
    class Lease {
    public:
        Lease(RedisPool *pool, std::unique_ptr<RedisConnection> conn)
            : pool_(pool), conn_(std::move(conn))
        {
        }
        Lease(Lease &&) = default;
        Lease &operator=(Lease &&) = delete;
        ~Lease()
        {
            if (conn_)
                pool_->give_back(std::move(conn_));
        }
        RedisConnection &operator*() const { return *conn_; }
        RedisConnection *operator->() const { return conn_.get(); }

    private:
        RedisPool *pool_;
        std::unique_ptr<RedisConnection> conn_;
    };

    // A connection ready for a command, whose I/O must end by deadline_ns
    // (monotonic nanoseconds: the caller's whole call, see
    // RedisConnection::set_deadline). verify: check it without a round
    // trip even when nothing suggests trouble (for commands that must not
    // run twice). Throws RedisIoError, Error(CACHE_EAUTH / CACHE_EINVAL) from
    // a refused handshake, Error(CACHE_ETIMEOUT) when all pool_size
    // connections stay busy until the deadline.
    Lease acquire(bool verify, int64_t deadline_ns);

    // A connection just failed: the others are checked before their next
    // use (and, with a locator, the server is looked up again).
    void note_failure();

    // With a locator: this server is not the right one any more (it said
    // READONLY); the next acquire() looks it up again, and connections to
    // another server than the one found are dropped.
    void relocate();

    struct Counts {
        size_t open = 0;       // connections that exist now
        size_t idle = 0;       // of those, not in use
        uint64_t connects = 0; // connections opened since the handle was
        uint64_t failures = 0; // connection failures seen
        uint64_t replaced = 0; // idle connections found dead and dropped
    };
    Counts counts();

private:
    bool healthy(RedisConnection &c, bool verify);
    void locate(int64_t deadline_ns);
    void give_back(std::unique_ptr<RedisConnection> c) noexcept;
    void drop(std::unique_ptr<RedisConnection> c) noexcept;

    const RedisOptions &opts_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<RedisConnection>> idle_; // most recently used last
    size_t open_ = 0;                                    // idle + leased + being opened
    std::atomic<uint64_t> epoch_{0};
    RedisLocator *locator_;
    std::atomic<bool> relocate_{true};
    std::shared_ptr<const RedisEndpoint> endpoint_; // guarded by mu_
    std::atomic<uint64_t> generation_{0};           // bumped when endpoint_ changes
    std::atomic<uint64_t> connects_{0};
    std::atomic<uint64_t> failures_{0};
    std::atomic<uint64_t> replaced_{0};
};

} // namespace unicache
