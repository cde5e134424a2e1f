// The contract suite through a handle on a named store: every call goes
// through the handle that forwards to the shared store.
#include "contract/contract_suite.h"

namespace unicache_test {

INSTANTIATE_TEST_SUITE_P(
    NamedMemory, Contract,
    ::testing::Values(
        ContractTarget{"named", [] { return std::string("memory://?name=contract"); }},
        ContractTarget{
            "named_bounded",
            [] { return std::string("memory://?name=contract-lru&policy=lru&max_items=100000"); }}),
    contract_name);

} // namespace unicache_test
