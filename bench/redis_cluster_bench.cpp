// redis-cluster:// beside its anchors, on one cluster of 3 masters and 3
// replicas started here (tests/redis/cluster_fixture.h):
//
//   single-key set and get, one connection per node, 1 in flight
//       redis-benchmark --cluster -c 1 -P 1 -t set,get    vs  cache_set / cache_get
//   a 100-key batch over ~100 slots on all three masters
//       by hand with hiredis: per node, one pipelined write of one MGET per
//       slot (MGET cannot cross slots), every node written before any is
//       read                                            vs  cache_get_many of 100 keys
//
// 1,000 keys spread over the slots, 100-byte values. Paired interleaved
// rounds (ours first in even rounds, theirs first in odd ones); printed:
// the median of the per-round ratios (ours / theirs), their range, and each
// side's median rate, with the load average before and after.
//
// Usage: redis_cluster_bench [requests per measurement, default 20000] [rounds, default 7]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <hiredis.h>

#include "backends/redis/redis_slot.h"
#include "bench_support.h"
#include "redis/cluster_fixture.h"
#include "unicache.h"

namespace {

using unicache_bench::check;
using unicache_bench::Clock;
using unicache_bench::load_average;
using unicache_bench::Paired;
using unicache_bench::seconds_since;

void row(const char *what, const Paired &p, const char *target)
{
    unicache_bench::paired_row(50, what, p, target);
}

constexpr size_t kValueSize = 100;
constexpr size_t kKeys = 1000;
constexpr size_t kBatch = 100;

std::map<std::string, double> redis_benchmark(int port, const std::string &args)
{
    std::string cmd = "redis-benchmark --cluster -h 127.0.0.1 -p " + std::to_string(port) + " " +
                      args + " -r " + std::to_string(kKeys) + " -d " + std::to_string(kValueSize) +
                      " --csv 2>&1";
    return unicache_bench::redis_benchmark_csv(cmd);
}

// The hand-written batch: a hiredis context per master and the slot map.
struct HandBatch {
    std::map<int, redisContext *> nodes; // port -> context
    std::vector<int> owner;              // slot -> port

