// The contract suite: one set of tests, written once against the C API,
// that every backend passes unchanged. A backend instantiates it with
//   INSTANTIATE_TEST_SUITE_P(Redis, Contract, ::testing::Values(target));
// where target.uri() returns a URI for a server the test environment runs.
#pragma once

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "unicache.h"

namespace unicache_test {

struct ContractTarget {
    std::string name;                 // used in test names
    std::function<std::string()> uri; // called per test (servers start first)
    bool lists_keys = true;           // false: keys/delete_pattern are ENOTSUP
    bool counts_invalidations = true; // false: invalidate_tags reports 0
    int64_t ttl_resolution_ms = 1;    // memcached: 1000
    // false (memcached): with prefix_mode=raw, clear() ends only the
    // entries written through this exact prefix (a generation counter), not
    // those of longer prefixes.
    bool clear_covers_longer_prefixes = true;
    // false: every cache_open is a store of its own (memory://,
    // sqlite://:memory:), so two handles never see each other's keys.
    bool handles_share_store = true;
};

inline std::string PrintToString(const ContractTarget &t)
{
    return t.name;
}

class Contract : public ::testing::TestWithParam<ContractTarget> {
protected:
    void SetUp() override;
    void TearDown() override;
    // Opens another handle on the same store with the given prefix.
    cache_t *open_with_prefix(const std::string &prefix);
    // The same with prefix_mode=raw.
    cache_t *open_raw(const std::string &prefix);

    cache_t *c = nullptr;
    std::string prefix;
};

std::string contract_name(const ::testing::TestParamInfo<ContractTarget> &info);

} // namespace unicache_test
