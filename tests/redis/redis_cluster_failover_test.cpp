// redis-cluster:// while the cluster changes under load (a cluster of its
// own, cluster_fixture.h): a master killed (its replica takes over after
// cluster-node-timeout), then slots moved with redis-cli --cluster reshard.
// Every call must end within its deadline; after the failover the cache
// serves again within the node timeout plus a few seconds and every write
// Redis kept is readable; during the resharding no error and no wrong value
// reaches the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster_fixture.h"
#include "support/cache_io.h"
#include "unicache.h"

namespace unicache_test {

namespace {

using Clock = std::chrono::steady_clock;

int64_t ms_since(Clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string info(cache_t *c)
{
    cache_buf b{nullptr, 0};
    std::string out;
    if (cache_backend_info(c, &b) == CACHE_OK)
        out.assign(static_cast<char *>(b.data), b.size);
    cache_buf_free(&b);
    return out;
}

// Writers that each own their keys, remember what each key was last
// acknowledged with, and check every read against it.
struct Load {
    explicit Load(cache_t *c, int threads, int64_t timeout_ms) : cache(c), timeout(timeout_ms)
    {
        for (int t = 0; t < threads; t++)
            workers.emplace_back([this, t] { run(t); });
    }
    void stop()
    {
        done = true;
        for (auto &w : workers)
            w.join();
        workers.clear();
    }
    ~Load()
    {
        if (!workers.empty())
            stop();
    }
    void run(int t)
    {
        std::map<std::string, std::string> mine;
        auto end = Clock::now() + std::chrono::seconds(60); // bound, whatever happens
        for (int i = 0; !done && Clock::now() < end; i++) {
            std::string key = "t" + std::to_string(t) + ":" + std::to_string(i % 200);
            std::string value = std::to_string(i);
            auto t0 = Clock::now();
            int rc = set_string(cache, key, value);
            note(ms_since(t0), rc);
            if (rc == CACHE_OK) {
                mine[key] = value;
                std::lock_guard<std::mutex> lock(mu);
                acked[key] = value;
            }
            std::string k2 = "t" + std::to_string(t) + ":" + std::to_string((i * 7) % 200);
            auto it = mine.find(k2);
            if (it == mine.end())
                continue;
            int grc = CACHE_OK;
            t0 = Clock::now();
            std::string got = get_string(cache, k2, &grc);
            note(ms_since(t0), grc == CACHE_MISS ? CACHE_OK : grc);
            if (grc == CACHE_OK && got != it->second) {
                std::lock_guard<std::mutex> lock(mu);
                wrong.push_back(k2 + ": read " + got + ", last written " + it->second);
            }
        }
    }
    void note(int64_t took, int rc)
    {
        calls++;
        int64_t seen = longest.load();
        while (took > seen && !longest.compare_exchange_weak(seen, took)) {
        }
        if (rc != CACHE_OK) {
            errors++;
            std::lock_guard<std::mutex> lock(mu);
            if (last_error.empty())
                last_error = cache_last_error();
        }
    }

    cache_t *cache;
    int64_t timeout;
    std::atomic<bool> done{false};
    std::atomic<int64_t> calls{0}, errors{0}, longest{0};
    std::mutex mu;
    std::map<std::string, std::string> acked;
    std::vector<std::string> wrong;
    std::string last_error;
    std::vector<std::thread> workers;
};

std::string node_id(int port)
{
    return ClusterSet::ask(port, {"CLUSTER", "MYID"});
}

} // namespace

TEST(ClusterFailover, AKilledMasterIsReplacedWithinTheNodeTimeout)
{
    ClusterSet &cl = ClusterSet::shared();
    const int64_t timeout_ms = 1000;
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(cl.uri("prefix=fo:&timeout_ms=1000&retry_delay_ms=20").c_str(), &c),
              CACHE_OK)
        << cache_last_error();
    // A key whose slot the victim serves.
    int victim = cl.masters().front();
    std::string probe;
    for (int i = 0; probe.empty(); i++)
        if (cl.master_of_slot(cl.slot_of("fo:probe" + std::to_string(i))) == victim)
            probe = "probe" + std::to_string(i);
    Load load(c, 2, timeout_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cl.node_on(victim)->kill_hard();
    auto killed = Clock::now();
    int64_t served_after = -1;
    while (ms_since(killed) < 20000) {
        auto t0 = Clock::now();
        int rc = set_string(c, probe, "x");
        EXPECT_LE(ms_since(t0), timeout_ms + 500) << cache_last_error();
        if (rc == CACHE_OK) {
            served_after = ms_since(killed);
            break;
        }
        EXPECT_TRUE(rc == CACHE_EUNAVAILABLE || rc == CACHE_ETIMEOUT) << cache_last_error();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // load on the new master
    load.stop();
    ASSERT_GE(served_after, 0) << "no new master within 20 s";
    std::printf("cluster failover: served again %lld ms after the master was killed "
                "(cluster-node-timeout %d ms); load: %lld calls, %lld failed, longest %lld ms; "
                "last error: %s\n",
                (long long)served_after, kClusterNodeTimeoutMs, (long long)load.calls.load(),
                (long long)load.errors.load(), (long long)load.longest.load(),
                load.last_error.c_str());
    EXPECT_LT(served_after, kClusterNodeTimeoutMs + 5000);
    EXPECT_LE(load.longest.load(), timeout_ms + 500) << "a call outlived its deadline";
    EXPECT_TRUE(load.wrong.empty()) << load.wrong.front();
    // Every acknowledged write is readable, except those the dead master had
    // not yet sent to its replica (asynchronous replication): those read
    // as an earlier value or a miss, never as something never written.
    int heir = cl.master_of_slot(cl.slot_of("fo:" + probe));
    EXPECT_NE(heir, victim);
    size_t kept = 0, lost = 0;
    for (const auto &kv : load.acked) {
        int rc = CACHE_OK;
        std::string got = get_string(c, kv.first, &rc);
        ASSERT_TRUE(rc == CACHE_OK || rc == CACHE_MISS) << cache_last_error();
        if (got == kv.second) {
            kept++;
        } else {
            lost++;
            // Only the dead master's slots (now its replica's) can lose writes.
            EXPECT_EQ(cl.master_of_slot(cl.slot_of("fo:" + kv.first)), heir) << kv.first;
        }
    }
    std::printf("cluster failover: %zu acknowledged keys readable, %zu lost with the master\n",
                kept, lost);
    EXPECT_GT(kept, 0u);
    EXPECT_LE(lost, load.acked.size() / 3 + 1); // only the victim's share can be lost
    cache_close(c);
    // The old master comes back as a replica of the new one.
    cl.node_on(victim)->start();
    EXPECT_TRUE(cl.wait_ok(20000));
}

TEST(ClusterFailover, ReshardingUnderLoadReachesNoCaller)
{
    ClusterSet &cl = ClusterSet::shared();
    ASSERT_TRUE(cl.wait_ok(20000));
    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(cl.uri("prefix=rs:&timeout_ms=2000").c_str(), &c), CACHE_OK)
        << cache_last_error();
    std::vector<int> ms = cl.masters();
    ASSERT_GE(ms.size(), 2u);
    Load load(c, 2, 2000);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string cmd = "redis-cli --cluster reshard 127.0.0.1:" + std::to_string(ms[0]) +
                      " --cluster-from " + node_id(ms[0]) + " --cluster-to " + node_id(ms[1]) +
                      " --cluster-slots 300 --cluster-yes --cluster-pipeline 10 > "
                      "/tmp/unicache-test-reshard.log 2>&1";
    auto t0 = Clock::now();
    int rc = std::system(cmd.c_str());
    int64_t took = ms_since(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    load.stop();
    ASSERT_EQ(rc, 0) << "redis-cli --cluster reshard failed (see /tmp/unicache-test-reshard.log)";
    std::string text = info(c);
    std::printf("cluster resharding: 300 slots moved in %lld ms under load: %lld calls, %lld "
                "failed, longest %lld ms\n%s",
                (long long)took, (long long)load.calls.load(), (long long)load.errors.load(),
                (long long)load.longest.load(), text.c_str());
    EXPECT_EQ(load.errors.load(), 0) << load.last_error;
    EXPECT_TRUE(load.wrong.empty()) << load.wrong.front();
    EXPECT_GT(load.calls.load(), 100);
    EXPECT_NE(text.find("moved_redirections:"), std::string::npos);
    // Every key's last write is where the cache reads it from.
    for (const auto &kv : load.acked)
        EXPECT_EQ(get_string(c, kv.first), kv.second) << kv.first;
    cache_close(c);
}

} // namespace unicache_test
