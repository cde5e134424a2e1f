// The contract suite on the memory backend, in the default configuration
// and with every eviction policy and a bounded size.
#include "contract/contract_suite.h"

namespace unicache_test {

namespace {

// Every memory:// open is a store of its own.
ContractTarget target(const std::string &name, const std::string &uri)
{
    ContractTarget t{name, [uri] { return uri; }};
    t.handles_share_store = false;
    return t;
}

} // namespace

INSTANTIATE_TEST_SUITE_P(
    Memory, Contract,
    ::testing::Values(target("default", "memory://"),
                      target("lru", "memory://?policy=lru&max_items=100000"),
                      target("lfu", "memory://?policy=lfu&max_items=100000"),
                      target("fifo", "memory://?policy=fifo&max_items=100000"),
                      target("tinylfu_bounded", "memory://?max_items=100000&max_memory_mb=64"),
                      target("json", R"({"backend":"memory","max_memory_mb":64})"),
                      // A named store: every handle opened with it shares it,
                      // so the nested-prefix rules run on memory too.
                      ContractTarget{"named",
                                     [] { return std::string("memory://?name=contract"); }}),
    contract_name);

} // namespace unicache_test
