#include "sentinel_fixture.h"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

#include <hiredis.h>

namespace unicache_test {

const char kDataPassword[] = "data-Pw-5e1a";
const char kSentinelPassword[] = "sent-Pw-83bd";

namespace {

void flatten(const redisReply *r, std::string *out)
{
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
        *out += (out->empty() ? "" : " ") + std::string(r->str, r->len);
    else if (r->type == REDIS_REPLY_INTEGER)
        *out += (out->empty() ? "" : " ") + std::to_string(r->integer);
    else if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; i++)
            flatten(r->element[i], out);
}

// argv through hiredis; the reply flattened to text ("a b" for arrays).
std::string ask(int port, const char *password, const std::vector<std::string> &argv)
{
    timeval tv{2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return "";
    }
    redisSetTimeout(c, tv);
    std::string out;
    if (password) {
        auto *r = static_cast<redisReply *>(redisCommand(c, "AUTH %s", password));
        if (r)
            freeReplyObject(r);
    }
    std::vector<const char *> args;
    std::vector<size_t> lens;
    for (const std::string &a : argv) {
        args.push_back(a.data());
        lens.push_back(a.size());
    }
    auto *r =
        static_cast<redisReply *>(redisCommandArgv(c, int(args.size()), args.data(), lens.data()));
    if (r) {
        flatten(r, &out);
        freeReplyObject(r);
    }
    redisFree(c);
    return out;
}

} // namespace

SentinelSet &SentinelSet::shared()
{
    static SentinelSet set;
    return set;
}

SentinelSet::SentinelSet()
{
    std::vector<std::string> auth = {"--requirepass", kDataPassword, "--masterauth", kDataPassword};
    nodes.push_back(std::make_unique<ServerProcess>(ServerProcess::redis(auth)));
    nodes[0]->start();
    std::vector<std::string> replica = auth;
    replica.insert(replica.end(), {"--replicaof", "127.0.0.1", std::to_string(nodes[0]->port())});
    nodes.push_back(std::make_unique<ServerProcess>(ServerProcess::redis(replica)));
    nodes[1]->start();
    for (int i = 0; i < 3; i++) {
        // A sentinel rewrites its configuration file: one file each.
        std::string conf = "/tmp/unicache-test-sentinel-" + std::to_string(getpid()) + "-" +
                           std::to_string(i) + ".conf";
        std::ofstream f(conf);
        f << "bind 127.0.0.1\n"
          << "sentinel monitor mymaster 127.0.0.1 " << nodes[0]->port() << " 2\n"
          << "sentinel auth-pass mymaster " << kDataPassword << "\n"
          << "sentinel down-after-milliseconds mymaster 400\n"
          << "sentinel failover-timeout mymaster 2000\n"
          << "sentinel parallel-syncs mymaster 1\n"
          << "requirepass " << kSentinelPassword << "\n"
          << "sentinel sentinel-pass " << kSentinelPassword << "\n";
        f.close();
        sentinels.push_back(std::make_unique<ServerProcess>(std::vector<std::string>{
            "redis-server", conf, "--sentinel", "--port", "{port}", "--loglevel", "warning"}));
        sentinels.back()->start();
    }
    // Ready when every sentinel knows the replica and the other sentinels.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (size_t i = 0; i < sentinels.size(); i++) {
        for (;;) {
            std::string others = ask_sentinel(i, {"SENTINEL", "sentinels", "mymaster"});
            std::string replicas = ask_sentinel(i, {"SENTINEL", "replicas", "mymaster"});
            size_t seen = 0;
            for (size_t p = others.find("runid"); p != std::string::npos;
                 p = others.find("runid", p + 1))
                seen++;
            if (seen >= 2 && replicas.find(std::to_string(nodes[1]->port())) != std::string::npos)
                break;
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("the sentinels did not find each other in 15 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

std::string SentinelSet::uri(const std::string &query, int db) const
{
    std::string u = "redis-sentinel://:" + std::string(kDataPassword) + "@";
    for (size_t i = 0; i < sentinels.size(); i++)
        u += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(sentinels[i]->port());
    u += "/" + std::to_string(db) + "?master=mymaster&sentinel_password=" + kSentinelPassword;
    if (!query.empty())
        u += "&" + query;
    return u;
}

int SentinelSet::master_port() const
{
    for (size_t i = 0; i < sentinels.size(); i++) {
        if (!sentinels[i]->running())
            continue;
        std::string a = ask_sentinel(i, {"SENTINEL", "get-master-addr-by-name", "mymaster"});
        size_t space = a.find(' ');
        if (space != std::string::npos)
            return std::atoi(a.c_str() + space + 1);
    }
    return 0;
}

ServerProcess *SentinelSet::node_on(int port)
{
    for (auto &n : nodes)
        if (n->port() == port)
            return n.get();
    return nullptr;
}

std::string SentinelSet::ask_sentinel(size_t i, const std::vector<std::string> &argv) const
{
    return ask(sentinels[i]->port(), kSentinelPassword, argv);
}

} // namespace unicache_test

namespace unicache_test {

std::string SentinelSet::ask_node(int port, const std::vector<std::string> &argv) const
{
    return ask(port, kDataPassword, argv);
}

} // namespace unicache_test
