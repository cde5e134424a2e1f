// The contract suite on the memory backend, in the default configuration
// and with every eviction policy and a bounded size.
#include "contract/contract_suite.h"

namespace unicache_test {

INSTANTIATE_TEST_SUITE_P(
    Memory, Contract,
    ::testing::Values(
        ContractTarget{"default", [] { return std::string("memory://"); }},
        ContractTarget{"lru", [] { return std::string("memory://?policy=lru&max_items=100000"); }},
        ContractTarget{"lfu", [] { return std::string("memory://?policy=lfu&max_items=100000"); }},
        ContractTarget{"fifo",
                       [] { return std::string("memory://?policy=fifo&max_items=100000"); }},
        ContractTarget{"tinylfu_bounded",
                       [] { return std::string("memory://?max_items=100000&max_memory_mb=64"); }},
        ContractTarget{"json",
                       [] { return std::string(R"({"backend":"memory","max_memory_mb":64})"); }}),
    contract_name);

} // namespace unicache_test
