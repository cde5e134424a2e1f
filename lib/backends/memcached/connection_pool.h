// ConnectionPool: a fixed set of memcached_st handles, each used by one
// thread at a time. A thread starts at its own slot and takes the first free one, so
// up to pool_size threads never wait on each other and there is no lock that
// every call shares.
#pragma once

#include <libmemcached/memcached.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "deadline_watch.h"
#include "entry_batch.h"
#include "text_get_socket.h"

namespace unicache {

// One libmemcached handle and the scratch space of the thread holding it,
// reused from call to call so that a warm call allocates only its result.
struct Connection {
    memcached_st *mc = nullptr;
    memcached_result_st result;         // the item being read with its CAS
    memcached_result_st scratch;        // drained ends of replies, tag counters
    char *value = nullptr;              // the last value memcached_get returned (malloc'd)
    Bytes key;                          // the entry's name: the caller's key or `digest`
    uint32_t server = 0;                // the server libmemcached places `key` on
    std::string digest;                 // the name of an entry named by digest
    bool hashed = false;                // key is a digest: the full key is in the item
    uint64_t generation = 0;            // the prefix generation the entry must carry
    std::string header;                 // envelope header
    std::string item;                   // header + value when both exist
    EntryBatch batch;                   // names of a multi-get
    std::vector<unsigned char> states;  // per request of a batch
    std::vector<TextGetSocket> sockets; // one per server, for the single-key get
    std::mutex mu;
    // The deadline of the call holding the connection (monotonic ns; 0 between
    // calls), and the lock that orders DeadlineWatch's writes to mc's
    // timeouts with the end of the call (deadline_watch.h).
    std::atomic<int64_t> deadline_ns{0};
    std::mutex watch_mu;
    int64_t timeout_ms = 0; // what each call may take, for messages
    // Until when (monotonic ms) a server that libmemcached skips was skipped
    // for refusing a login, so that its skipping is still CACHE_EAUTH.
    int64_t auth_refused_until_ms = 0;
};

class ConnectionPool {
public:
    // Calls connect() `size` times and owns what it returns (never NULL);
    // each connection also gets one (unopened) TextGetSocket per server.
    // Each handle is configured from scratch: memcached_clone() loses some
    // settings (weighted ketama), which would make clones place keys on
    // other servers than the original. Every lease is one call, bounded by
    // timeout_ms as a whole (DeadlineWatch).
    ConnectionPool(const std::function<memcached_st *()> &connect, size_t size, size_t servers,
                   int64_t timeout_ms);
    ~ConnectionPool();
    ConnectionPool(const ConnectionPool &) = delete;
    ConnectionPool &operator=(const ConnectionPool &) = delete;

    class Lease {
    public:
        explicit Lease(Connection *c) : c_(c) {}
        Lease(Lease &&o) noexcept : c_(o.c_) { o.c_ = nullptr; }
        Lease(const Lease &) = delete;
        Lease &operator=(const Lease &) = delete;
        ~Lease()
        {
            if (!c_)
                return;
            DeadlineWatch::disarm(*c_);
            c_->mu.unlock();
        }
        Connection &operator*() const { return *c_; }
        Connection *operator->() const { return c_; }

    private:
        Connection *c_;
    };

    // A free connection, its call's deadline set timeout_ms from now, and
    // prepared (set_prepare) for the call.
    Lease acquire();
    // Runs on every connection acquire() hands out, within the call's
    // deadline; what it throws is the call's error.
    void set_prepare(std::function<void(Connection &)> prepare) { prepare_ = std::move(prepare); }
    size_t size() const { return conns_.size(); }
    // For reading what every connection counted (atomics only).
    const Connection &at(size_t i) const { return *conns_[i]; }

private:
    void release();
    Lease prepared(Lease lease);
    Connection *arm(Connection *c)
    {
        watch_->arm(*c);
        return c;
    }
    std::vector<std::unique_ptr<Connection>> conns_;
    std::unique_ptr<DeadlineWatch> watch_;
    std::function<void(Connection &)> prepare_;
};

} // namespace unicache
