// A Redis Cluster of 3 masters and 3 replicas on free loopback ports
// (redis-server --cluster-enabled yes, then redis-cli --cluster create ...
// --cluster-replicas 1), with a short cluster-node-timeout so that a
// failover takes about two seconds. Started once per test binary on first
// use, stopped at exit. Plus hiredis helpers to look at the nodes directly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace unicache_test {

constexpr int kClusterNodeTimeoutMs = 1500;

class ClusterSet {
public:
    static ClusterSet &shared();

    // redis-cluster://127.0.0.1:p1,127.0.0.1:p2/?query (two seeds).
    std::string uri(const std::string &query = "") const;
    // Sends argv to the node on port; the reply as text (arrays joined by
    // spaces, nested ones flattened), "" when it cannot be reached.
    static std::string ask(int port, const std::vector<std::string> &argv,
                           const std::string &password = "");
    // The ports of the masters / replicas now (ROLE of every running node).
    std::vector<int> masters() const;
    std::vector<int> replicas() const;
    // The port of the master serving slot (CLUSTER SHARDS on a live node), or 0.
    int master_of_slot(int slot) const;
    int slot_of(const std::string &key) const;
    ServerProcess *node_on(int port);
    // A free port p with p + 10000 free too (a cluster node's bus port).
    static int free_port();
    // Waits (bounded) until every running node says cluster_state:ok.
    bool wait_ok(int timeout_ms) const;

    std::vector<std::unique_ptr<ServerProcess>> nodes;

private:
    ClusterSet();
};

} // namespace unicache_test
