#include "cluster_fixture.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <hiredis.h>

namespace unicache_test {

namespace {

// A free port whose cluster bus port (+10000) is free too, as Redis requires
// (so at most 55535).
int free_cluster_port()
{
    for (int tries = 0; tries < 1000; tries++) {
        int p = ServerProcess::free_port();
        if (p > 55535)
            continue;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(uint16_t(p + 10000));
        bool ok = fd >= 0 && bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return p;
    }
    throw std::runtime_error("no free port pair (p, p + 10000) for a cluster node");
}

void flatten(const redisReply *r, std::string *out)
{
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
        r->type == REDIS_REPLY_ERROR)
        *out += (out->empty() ? "" : " ") + std::string(r->str, r->len);
    else if (r->type == REDIS_REPLY_INTEGER)
        *out += (out->empty() ? "" : " ") + std::to_string(r->integer);
    else if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            flatten(r->element[i], out);
}

} // namespace

std::string ClusterSet::ask(int port, const std::vector<std::string> &argv,
                            const std::string &password)
{
    timeval tv{2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return "";
    }
    redisSetTimeout(c, tv);
    if (!password.empty()) {
        auto *r = static_cast<redisReply *>(redisCommand(c, "AUTH %s", password.c_str()));
        if (r)
            freeReplyObject(r);
    }
    std::vector<const char *> args;
    std::vector<size_t> lens;
    for (const std::string &a : argv) {
        args.push_back(a.data());
        lens.push_back(a.size());
    }
    std::string out;
    auto *r =
        static_cast<redisReply *>(redisCommandArgv(c, int(args.size()), args.data(), lens.data()));
    if (r) {
        flatten(r, &out);
        freeReplyObject(r);
    }
    redisFree(c);
    return out;
}

int ClusterSet::free_port()
{
    return free_cluster_port();
}

ClusterSet &ClusterSet::shared()
{
    static ClusterSet set;
    return set;
}

ClusterSet::ClusterSet()
{
    std::string create = "redis-cli --cluster create";
    for (int i = 0; i < 6; i++) {
        int port = free_cluster_port();
        std::string conf = "/tmp/unicache-test-cluster-" + std::to_string(getpid()) + "-" +
                           std::to_string(port) + ".conf";
        std::remove(conf.c_str());
        std::remove((conf + ".rdb").c_str());
        nodes.push_back(std::make_unique<ServerProcess>(
            std::vector<std::string>{"redis-server",
                                     "--port",
                                     "{port}",
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--loglevel",
                                     "warning",
                                     "--dir",
                                     "/tmp",
                                     "--dbfilename",
                                     conf.substr(5) + ".rdb",
                                     "--cluster-enabled",
                                     "yes",
                                     "--cluster-config-file",
                                     conf,
                                     "--cluster-node-timeout",
                                     std::to_string(kClusterNodeTimeoutMs)},
            port));
        nodes.back()->start();
        create += " 127.0.0.1:" + std::to_string(port);
    }
    create += " --cluster-replicas 1 --cluster-yes > /tmp/unicache-test-cluster-create-" +
              std::to_string(getpid()) + ".log 2>&1";
    if (std::system(create.c_str()) != 0)
        throw std::runtime_error("redis-cli --cluster create failed: " + create);
    if (!wait_ok(20000))
        throw std::runtime_error("the cluster did not reach cluster_state:ok in 20 s");
    // Every replica attached and in sync, so failovers have a candidate.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
        size_t synced = 0;
        for (int p : replicas())
            if (ask(p, {"INFO", "replication"}).find("master_link_status:up") != std::string::npos)
                synced++;
        if (synced == 3 && masters().size() == 3)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the replicas did not sync in 20 s");
}

std::string ClusterSet::uri(const std::string &query) const
{
    return "redis-cluster://127.0.0.1:" + std::to_string(nodes[0]->port()) +
           ",127.0.0.1:" + std::to_string(nodes[1]->port()) + "/" +
           (query.empty() ? "" : "?" + query);
}

std::vector<int> ClusterSet::masters() const
{
    std::vector<int> out;
    for (const auto &n : nodes)
        if (n->running() && ask(n->port(), {"ROLE"}).rfind("master", 0) == 0)
            out.push_back(n->port());
    return out;
}

std::vector<int> ClusterSet::replicas() const
{
    std::vector<int> out;
    for (const auto &n : nodes)
        if (n->running() && ask(n->port(), {"ROLE"}).rfind("slave", 0) == 0)
            out.push_back(n->port());
    return out;
}

int ClusterSet::slot_of(const std::string &key) const
{
    for (const auto &n : nodes)
        if (n->running())
            return std::atoi(ask(n->port(), {"CLUSTER", "KEYSLOT", key}).c_str());
    return -1;
}

int ClusterSet::master_of_slot(int slot) const
{
    for (const auto &n : nodes) {
        if (!n->running())
            continue;
        timeval tv{2, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", n->port(), tv);
        if (!c || c->err) {
            if (c)
                redisFree(c);
            continue;
        }
        redisSetTimeout(c, tv);
        int found = 0;
        auto *r = static_cast<redisReply *>(redisCommand(c, "CLUSTER SLOTS"));
        if (r && r->type == REDIS_REPLY_ARRAY)
            for (size_t i = 0; i < r->elements; i++) {
                redisReply *e = r->element[i];
                if (e->elements >= 3 && slot >= e->element[0]->integer &&
                    slot <= e->element[1]->integer)
                    found = int(e->element[2]->element[1]->integer);
            }
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return found;
    }
    return 0;
}

ServerProcess *ClusterSet::node_on(int port)
{
    for (auto &n : nodes)
        if (n->port() == port)
            return n.get();
    return nullptr;
}

bool ClusterSet::wait_ok(int timeout_ms) const
{
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
        bool all = true;
        for (const auto &n : nodes)
            if (n->running() &&
                ask(n->port(), {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos)
                all = false;
        if (all)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

} // namespace unicache_test
