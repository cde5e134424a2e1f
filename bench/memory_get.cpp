// Get-hit throughput of memory:// through the C API, beside the least a
// copy-out cache can do, measured in the same run.
//
// The baseline ("C chained hash") is what issue 12 names: a bucket array of
// node pointers (a power of two >= the key count, so chains average < 1
// node), one malloc per node holding next, the FNV-1a hash, the lengths, the
// key and the value; keys hashed and compared as (pointer, length), one
// pthread mutex around the whole table, and a hit copies the value into a
// fresh malloc'd buffer that the caller frees. No policy, no expiry, no
// statistics: the minimum a copy-out cache must do.
//
// unicache: cache_get + cache_buf_free, and cache_get_into a caller's
// buffer, on memory://?max_items=2N (the default policy, tinylfu, so
// eviction bookkeeping runs on every hit; every key fits, so every get hits).
//
// Keys are 13 bytes, values 100 bytes, N = 1k, 100k and 1M keys, looked up
// uniformly or by a Zipf(0.99) law over a random ranking of the keys. Each
// cell runs kRounds paired rounds (ours, baseline, ours, baseline...) and
// reports the median of the per-round ratios, so a burst of load from
// another process lands on both sides. 2 threads are compared with our own
// 1 thread the same way (wall clock, and per CPU-second of the threads,
// which does not count time another process held a core). The load average
// is printed: on a machine whose cores are shared, 2-thread numbers mean
// little when it is above 1.
//
// usage: memory_get [--keys N] [--dist uniform|zipf] [--only ours|into|theirs --seconds S]
//                   [--params k=v&...]
// (--only runs one side alone, for perf record / callgrind; --params adds
// URI parameters to ours, to measure what a policy or the shards cost)
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "unicache.h"