    explicit HandBatch(unicache_test::ClusterSet &cl) : owner(unicache::kRedisSlots, 0)
    {
        for (int port : cl.masters()) {
            redisContext *c = redisConnect("127.0.0.1", port);
            if (!c || c->err)
                throw std::runtime_error("hiredis cannot connect");
            nodes[port] = c;
        }
        redisContext *any = nodes.begin()->second;
        auto *r = static_cast<redisReply *>(redisCommand(any, "CLUSTER SLOTS"));
        for (size_t i = 0; r && i < r->elements; i++) {
            redisReply *e = r->element[i];
            for (long long s = e->element[0]->integer; s <= e->element[1]->integer; s++)
                owner[size_t(s)] = int(e->element[2]->element[1]->integer);
        }
        if (r)
            freeReplyObject(r);
    }
    ~HandBatch()
    {
        for (auto &n : nodes)
            redisFree(n.second);
    }
    // keys[0, n): one MGET per slot, pipelined per node, all nodes written
    // first; every reply read and checked.
    void get(const std::string *keys, size_t n)
    {
        std::map<int, std::map<int, std::vector<const std::string *>>> plan; // port -> slot -> keys
        for (size_t i = 0; i < n; i++) {
            int slot = unicache::redis_key_slot(keys[i]);
            plan[owner[size_t(slot)]][slot].push_back(&keys[i]);
        }
        std::vector<const char *> argv;
        std::vector<size_t> lens;
        for (auto &node : plan) {
            redisContext *c = nodes[node.first];
            for (auto &slot : node.second) {
                argv.assign(1, "MGET");
                lens.assign(1, 4);
                for (const std::string *k : slot.second) {
                    argv.push_back(k->data());
                    lens.push_back(k->size());
                }
                redisAppendCommandArgv(c, int(argv.size()), argv.data(), lens.data());
            }
            int done = 0;
            while (!done)
                if (redisBufferWrite(c, &done) != REDIS_OK)
                    throw std::runtime_error("hiredis write failed");
        }
        for (auto &node : plan) {
            redisContext *c = nodes[node.first];
            for (auto &slot : node.second) {
                void *reply = nullptr;
                if (redisGetReply(c, &reply) != REDIS_OK || !reply)
                    throw std::runtime_error("hiredis read failed");
                auto *r = static_cast<redisReply *>(reply);
                if (r->type != REDIS_REPLY_ARRAY || r->elements != slot.second.size())
                    throw std::runtime_error("MGET failed");
                for (size_t j = 0; j < r->elements; j++)
                    if (r->element[j]->type != REDIS_REPLY_STRING)
                        throw std::runtime_error("MGET: a miss");
                freeReplyObject(r);
            }
        }
    }
};

} // namespace

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
    if (n < kBatch || rounds < 1) {
        std::fprintf(stderr, "usage: redis_cluster_bench [requests >= 100] [rounds >= 1]\n");
        return 2;
    }
    unicache_test::ClusterSet &cl = unicache_test::ClusterSet::shared();
    int seed = cl.masters().front();
    cache_t *c = nullptr;
    check(cache_open(cl.uri("pool_size=1").c_str(), &c), "cache_open");
    std::vector<std::string> keys;
    char buf[32];
    for (size_t i = 0; i < kKeys; i++) {
        std::snprintf(buf, sizeof buf, "bench:key:%06zu", i);
        keys.emplace_back(buf);
    }
    std::string value(kValueSize, 'v');
    for (const auto &k : keys)
        check(cache_set(c, k.data(), k.size(), value.data(), value.size(), CACHE_TTL_NONE),
              "cache_set");
    HandBatch hand(cl);
    std::vector<cache_slice> slices;
    for (const auto &k : keys)
        slices.push_back({k.data(), k.size()});
    std::vector<cache_buf> values(kBatch);
    std::vector<int> statuses(kBatch);

    std::string before = load_average();
    Paired set1, get1, batch;
    for (int r = 0; r < rounds; r++) {
        bool ours_first = r % 2 == 0;
        double our_set = 0, our_get = 0;
        std::map<std::string, double> rb;
        auto ours = [&] {
            auto t0 = Clock::now();
            for (size_t i = 0; i < n; i++) {
                const std::string &k = keys[i % kKeys];
                check(cache_set(c, k.data(), k.size(), value.data(), value.size(), CACHE_TTL_NONE),
                      "cache_set");
            }
            our_set = double(n) / seconds_since(t0);
            t0 = Clock::now();
            for (size_t i = 0; i < n; i++) {
                const std::string &k = keys[i % kKeys];
                cache_buf b = {nullptr, 0};
                check(cache_get(c, k.data(), k.size(), &b), "cache_get");
                cache_buf_free(&b);
            }
            our_get = double(n) / seconds_since(t0);
        };
        auto theirs = [&] {
            rb = redis_benchmark(seed, "-c 1 -P 1 -t set,get -n " + std::to_string(n));
        };
        if (ours_first) {
            ours();
            theirs();
        } else {
            theirs();
            ours();
        }
        set1.add(our_set, rb["SET"]);
        get1.add(our_get, rb["GET"]);

        // Batches: alternating blocks of 50 batches, the same key windows.
        size_t batches = n / kBatch;
        double t_ours = 0, t_theirs = 0;
        for (size_t done = 0; done < batches;) {
            size_t m = std::min<size_t>(50, batches - done);
            auto block_ours = [&] {
                auto t0 = Clock::now();
                for (size_t i = done; i < done + m; i++) {
                    size_t first = (i * kBatch) % (kKeys - kBatch + 1);
                    check(cache_get_many(c, slices.data() + first, kBatch, values.data(),
                                         statuses.data()),
                          "cache_get_many");
                    for (size_t j = 0; j < kBatch; j++) {
                        check(statuses[j], "cache_get_many (a miss)");
                        cache_buf_free(&values[j]);
                    }
                }
                t_ours += seconds_since(t0);
            };
            auto block_theirs = [&] {
                auto t0 = Clock::now();
                for (size_t i = done; i < done + m; i++)
                    hand.get(keys.data() + (i * kBatch) % (kKeys - kBatch + 1), kBatch);
                t_theirs += seconds_since(t0);
            };
            if (ours_first) {
                block_ours();
                block_theirs();
            } else {
                block_theirs();
                block_ours();
            }
            done += m;
        }
        batch.add(double(batches * kBatch) / t_ours, double(batches * kBatch) / t_theirs);
    }

    std::printf("\nredis-cluster:// vs its anchors, same cluster (3 masters + 3 replicas on "
                "127.0.0.1, seed %d);\n%zu requests per measurement, 16-byte keys (1,000 over the "
                "slots), %zu-byte values, %d paired\ninterleaved rounds. Load average before: "
                "%s, after: %s.\n\n",
                seed, n, kValueSize, rounds, before.c_str(), load_average().c_str());
    std::printf("| %-50s | %12s | %12s | %6s | %11s | %-6s |\n", "operation (per second, medians)",
                "anchor", "unicache", "ratio", "range", "target");
    std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(52, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(8, '-').c_str(),
                std::string(13, '-').c_str(), std::string(8, '-').c_str());
    row("set, 1 in flight (redis-benchmark --cluster -c 1 -P 1)", set1, ">=0.9");
    row("get, 1 in flight (redis-benchmark --cluster -c 1 -P 1)", get1, ">=0.9");
    row("100-key batch over slots, keys/s (hand MGETs/node)", batch, ">=0.9");
    check(cache_clear(c), "cache_clear");
    cache_close(c);
    return 0;
}
