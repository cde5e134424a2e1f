// The contract suite on memcached: text protocol (with and without the
// fast single-key get), binary protocol, and a cache spread over two
// servers. memcached cannot enumerate keys, counts no invalidations (tags
// are checked lazily) and keeps time in seconds; the target says so, and
// everything else holds exactly as on the memory backend.
#include "contract/contract_suite.h"
#include "support/server_process.h"

namespace unicache_test {

namespace {

// -I 2m: the contract stores a 1 MiB value, which with its key and
// memcached's item header is just over the default 1 MiB item limit.
ServerProcess &server(int which)
{
    static ServerProcess a = ServerProcess::memcached({"-I", "2m"});
    static ServerProcess b = ServerProcess::memcached({"-I", "2m"});
    ServerProcess &s = which == 0 ? a : b;
    s.start();
    return s;
}

std::string at(int which)
{
    return "127.0.0.1:" + std::to_string(server(which).port());
}

ContractTarget target(const std::string &name, std::function<std::string()> uri)
{
    ContractTarget t{name, std::move(uri)};
    t.lists_keys = false;
    t.counts_invalidations = false;
    t.ttl_resolution_ms = 1000;
    t.clear_covers_longer_prefixes = false;
    return t;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(
    Memcached, Contract,
    ::testing::Values(target("text", [] { return "memcached://" + at(0); }),
                      target("binary", [] { return "memcached://" + at(0) + "?binary=true"; }),
                      // Single-key reads through libmemcached instead of the
                      // fast path's own socket (the other targets use it).
                      target("text_libmemcached_get",
                             [] { return "memcached://" + at(0) + "?fast_get=false"; }),
                      target("two_servers", [] { return "memcached://" + at(0) + "," + at(1); }),
                      target("json",
                             [] {
                                 return R"({"backend":"memcached","hosts":")" + at(1) +
                                        R"(","generation_cache_ms":0})";
                             })),
    contract_name);

} // namespace unicache_test
