#include "stampede/stampede_uris.h"

#include <cstdlib>
#include <unistd.h>

#include "redis/redis_server.h"
#include "sqlite/sqlite_temp_dir.h"
#include "support/server_process.h"

namespace unicache_test {

std::vector<StampedeBackend> stampede_backends()
{
    std::vector<StampedeBackend> out;
    // Named: every handle of the test shares one store, as processes share a server.
    out.push_back({"memory", "memory://?name=stampede_test", false, false});
    static SqliteTempDir dir("stampede");
    out.push_back({"sqlite", "sqlite://" + dir.file("leases.db"), false});
    out.push_back({"redis", redis_uri(), false});
    // A memory L1 over redis: the lease lives in the lowest tier.
    out.push_back(
        {"tiered",
         R"({"tiers": ["memory://?max_items=10000", ")" + redis_uri() + R"("], "l1_ttl": 30000)",
         true});
    static ServerProcess mc = [] {
        ServerProcess s = ServerProcess::memcached();
        s.start();
        return s;
    }();
    out.push_back({"memcached", "memcached://127.0.0.1:" + std::to_string(mc.port()), false});
    // Two servers: a key's lease item may live on the other one.
    static ServerProcess mc2 = [] {
        ServerProcess s = ServerProcess::memcached();
        s.start();
        return s;
    }();
    out.push_back({"memcached2",
                   "memcached://127.0.0.1:" + std::to_string(mc.port()) +
                       ",127.0.0.1:" + std::to_string(mc2.port()),
                   false, false});
    return out;
}

} // namespace unicache_test
