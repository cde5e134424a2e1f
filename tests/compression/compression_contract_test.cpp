// The contract suite with compression on, every value over
// the threshold compressed: compression changes nothing a caller can see.
#include "contract/contract_suite.h"
#include "redis/redis_server.h"

namespace unicache_test {

namespace {

ContractTarget own_store(const std::string &name, const std::string &uri)
{
    ContractTarget t{name, [uri] { return uri; }};
    t.handles_share_store = false;
    return t;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(
    Compressed, Contract,
    ::testing::Values(own_store("memory_zstd", "memory://?compress=zstd&compress_threshold=0"),
                      own_store("memory_lz4", "memory://?compress=lz4&compress_threshold=0"),
                      ContractTarget{
                          "redis_zstd",
                          [] { return redis_uri("compress=zstd&compress_threshold=0"); }}),
    contract_name);

} // namespace unicache_test
