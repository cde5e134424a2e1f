// A master, a replica and three sentinels on free loopback ports, with a
// password for the data nodes and another for the sentinels, and short
// down-after-milliseconds / failover-timeout so that a failover takes
// about a second. Started once per test binary, stopped at exit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace unicache_test {

extern const char kDataPassword[];
extern const char kSentinelPassword[];

class SentinelSet {
public:
    static SentinelSet &shared();

    // redis-sentinel://:datapw@s1,s2,s3/db?master=mymaster&sentinel_password=...&query
    std::string uri(const std::string &query = "", int db = 0) const;
    // The data node the sentinels name as master now (its port), or 0.
    int master_port() const;
    ServerProcess *node_on(int port);
    // Sends a command to sentinel i and returns its reply as text ("" on error).
    std::string ask_sentinel(size_t i, const std::vector<std::string> &argv) const;
    // The same to the data node on port (with the data password).
    std::string ask_node(int port, const std::vector<std::string> &argv) const;

    std::vector<std::unique_ptr<ServerProcess>> nodes;     // [0] master at start, [1] replica
    std::vector<std::unique_ptr<ServerProcess>> sentinels; // three

private:
    SentinelSet();
};

} // namespace unicache_test
