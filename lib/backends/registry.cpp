#include "backends/registry.h"

#include "backends/factories.h"
#include "core/error.h"

namespace unicache {

namespace {

struct Entry {
    const char *scheme;
    BackendFactory factory; // nullptr: known, but not built into this library
    const char *option;     // the CMake option that builds it
};

const Entry kBackends[] = {
    {"memory", make_memory_backend, ""},
#if UNICACHE_BACKEND_SQLITE
    {"sqlite", make_sqlite_backend, ""},
#else
    {"sqlite", nullptr, "UNICACHE_WITH_SQLITE"},
#endif
#if UNICACHE_BACKEND_REDIS
    {"redis", make_redis_backend, ""},
    {"redis+unix", make_redis_backend, ""},
    {"rediss", make_redis_backend, ""},
    {"redis-sentinel", make_redis_sentinel_backend, ""},
    {"redis-cluster", make_redis_cluster_backend, ""},
#else
    {"redis", nullptr, "UNICACHE_WITH_REDIS"},
    {"redis+unix", nullptr, "UNICACHE_WITH_REDIS"},
    {"rediss", nullptr, "UNICACHE_WITH_REDIS"},
    {"redis-sentinel", nullptr, "UNICACHE_WITH_REDIS"},
    {"redis-cluster", nullptr, "UNICACHE_WITH_REDIS"},
#endif
#if UNICACHE_BACKEND_MEMCACHED
    {"memcached", make_memcached_backend, ""},
#else
    {"memcached", nullptr, "UNICACHE_WITH_MEMCACHED"},
#endif
};

} // namespace

BackendFactory find_backend(const std::string &scheme)
{
    std::string known;
    for (const Entry &e : kBackends) {
        if (scheme == e.scheme) {
            if (!e.factory)
                fail(CACHE_ENOTSUP, "this build of unicache has no " + scheme +
                                        " backend (rebuild with -D" + e.option + "=ON)");
            return e.factory;
        }
        known += known.empty() ? "" : ", ";
        known += e.scheme;
    }
    fail(CACHE_EINVAL, "unknown cache scheme '" + scheme + "://'; valid schemes: " + known);
}

} // namespace unicache
