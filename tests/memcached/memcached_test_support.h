// Helpers the memcached test files share: time, retries, opening a cache,
// and a bare libmemcached client to look at what unicache stored.
#pragma once

#include <gtest/gtest.h>
#include <libmemcached/memcached.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "support/server_process.h"
#include "unicache.h"

namespace unicache_test {

using Clock = std::chrono::steady_clock;

inline int64_t ms_since(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

inline void sleep_ms(int ms)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// Runs op until it returns CACHE_OK, every 100 ms for up to ms; its last status.
template <typename Op> int until_ok(int64_t ms, Op op)
{
    auto t0 = Clock::now();
    int rc = op();
    while (rc != CACHE_OK && ms_since(t0) < ms) {
        sleep_ms(100);
        rc = op();
    }
    return rc;
}

inline std::string addr(int port)
{
    return "127.0.0.1:" + std::to_string(port);
}

inline std::string addr(const ServerProcess &s)
{
    return addr(s.port());
}

inline cache_t *open_uri(const std::string &uri, const std::string &prefix = "")
{
    cache_options o = CACHE_OPTIONS_INIT;
    o.prefix = prefix.data();
    o.prefix_len = prefix.size();
    cache_t *c = nullptr;
    int rc = cache_open_ext(uri.c_str(), &o, &c);
    EXPECT_EQ(rc, CACHE_OK) << uri << ": " << cache_last_error();
    return c;
}

inline int set_str(cache_t *c, const std::string &k, const std::string &v,
                   int64_t ttl = CACHE_TTL_NONE)
{
    return cache_set(c, k.data(), k.size(), v.data(), v.size(), ttl);
}

// A bare libmemcached client on one server, to look at what unicache stored.
struct Bare {
    memcached_st *mc;
    explicit Bare(const ServerProcess &s) : mc(memcached_create(nullptr))
    {
        memcached_server_add(mc, "127.0.0.1", in_port_t(s.port()));
    }
    ~Bare() { memcached_free(mc); }
    // One figure from the server's "stats" (UINT64_MAX if it has none).
    uint64_t stat(const std::string &name)
    {
        struct Want {
            const std::string &name;
            uint64_t value;
        } want{name, UINT64_MAX};
        auto on_stat = [](const memcached_instance_st *, const char *key, size_t key_len,
                          const char *value, size_t value_len, void *ctx) -> memcached_return_t {
            Want &w = *static_cast<Want *>(ctx);
            if (std::string(key, key_len) == w.name)
                w.value = std::strtoull(std::string(value, value_len).c_str(), nullptr, 10);
            return MEMCACHED_SUCCESS;
        };
        memcached_stat_execute(mc, nullptr, on_stat, &want);
        return want.value;
    }
    // Whether the server answers a "version" within 100 ms.
    bool answers()
    {
        memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 100);
        return memcached_version(mc) == MEMCACHED_SUCCESS;
    }
    std::string get(const std::string &k, memcached_return_t *rc)
    {
        size_t len = 0;
        uint32_t flags = 0;
        char *v = memcached_get(mc, k.data(), k.size(), &len, &flags, rc);
        std::string out = v ? std::string(v, len) : "";
        free(v);
        return out;
    }
};

} // namespace unicache_test
