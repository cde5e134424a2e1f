// Log lines about the memcached servers of this process: "connection lost"
// on a server's first outage error, "dropped from the ring" when
// remove_failed_servers takes it out, "connection restored" when it answers
// again. Process-wide, one state per host:port, so handles sharing a server
// say each thing once. answered() costs one relaxed load while every
// server is up.
#pragma once

#include <libmemcached/memcached.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace unicache {
namespace server_health {

extern std::atomic<int> servers_down;

// A call on mc failed with rc, an outage (message: its error text).
// remove_failed: remove_failed_servers is on; retry_timeout_s: how long
// libmemcached keeps the server out.
void failed(const memcached_st *mc, memcached_return_t rc, const std::string &message,
            bool remove_failed, int64_t retry_timeout_s);
void answered_slow(const memcached_st *mc, uint32_t server);

// A call to server (a ring position) got its answer.
inline void answered(const memcached_st *mc, uint32_t server)
{
    if (servers_down.load(std::memory_order_relaxed) > 0)
        answered_slow(mc, server);
}

} // namespace server_health
} // namespace unicache
