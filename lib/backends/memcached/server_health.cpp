#include "server_health.h"

#include <map>
#include <memory>
#include <mutex>

#include "core/clock.h"
#include "core/log.h"

namespace unicache {
namespace server_health {

std::atomic<int> servers_down{0};

namespace {

struct State {
    bool down = false;
    bool dropped = false; // said "dropped from the ring" since it went down
    int64_t since_ms = 0;
};

std::mutex g_mu;
std::map<std::string, State> g_servers_map; // the memcached backend has no threads of its own
std::map<std::string, State> *const g_servers = &g_servers_map;

std::string name_of(const memcached_instance_st *s)
{
    return std::string(memcached_server_name(s)) + ":" + std::to_string(memcached_server_port(s));
}

} // namespace

void failed(const memcached_st *mc, memcached_return_t rc, const std::string &message,
            bool remove_failed, int64_t retry_timeout_s)
{
    const memcached_instance_st *s = memcached_server_get_last_disconnect(mc);
    if (!s || !log_enabled(CACHE_LOG_WARN))
        return;
    std::string name = name_of(s);
    std::lock_guard<std::mutex> lock(g_mu);
    State &st = (*g_servers)[name];
    if (!st.down) {
        st.down = true;
        st.since_ms = monotonic_ms();
        servers_down.fetch_add(1, std::memory_order_relaxed);
        log_event(CACHE_LOG_WARN,
                  [&] { return "memcached " + name + ": connection lost: " + message; });
    }
    // libmemcached marks a server dead at its second failure in a row
    // (MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, set to 2 at connect); with
    // remove_failed_servers that takes it out of the ring.
    if (remove_failed && rc == MEMCACHED_SERVER_MARKED_DEAD && !st.dropped) {
        st.dropped = true;
        log_event(CACHE_LOG_WARN, [&] {
            return "memcached " + name + ": dropped from the ring for " +
                   std::to_string(retry_timeout_s) +
                   " s (remove_failed_servers): its keys go to the other servers meanwhile";
        });
    }
}

void answered_slow(const memcached_st *mc, uint32_t server)
{
    const memcached_instance_st *s = memcached_server_instance_by_position(mc, server);
    if (!s)
        return;
    std::string name = name_of(s);
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_servers->find(name);
    if (it == g_servers->end() || !it->second.down)
        return;
    State &st = it->second;
    int64_t ms = monotonic_ms() - st.since_ms;
    st = State();
    servers_down.fetch_sub(1, std::memory_order_relaxed);
    log_event(CACHE_LOG_WARN, [&] {
        return "memcached " + name + ": connection restored after " + std::to_string(ms) + " ms";
    });
}

} // namespace server_health
} // namespace unicache