namespace {

// --params: more URI parameters for ours (policy=lru, shards=1, ...).
std::string g_params;

constexpr size_t kKeyLen = 13;
constexpr size_t kValueLen = 100;
constexpr size_t kOpsPerThread = 400000;
constexpr int kRounds = 11;

// ------------------------------------------------------------ the baseline

uint64_t fnv1a(const void *data, size_t n)
{
    const unsigned char *p = static_cast<const unsigned char *>(data);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

struct Node {
    Node *next;
    uint64_t hash;
    uint32_t key_len, value_len;
    char data[]; // key, then value
};

class ChainedHash {
public:
    explicit ChainedHash(size_t n)
    {
        size_t b = 16;
        while (b < n)
            b *= 2;
        buckets_.assign(b, nullptr);
        mask_ = b - 1;
        pthread_mutex_init(&mu_, nullptr);
    }
    ~ChainedHash()
    {
        for (Node *n : buckets_)
            while (n) {
                Node *next = n->next;
                std::free(n);
                n = next;
            }
        pthread_mutex_destroy(&mu_);
    }
    void set(const void *k, size_t kn, const void *v, size_t vn)
    {
        uint64_t h = fnv1a(k, kn);
        Node *n = static_cast<Node *>(std::malloc(sizeof(Node) + kn + vn));
        n->hash = h;
        n->key_len = uint32_t(kn);
        n->value_len = uint32_t(vn);
        std::memcpy(n->data, k, kn);
        std::memcpy(n->data + kn, v, vn);
        pthread_mutex_lock(&mu_);
        n->next = buckets_[h & mask_];
        buckets_[h & mask_] = n;
        pthread_mutex_unlock(&mu_);
    }
    // A malloc'd copy of the value (the caller frees), NULL on a miss.
    char *get(const void *k, size_t kn, size_t *len)
    {
        uint64_t h = fnv1a(k, kn);
        char *out = nullptr;
        pthread_mutex_lock(&mu_);
        for (Node *n = buckets_[h & mask_]; n; n = n->next)
            if (n->hash == h && n->key_len == kn && std::memcmp(n->data, k, kn) == 0) {
                out = static_cast<char *>(std::malloc(n->value_len));
                std::memcpy(out, n->data + kn, n->value_len);
                *len = n->value_len;
                break;
            }
        pthread_mutex_unlock(&mu_);
        return out;
    }

private:
    std::vector<Node *> buckets_;
    size_t mask_;
    pthread_mutex_t mu_;
};

// Keeps the compiler from proving a buffer unused and deleting the
// malloc/memcpy/free of the baseline (GCC does, once get() is inlined).
inline void escape(void *p)
{
    asm volatile("" : : "g"(p) : "memory");
}

// ------------------------------------------------------------- workloads

struct Workload {
    size_t keys;
    bool zipf;
    std::vector<char> key_bytes;              // key i at i * kKeyLen
    std::vector<std::vector<uint32_t>> order; // per thread
    const char *key(uint32_t i) const { return key_bytes.data() + size_t(i) * kKeyLen; }
};

uint64_t next_random(uint64_t &x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

Workload make_workload(size_t n, bool zipf, size_t ops)
{
    Workload w;
    w.keys = n;
    w.zipf = zipf;
    w.key_bytes.resize(n * kKeyLen + 1);
    for (size_t i = 0; i < n; i++)
        std::snprintf(w.key_bytes.data() + i * kKeyLen, kKeyLen + 1, "key:%09zu", i);
    std::vector<double> cdf;
    std::vector<uint32_t> rank_to_key;
    if (zipf) {
        cdf.resize(n);
        double sum = 0;
        for (size_t r = 0; r < n; r++)
            cdf[r] = (sum += 1.0 / std::pow(double(r + 1), 0.99));
        for (double &c : cdf)
            c /= sum;
        rank_to_key.resize(n);
        for (size_t i = 0; i < n; i++)
            rank_to_key[i] = uint32_t(i);
        uint64_t x = 0x853c49e6748fea9bull;
        for (size_t i = n - 1; i > 0; i--)
            std::swap(rank_to_key[i], rank_to_key[next_random(x) % (i + 1)]);
    }
    for (uint64_t t = 0; t < 2; t++) {
        std::vector<uint32_t> o(ops);
        uint64_t x = (t + 1) * 0x9E3779B97F4A7C15ull;
        for (auto &k : o) {
            uint64_t r = next_random(x);
            if (!zipf) {
                k = uint32_t(r % n);
            } else {
                double u = double(r >> 11) * (1.0 / 9007199254740992.0);
                size_t rank = size_t(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
                k = rank_to_key[std::min(rank, n - 1)];
            }
        }
        w.order.push_back(std::move(o));
    }
    return w;
}

// ------------------------------------------------------------- measuring

double thread_cpu_seconds()
{
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Rate {
    double wall = 0; // operations per second of elapsed time
    double cpu = 0;  // operations per second of CPU time the threads got
};

// Runs body(thread_index) on n threads started together; each does ops gets.
template <typename Body> Rate run_threads(int n, size_t ops, Body body)
{
    std::vector<double> cpu(size_t(n), 0.0);
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < n; t++)
        threads.emplace_back([&, t] {
            ready++;
            while (!go.load())
                std::this_thread::yield();
            double c0 = thread_cpu_seconds();
            body(t);
            cpu[size_t(t)] = thread_cpu_seconds() - c0;
        });
    while (ready.load() < n)
        std::this_thread::yield();
    auto start = std::chrono::steady_clock::now();
    go = true;
    for (auto &th : threads)
        th.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu_secs = 0;
    for (double c : cpu)
        cpu_secs += c;
    Rate r;
    r.wall = double(ops) * n / secs;
    r.cpu = double(ops) * n / cpu_secs;
    return r;
}

enum class Side { ours, into, theirs };

Rate run_side(Side side, cache_t *c, ChainedHash &base, const Workload &w, int threads, size_t ops)
{
    return run_threads(threads, ops, [&](int t) {
        const std::vector<uint32_t> &order = w.order[size_t(t)];
        size_t total = 0;
        char dst[kValueLen];
        for (size_t i = 0; i < ops; i++) {
            const char *k = w.key(order[i % order.size()]);
            if (side == Side::theirs) {
                size_t len = 0;
                char *p = base.get(k, kKeyLen, &len);
                if (!p)
                    std::abort();
                escape(p);
                total += len;
                std::free(p);
            } else if (side == Side::ours) {
                cache_buf v = {nullptr, 0};
                if (cache_get(c, k, kKeyLen, &v) != CACHE_OK)
                    std::abort();
                total += v.size;
                cache_buf_free(&v);
            } else {
                size_t len = 0;
                if (cache_get_into(c, k, kKeyLen, dst, sizeof dst, &len) != CACHE_OK)
                    std::abort();
                escape(dst);
                total += len;
            }
        }
        if (total != ops * kValueLen)
            std::abort();
    });
}

double load_average()
{
    double l = -1;
    if (FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &l) != 1)
            l = -1;
        std::fclose(f);
    }
    return l;
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

struct Loaded {
    cache_t *cache = nullptr;
    ChainedHash base;
    explicit Loaded(const Workload &w) : base(w.keys)
    {
        std::string uri = "memory://?max_items=" + std::to_string(2 * w.keys) + g_params;
        if (cache_open(uri.c_str(), &cache) != CACHE_OK) {
            std::fprintf(stderr, "cache_open(%s): %s\n", uri.c_str(), cache_last_error());
            std::exit(1);
        }
        std::string value(kValueLen, 'v');
        for (size_t i = 0; i < w.keys; i++) {
            base.set(w.key(uint32_t(i)), kKeyLen, value.data(), value.size());
            if (cache_set(cache, w.key(uint32_t(i)), kKeyLen, value.data(), value.size(), 0) !=
                CACHE_OK) {
                std::fprintf(stderr, "cache_set: %s\n", cache_last_error());
                std::exit(1);
            }
        }
    }
    ~Loaded() { cache_close(cache); }
};

void run_cell(size_t keys, bool zipf)
{
    Workload w = make_workload(keys, zipf, kOpsPerThread);
    Loaded l(w);
    // Warm both sides once (first touches, malloc's arenas).
    run_side(Side::ours, l.cache, l.base, w, 1, kOpsPerThread / 4);
    run_side(Side::theirs, l.cache, l.base, w, 1, kOpsPerThread / 4);
    std::vector<double> ours, into, theirs, ratio, into_ratio, ours2, scale, scale_cpu;
    for (int r = 0; r < kRounds; r++) {
        Rate o = run_side(Side::ours, l.cache, l.base, w, 1, kOpsPerThread);
        Rate b = run_side(Side::theirs, l.cache, l.base, w, 1, kOpsPerThread);
        Rate i = run_side(Side::into, l.cache, l.base, w, 1, kOpsPerThread);
        Rate o2 = run_side(Side::ours, l.cache, l.base, w, 2, kOpsPerThread);
        ours.push_back(o.wall);
        theirs.push_back(b.wall);
        into.push_back(i.wall);
        ours2.push_back(o2.wall);
        ratio.push_back(o.wall / b.wall);
        into_ratio.push_back(i.wall / b.wall);
        scale.push_back(o2.wall / o.wall);
        scale_cpu.push_back(2 * o2.cpu / o.cpu);
    }
    std::printf(
        "| %zu | %s | %.2f | %.2f | **%.2fx** | %.2f | %.2fx | %.2f | **%.2fx** | %.2fx |\n", keys,
        zipf ? "zipf 0.99" : "uniform", median(theirs) / 1e6, median(ours) / 1e6, median(ratio),
        median(into) / 1e6, median(into_ratio), median(ours2) / 1e6, median(scale),
        median(scale_cpu));
    std::fflush(stdout);
}

void run_alone(size_t keys, bool zipf, Side side, double seconds)
{
    Workload w = make_workload(keys, zipf, kOpsPerThread);
    Loaded l(w);
    auto t0 = std::chrono::steady_clock::now();
    size_t done = 0;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
        run_side(side, l.cache, l.base, w, 1, kOpsPerThread);
        done += kOpsPerThread;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%.2f Mops/s\n", double(done) / secs / 1e6);
}

} // namespace

int main(int argc, char **argv)
{
    size_t only_keys = 0;
    int only_dist = -1; // -1 both, 0 uniform, 1 zipf
    const char *alone = nullptr;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--keys")
            only_keys = size_t(std::atol(argv[i + 1]));
        else if (a == "--dist")
            only_dist = std::strcmp(argv[i + 1], "zipf") == 0;
        else if (a == "--only")
            alone = argv[i + 1];
        else if (a == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else if (a == "--params")
            g_params = std::string("&") + argv[i + 1];
        else {
            std::fprintf(stderr,
                         "usage: %s [--keys N] [--dist uniform|zipf] "
                         "[--only ours|into|theirs --seconds S] [--params k=v&...]\n",
                         argv[0]);
            return 2;
        }
    }
    if (alone) {
        Side s = std::strcmp(alone, "theirs") == 0 ? Side::theirs
                 : std::strcmp(alone, "into") == 0 ? Side::into
                                                   : Side::ours;
        run_alone(only_keys ? only_keys : 100000, only_dist == 1, s, seconds);
        return 0;
    }

    double load_before = load_average();
    std::printf("memory:// get hits: %zu-byte keys, %zu-byte values, %zu gets per thread per "
                "round, %d paired rounds (ours, baseline, ...), medians of per-round ratios; "
                "%u hardware threads\n",
                kKeyLen, kValueLen, kOpsPerThread, kRounds, std::thread::hardware_concurrency());
    std::printf("ours: cache_get + cache_buf_free (and cache_get_into a stack buffer) on "
                "memory://?max_items=<2 x keys> (default policy)\n");
    std::printf("baseline: C chained hash keyed by (pointer, length), FNV-1a, buckets >= keys, "
                "node = next + hash + lengths + key + value in one malloc, one pthread mutex, "
                "malloc + memcpy copy-out + free\n\n");
    std::printf("| keys | access | baseline Mops/s | cache_get Mops/s | cache_get / baseline | "
                "cache_get_into Mops/s | get_into / baseline | 2 threads Mops/s | 2 threads / 1 "
                "thread | same, per CPU-second |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t keys : {size_t(1000), size_t(100000), size_t(1000000)}) {
        if (only_keys && keys != only_keys)
            continue;
        for (int zipf = 0; zipf < 2; zipf++)
            if (only_dist < 0 || only_dist == zipf)
                run_cell(keys, zipf != 0);
    }
    std::printf("\nload average %.2f before / %.2f after\n", load_before, load_average());
    return 0;
}
