// The herd (issue 13): 4 processes x 8 threads want one key with a 1 s TTL
// and a 100 ms compute, on every backend whose leases processes share.
// Each backend runs three modes in the same test, 2 s each: no
// protection (get, compute, set), leases (cache_fetch) and leases with
// stale-while-revalidate. What is asserted is the protocol, not timings a
// loaded machine could miss: with leases no two computes ever overlap and
// there are at most 1 + 1 per expiry window; with stale_ttl nobody waits
// for a compute (p99 below the compute time); without protection the
// same traffic computes many times per expiry (measured, printed).
// Plus a holder killed with SIGKILL mid-compute: another process computes
// within lease_ttl + the compute time, and nothing hangs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "fork/bounded_child.h"
#include "stampede/stampede_uris.h"
#include "support/cache_io.h"
#include "unicache.h"

using namespace unicache_test;

namespace {

constexpr int kProcesses = 4;
constexpr int kThreads = 8;
constexpr int kTtlMs = 1000;
constexpr int kComputeMs = 100;
constexpr int kRunMs = 2000;
constexpr int kMaxSamples = 1 << 17;

int64_t now_us()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// In memory every forked process shares (MAP_SHARED before the fork).
struct Shared {
    std::atomic<int> computes;
    std::atomic<int> active; // computes running now
    std::atomic<int> overlaps;
    std::atomic<int> errors;
    std::atomic<int> samples;
    std::atomic<int64_t> first_fill_us; // when the first compute ended
    int64_t latency_us[kMaxSamples];
    char last_error[256];
};

Shared *map_shared()
{
    void *p =
        mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return nullptr;
    return new (p) Shared();
}

Shared *g_shared = nullptr;

int herd_compute(void *, const void *, size_t, cache_buf *value, cache_int64 *)
{
    Shared &s = *g_shared;
    s.computes++;
    if (++s.active > 1)
        s.overlaps++;
    std::this_thread::sleep_for(std::chrono::milliseconds(kComputeMs));
    s.active--;
    int64_t zero = 0;
    s.first_fill_us.compare_exchange_strong(zero, now_us());
    if (cache_buf_alloc(value, 5) != CACHE_OK)
        return CACHE_ENOMEM;
    std::memcpy(value->data, "value", 5);
    return CACHE_OK;
}

enum class Mode { unprotected, leases, stale };

// One thread of one process: calls for kRunMs, one call every ~5 ms.
void herd_thread(cache_t *c, Mode mode, int64_t start_us)
{
    Shared &s = *g_shared;
    while (now_us() - start_us < kRunMs * 1000) {
        int64_t t0 = now_us();
        int rc;
        cache_buf b = {nullptr, 0};
        if (mode == Mode::unprotected) {
            rc = cache_get(c, "hot", 3, &b);
            if (rc == CACHE_MISS) {
                cache_buf v = {nullptr, 0};
                cache_int64 ttl = kTtlMs;
                rc = herd_compute(nullptr, "hot", 3, &v, &ttl);
                if (rc == CACHE_OK)
                    rc = cache_set(c, "hot", 3, v.data, v.size, kTtlMs);
                cache_buf_free(&v);
            }
        } else {
            rc = cache_fetch(c, "hot", 3, herd_compute, nullptr, kTtlMs, &b);
        }
        cache_buf_free(&b);
        int64_t t1 = now_us();
        if (rc < 0 && s.errors++ == 0)
            snprintf(s.last_error, sizeof s.last_error, "%d: %s", rc, cache_last_error());
        int64_t first = s.first_fill_us.load();
        if (first && t0 > first) {
            int i = s.samples++;
            if (i < kMaxSamples)
                s.latency_us[i] = t1 - t0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

struct HerdResult {
    int computes = 0, overlaps = 0, errors = 0;
    int64_t p50_us = 0, p99_us = 0, max_us = 0;
    std::string children;
    double per_expiry() const { return double(computes) / windows(); }
    // Fills a run can see: the first, then one per TTL + compute.
    static int windows() { return kRunMs / (kTtlMs + kComputeMs) + 1; }
};

HerdResult run_herd(const std::string &uri, Mode mode)
{
    Shared &s = *g_shared;
    s.~Shared();
    new (&s) Shared();
    int64_t start_us = now_us() + 200 * 1000; // every process starts together
    std::vector<pid_t> pids;
    for (int p = 0; p < kProcesses; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            cache_t *c = nullptr;
            if (cache_open(uri.c_str(), &c) != CACHE_OK)
                _exit(3);
            std::this_thread::sleep_for(
                std::chrono::microseconds(std::max<int64_t>(0, start_us - now_us())));
            std::vector<std::thread> ts;
            for (int t = 0; t < kThreads; t++)
                ts.emplace_back(herd_thread, c, mode, start_us);
            for (auto &t : ts)
                t.join();
            cache_close(c);
            _exit(0);
        }
        pids.push_back(pid);
    }
    HerdResult r;
    for (pid_t pid : pids) {
        ChildResult cr = wait_bounded(pid, std::chrono::milliseconds(kRunMs + 20000));
        if (!cr.ok())
            r.children += cr.describe() + "; ";
    }
    r.computes = s.computes;
    r.overlaps = s.overlaps;
    r.errors = s.errors;
    int n = std::min(s.samples.load(), kMaxSamples);
    std::vector<int64_t> lat(s.latency_us, s.latency_us + n);
    std::sort(lat.begin(), lat.end());
    if (n) {
        r.p50_us = lat[n / 2];
        r.p99_us = lat[size_t(n * 0.99)];
        r.max_us = lat.back();
    }
    return r;
}

class Herd : public ::testing::TestWithParam<StampedeBackend> {
protected:
    static void SetUpTestSuite() { g_shared = map_shared(); }
    std::string uri(const std::string &query, const std::string &tag)
    {
        std::string prefix = "prefix=herd" + std::to_string(getpid()) + GetParam().name + tag;
        return GetParam().uri(query.empty() ? prefix : prefix + "&" + query);
    }
};

void print(const std::string &backend, const char *mode, const HerdResult &r)
{
    printf("herd %-8s %-12s computes %3d (%.1f per expiry)  overlaps %d  p50 %.1f ms  "
           "p99 %.1f ms  max %.1f ms\n",
           backend.c_str(), mode, r.computes, r.per_expiry(), r.overlaps, r.p50_us / 1000.0,
           r.p99_us / 1000.0, r.max_us / 1000.0);
    fflush(stdout);
}

TEST_P(Herd, LeasesComputeOncePerExpiry)
{
    ASSERT_NE(g_shared, nullptr);
    const int windows = HerdResult::windows();

    HerdResult none = run_herd(uri("", "none"), Mode::unprotected);
    print(GetParam().name, "unprotected", none);
    HerdResult leases = run_herd(uri("", "leases"), Mode::leases);
    print(GetParam().name, "leases", leases);
    HerdResult stale = run_herd(uri("stale_ttl=5000", "stale"), Mode::stale);
    print(GetParam().name, "leases+swr", stale);

    for (const HerdResult *r : {&none, &leases, &stale}) {
        EXPECT_EQ(r->children, "");
        EXPECT_EQ(r->errors, 0) << g_shared->last_error;
    }
    // Leases: one compute at a time, at most 1 + 1 per expiry window.
    EXPECT_EQ(leases.overlaps, 0);
    EXPECT_GE(leases.computes, 1);
    EXPECT_LE(leases.computes, 2 * windows);
    EXPECT_EQ(stale.overlaps, 0);
    EXPECT_LE(stale.computes, 2 * windows);
    // Stale-while-revalidate: after the first fill nobody waits for a
    // compute (the refresher computes; 1 call in hundreds).
    EXPECT_LT(stale.p99_us, kComputeMs * 1000);
    // The same herd without protection computes many times at once.
    EXPECT_GT(none.overlaps, 0);
    EXPECT_GT(none.computes, 2 * leases.computes);
}

TEST_P(Herd, KilledHolderIsTakenOverWithinLeaseTtl)
{
    const int lease_ttl = 500;
    std::string u = uri("lease_ttl=" + std::to_string(lease_ttl), "kill");
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        cache_t *c = nullptr;
        if (cache_open(u.c_str(), &c) != CACHE_OK)
            _exit(3);
        cache_lease l = CACHE_LEASE_INIT;
        cache_buf b = {nullptr, 0};
        int rc = cache_lease_get(c, "hot", 3, 0, &b, &l);
        char ok = rc == CACHE_MISS && cache_lease_held(&l) ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1)
            _exit(4);
        pause(); // "computing" until killed
        _exit(0);
    }
    close(ready[1]);
    char ok = 0;
    ASSERT_EQ(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    ASSERT_EQ(ok, 'y') << "the child did not get the lease";
    int64_t t0 = now_us();
    kill(pid, SIGKILL);
    ChildResult cr = wait_bounded(pid, std::chrono::milliseconds(5000));
    EXPECT_FALSE(cr.hung);

    cache_t *c = nullptr;
    ASSERT_EQ(cache_open(u.c_str(), &c), CACHE_OK) << cache_last_error();
    Shared &s = *g_shared;
    s.~Shared();
    new (&s) Shared();
    cache_buf b = {nullptr, 0};
    int rc = cache_fetch(c, "hot", 3, herd_compute, nullptr, kTtlMs, &b);
    int64_t took_ms = (now_us() - t0) / 1000;
    cache_buf_free(&b);
    EXPECT_EQ(rc, CACHE_OK) << cache_last_error();
    EXPECT_EQ(s.computes.load(), 1);
    // The dead holder's lease blocked the key until it ran out, no longer
    // (lock_timeout, 5 s, would be the wait without a lease_ttl).
    EXPECT_LT(took_ms, lease_ttl + kComputeMs + 2500);
    printf("herd %-8s killed holder: recomputed after %lld ms (lease_ttl %d ms)\n",
           GetParam().name.c_str(), (long long)took_ms, lease_ttl);
    cache_clear(c);
    cache_close(c);
}

std::vector<StampedeBackend> shared_backends()
{
    std::vector<StampedeBackend> out;
    for (auto &b : stampede_backends())
        if (b.herd)
            out.push_back(b);
    return out;
}

INSTANTIATE_TEST_SUITE_P(Backends, Herd, ::testing::ValuesIn(shared_backends()),
                         [](const auto &info) { return info.param.name; });

} // namespace
