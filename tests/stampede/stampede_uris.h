// The backends the stampede tests run on: every backend whose leases are
// shared by the processes that share it, and a tiered cache over them.
#pragma once

#include <string>
#include <vector>

namespace unicache_test {

struct StampedeBackend {
    std::string name; // a test name part: letters and digits only
    std::string base; // a URI, or for a tiered cache its JSON without the closing '}'
    bool tiered = false;
    bool herd = true; // also in the many-process herd (memory: no processes share it)

    // base with the parameters of query ("a=1&b=x"): in the URI, or as
    // JSON fields of a tiered cache (a one-line tiered URI hands its query
    // to the lowest tier, and prefix belongs to the whole cache).
    std::string uri(const std::string &query) const
    {
        if (!tiered) {
            if (query.empty())
                return base;
            return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
        }
        std::string json = base;
        size_t start = 0;
        while (start < query.size()) {
            size_t amp = query.find('&', start);
            std::string pair = query.substr(start, amp == std::string::npos ? amp : amp - start);
            size_t eq = pair.find('=');
            json += ", \"" + pair.substr(0, eq) + "\": \"" +
                    (eq == std::string::npos ? "" : pair.substr(eq + 1)) + "\"";
            if (amp == std::string::npos)
                break;
            start = amp + 1;
        }
        return json + "}";
    }
};

// Starts the servers they need (on first use) and makes a fresh SQLite file.
std::vector<StampedeBackend> stampede_backends();

} // namespace unicache_test
