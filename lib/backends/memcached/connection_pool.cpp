#include "connection_pool.h"

#include <atomic>
#include <cstdlib>

namespace unicache {

ConnectionPool::ConnectionPool(const std::function<memcached_st *()> &connect, size_t size,
                               size_t servers, int64_t timeout_ms)
{
    conns_.reserve(size);
    try {
        for (size_t i = 0; i < size; i++) {
            auto c = std::make_unique<Connection>();
            c->sockets = std::vector<TextGetSocket>(servers);
            c->timeout_ms = timeout_ms;
            c->mc = connect();
            memcached_result_create(c->mc, &c->result);
            memcached_result_create(c->mc, &c->scratch);
            conns_.push_back(std::move(c));
        }
        std::vector<Connection *> all;
        for (auto &c : conns_)
            all.push_back(c.get());
        watch_ = std::make_unique<DeadlineWatch>(all, timeout_ms);
    } catch (...) {
        release();
        throw;
    }
}

ConnectionPool::~ConnectionPool()
{
    release();
}

void ConnectionPool::release()
{
    watch_.reset(); // joined before the handles it watches go
    for (auto &c : conns_) {
        memcached_result_free(&c->result);
        memcached_result_free(&c->scratch);
        std::free(c->value);
        memcached_destroy_sasl_auth_data(c->mc); // a no-op without SASL
        memcached_free(c->mc);
    }
    conns_.clear();
}

ConnectionPool::Lease ConnectionPool::prepared(Lease lease)
{
    if (prepare_)
        prepare_(*lease);
    return lease;
}

ConnectionPool::Lease ConnectionPool::acquire()
{
    // Each thread gets its own starting slot, so threads spread out instead
    // of all probing slot 0 first.
    static std::atomic<size_t> next_thread{0};
    thread_local size_t home = next_thread.fetch_add(1, std::memory_order_relaxed);
    size_t n = conns_.size();
    size_t start = home % n;
    for (size_t i = 0; i < n; i++) {
        Connection *c = conns_[(start + i) % n].get();
        if (c->mu.try_lock())
            return prepared(Lease(arm(c)));
    }
    Connection *c = conns_[start].get();
    c->mu.lock();
    return prepared(Lease(arm(c)));
}

} // namespace unicache
