// ConnectionPool: a fixed set of memcached_st handles, each used by one
// thread at a time. A thread starts at its own slot and takes the first free one, so
// up to pool_size threads never wait on each other and there is no lock that
// every call shares.
#pragma once

#include <libmemcached/memcached.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
};

class ConnectionPool {
public:
    // Calls connect() `size` times and owns what it returns (never NULL);
    // each connection also gets one (unopened) TextGetSocket per server.
    // Each handle is configured from scratch: memcached_clone() loses some
    // settings (weighted ketama), which would make clones place keys on
    // other servers than the original.
    ConnectionPool(const std::function<memcached_st *()> &connect, size_t size, size_t servers);
    ~ConnectionPool();
    ConnectionPool(const ConnectionPool &) = delete;
    ConnectionPool &operator=(const ConnectionPool &) = delete;

    class Lease {
    public:
        explicit Lease(Connection *c) : c_(c) {}
        Lease(const Lease &) = delete;
        Lease &operator=(const Lease &) = delete;
        ~Lease() { c_->mu.unlock(); }
        Connection &operator*() const { return *c_; }
        Connection *operator->() const { return c_; }

    private:
        Connection *c_;
    };

    Lease acquire();
    size_t size() const { return conns_.size(); }
    // For reading what every connection counted (atomics only).
    const Connection &at(size_t i) const { return *conns_[i]; }

private:
    void release();
    std::vector<std::unique_ptr<Connection>> conns_;
};

} // namespace unicache
