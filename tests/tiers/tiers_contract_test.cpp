// The contract suite on tiered caches: a memory L1 in front of each backend
// (the whole suite must hold exactly as on the backend alone), in JSON and
// in the one-line form, and with a prefix in the configuration.
#include "contract/contract_suite.h"
#include "redis/redis_server.h"
#include "sqlite/sqlite_temp_dir.h"
#include "support/server_process.h"

namespace unicache_test {

namespace {

std::string tiers_json(const std::string &l2, const std::string &extra = "")
{
    return R"({"tiers": ["memory://?max_items=10000", ")" + l2 + R"("], "l1_ttl": 30000)" + extra +
           "}";
}

#if TIERS_WITH_SQLITE
std::string sqlite_file(const std::string &name)
{
    static SqliteTempDir dir("tiers-contract");
    return "sqlite://" + dir.path() + "/" + name;
}
#endif

#if TIERS_WITH_MEMCACHED
std::string memcached_at()
{
    static ServerProcess s = ServerProcess::memcached({"-I", "2m"});
    s.start();
    return "127.0.0.1:" + std::to_string(s.port());
}
#endif

std::vector<ContractTarget> targets()
{
    std::vector<ContractTarget> t;
    ContractTarget mm{"memory_memory", [] { return tiers_json("memory://"); }};
    mm.handles_share_store = false; // every memory:// open is a store of its own
    t.push_back(mm);
#if TIERS_WITH_REDIS
    t.push_back({"memory_redis", [] { return tiers_json(redis_uri()); }});
    t.push_back({"memory_redis_prefixed_stale", [] {
                     return tiers_json(redis_uri("db=1"),
                                       R"(, "prefix": "app:", "stale_if_error": 60000)");
                 }});
    t.push_back({"one_line_redis", [] {
                     return "tiered+redis://127.0.0.1:" + std::to_string(shared_redis().port()) +
                            "/2?l1_max_items=10000&l1_ttl=30000";
                 }});
    t.push_back({"three_tiers", [] {
                     return R"({"tiers": ["memory://?max_items=100", "memory://", ")" +
                            redis_uri("db=3") + R"("], "l1_ttl": 30000})";
                 }});
#endif
#if TIERS_WITH_SQLITE
    t.push_back({"memory_sqlite", [] { return tiers_json(sqlite_file("tiers.db")); }});
#endif
#if TIERS_WITH_MEMCACHED
    ContractTarget mc{"memory_memcached",
                      [] { return tiers_json("memcached://" + memcached_at()); }};
    mc.lists_keys = false;
    mc.counts_invalidations = false;
    mc.ttl_resolution_ms = 1000;
    mc.clear_covers_longer_prefixes = false; // as memcached's own targets
    t.push_back(mc);
#endif
    return t;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(Tiers, Contract, ::testing::ValuesIn(targets()), contract_name);

} // namespace unicache_test
