#include "stampede/stampede_uris.h"

#include <cstdlib>
#include <unistd.h>

#include "redis/redis_server.h"
#include "sqlite/sqlite_temp_dir.h"

namespace unicache_test {

std::vector<StampedeBackend> stampede_backends()
{
    std::vector<StampedeBackend> out;
    // Named: every handle of the test shares one store, as processes share a server.
    out.push_back({"memory", "memory://?name=stampede_test", false});
    static SqliteTempDir dir("stampede");
    out.push_back({"sqlite", "sqlite://" + dir.file("leases.db"), false});
    out.push_back({"redis", redis_uri(), false});
    // A memory L1 over redis: the lease lives in the lowest tier.
    out.push_back(
        {"tiered",
         R"({"tiers": ["memory://?max_items=10000", ")" + redis_uri() + R"("], "l1_ttl": 30000)",
         true});
    return out;
}

} // namespace unicache_test
