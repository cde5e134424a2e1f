// The contract suite on a real redis-server: over TCP, over a Unix socket,
// through a JSON configuration, and in another database with a small pool.
#include "contract/contract_suite.h"
#include "redis_server.h"

namespace unicache_test {

INSTANTIATE_TEST_SUITE_P(
    Redis, Contract,
    ::testing::Values(ContractTarget{"tcp", [] { return redis_uri(); }},
                      ContractTarget{"unix",
                                     [] {
                                         shared_redis();
                                         return "redis+unix://" + shared_redis_socket() + "?db=2";
                                     }},
                      ContractTarget{"json",
                                     [] {
                                         return R"({"backend":"redis","host":"127.0.0.1","port":)" +
                                                std::to_string(shared_redis().port()) +
                                                R"(,"db":3,"pool_size":2,"timeout_ms":5000})";
                                     }}),
    contract_name);

} // namespace unicache_test
