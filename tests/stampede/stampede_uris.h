// The backends the stampede tests run on: every backend whose leases are
// shared by the processes that share it, and a tiered cache over them.
#pragma once

#include <string>
#include <vector>

namespace unicache_test {

struct StampedeBackend {
    std::string name; // a test name part: letters and digits only
    std::string base; // a URI without a query
    bool tiered = false;

    std::string uri(const std::string &query) const
    {
        if (query.empty())
            return base;
        return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
    }
};

// Starts the servers they need (on first use) and makes a fresh SQLite file.
std::vector<StampedeBackend> stampede_backends();

} // namespace unicache_test
