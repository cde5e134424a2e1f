// unicache bench: load a cache from N threads with a mix of gets and sets
// over K keys (uniform or Zipf), then print ops/s, latency percentiles per
// operation and the hit ratio: what a user runs to size a deployment.
// Bounded by --ops and --time; latencies go into fixed log-linear
// histograms per thread, so memory does not grow with --ops.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "cli.h"

namespace unicache_cli {

namespace {

using Clock = std::chrono::steady_clock;

// Log-linear buckets: exact below 16 ns, then 16 per power of two (at most
// 1/16 = 6% apart).
constexpr int kBuckets = 64 * 16;

int bucket_of(uint64_t ns)
{
    if (ns < 16)
        return int(ns);
    int e = 63 - __builtin_clzll(ns);
    return (e - 3) * 16 + int((ns >> (e - 4)) & 15);
}

double bucket_value(int i)
{
    if (i < 16)
        return i;
    int e = i / 16 + 3;
    double lo = double(uint64_t(16 + i % 16) << (e - 4));
    return lo + double(uint64_t(1) << (e - 4)) / 2; // the middle of the bucket
}

struct Histogram {
    uint64_t counts[kBuckets] = {};
    uint64_t total = 0;

    void add(uint64_t ns)
    {
        counts[bucket_of(ns)]++;
        total++;
    }
    void merge(const Histogram &o)
    {
        for (int i = 0; i < kBuckets; i++)
            counts[i] += o.counts[i];
        total += o.total;
    }
    // Microseconds at quantile q.
    double quantile_us(double q) const
    {
        if (!total)
            return 0;
        uint64_t rank = uint64_t(std::ceil(q * double(total)));
        if (rank < 1)
            rank = 1;
        uint64_t seen = 0;
        for (int i = 0; i < kBuckets; i++) {
            seen += counts[i];
            if (seen >= rank)
                return bucket_value(i) / 1000.0;
        }
        return bucket_value(kBuckets - 1) / 1000.0;
    }
};

struct Options {
    std::string uri;
    int threads = 1;
    int64_t ops = 100000;
    int64_t value_size = 100;
    int64_t keys = 10000;
    double zipf = 0;
    double read_ratio = 0.9;
    double time_s = 60;
    int64_t ttl_ms = 600000;
};

struct Worker {
    Histogram get, set;
    uint64_t hits = 0, misses = 0, errors = 0;
    int first_error = 0;
    std::string first_error_text;
    std::atomic<int64_t> done{0};
};

// Key ranks drawn from Zipf(s) over n keys (s == 0: uniform), by binary
// search in the cumulative distribution.
class KeyChooser {
public:
    KeyChooser(int64_t n, double s) : n_(n)
    {
        if (s <= 0)
            return;
        cdf_.resize(size_t(n));
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            sum += 1.0 / std::pow(double(i + 1), s);
            cdf_[size_t(i)] = sum;
        }
        for (double &c : cdf_)
            c /= sum;
    }
    int64_t pick(std::mt19937_64 &rng) const
    {
        if (cdf_.empty())
            return int64_t(rng() % uint64_t(n_));
        double u = std::uniform_real_distribution<double>(0, 1)(rng);
        auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
        return std::min<int64_t>(int64_t(it - cdf_.begin()), n_ - 1);
    }

private:
    int64_t n_;
    std::vector<double> cdf_;
};

std::string key_name(int64_t i)
{
    return "unicache-bench:" + std::to_string(i);
}

void fail_op(Worker &w, int rc)
{
    if (!w.errors++) {
        w.first_error = rc;
        w.first_error_text = cache_last_error();
    }
}

void run_worker(cache_t *c, const Options &o, const KeyChooser &chooser, int64_t ops,
                Clock::time_point deadline, unsigned seed, const std::string &value, Worker &w)
{
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> coin(0, 1);
    std::vector<char> buf(size_t(o.value_size) + 1);
    char key[64];
    for (int64_t i = 0; i < ops; i++) {
        if ((i & 255) == 0 && Clock::now() >= deadline)
            break;
        int klen =
            std::snprintf(key, sizeof key, "unicache-bench:%lld", (long long)chooser.pick(rng));
        bool read = coin(rng) < o.read_ratio;
        auto t0 = Clock::now();
        int rc;
        if (read) {
            size_t size = 0;
            rc = cache_get_into(c, key, size_t(klen), buf.data(), buf.size(), &size);
        } else {
            rc = cache_set(c, key, size_t(klen), value.data(), value.size(), o.ttl_ms);
        }
        uint64_t ns = uint64_t(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
        if (read) {
            w.get.add(ns);
            if (rc == CACHE_OK || rc == CACHE_ETOOBIG)
                w.hits++;
            else if (rc == CACHE_MISS)
                w.misses++;
            else
                fail_op(w, rc);
        } else {
            w.set.add(ns);
            if (rc != CACHE_OK)
                fail_op(w, rc);
        }
        w.done.store(i + 1, std::memory_order_relaxed);
    }
}

void prefill(cache_t *c, const Options &o, const std::string &value)
{
    const int64_t batch = 256;
    std::vector<std::string> names;
    std::vector<cache_slice> keys, values;
    for (int64_t start = 0; start < o.keys; start += batch) {
        names.clear();
        keys.clear();
        values.clear();
        for (int64_t i = start; i < std::min(o.keys, start + batch); i++)
            names.push_back(key_name(i));
        for (const std::string &n : names) {
            keys.push_back({n.data(), n.size()});
            values.push_back({value.data(), value.size()});
        }
        check(cache_set_many(c, keys.data(), values.data(), keys.size(), o.ttl_ms),
              "bench: filling the keys");
    }
}

// "\r[#####     ]  45%  45000/100000 ops  123456 ops/s" on stderr, which is
// a terminal (checked by the caller).
void draw_progress(int64_t done, int64_t total, double seconds)
{
    const int width = 30;
    double frac = total ? double(done) / double(total) : 1;
    int full = int(frac * width);
    char bar[width + 1];
    for (int i = 0; i < width; i++)
        bar[i] = i < full ? '#' : ' ';
    bar[width] = 0;
    std::fprintf(stderr, "\r[%s] %3d%%  %lld/%lld ops  %.0f ops/s", bar, int(frac * 100),
                 (long long)done, (long long)total, seconds > 0 ? double(done) / seconds : 0.0);
    std::fflush(stderr);
}

void print_row(const char *op, const Histogram &h, double seconds)
{
    std::printf("%-5s %10llu %12.0f %10.1f %10.1f %10.1f\n", op, (unsigned long long)h.total,
                seconds > 0 ? double(h.total) / seconds : 0.0, h.quantile_us(0.5),
                h.quantile_us(0.99), h.quantile_us(0.999));
}

} // namespace

int run_bench(int argc, char **argv, int first)
{
    Args a = parse_args(argc, argv, first,
                        {"--url", "--threads", "--ops", "--value-size", "--keys", "--zipf",
                         "--read-ratio", "--time", "--ttl"},
                        {});
    if (a.positional.size() > 1)
        throw UsageError{"usage: unicache bench [URI] [--threads N] [--ops N] [--value-size B] "
                         "[--keys K] [--zipf S] [--read-ratio R] [--time SECONDS] [--ttl T]"};
    Options o;
    o.uri = a.positional.empty() ? cache_uri(a) : a.positional[0];
    o.threads = int(a.get_int("--threads", 1, 1, 256));
    o.ops = a.get_int("--ops", 100000, 1, int64_t(1) << 40);
    o.value_size = a.get_int("--value-size", 100, 0, int64_t(64) << 20);
    o.keys = a.get_int("--keys", 10000, 1, 10000000);
    o.zipf = a.get_double("--zipf", 0, 0, 10);
    o.read_ratio = a.get_double("--read-ratio", 0.9, 0, 1);
    o.time_s = a.get_double("--time", 60, 0.001, 86400);
    if (a.has("--ttl"))
        o.ttl_ms = parse_duration_ms(a.get("--ttl", ""), "--ttl");

    cache_t *raw = open_cache(o.uri);
    std::unique_ptr<cache_t, void (*)(cache_t *)> c(raw, cache_close);
    std::string value(size_t(o.value_size), 'v');
    std::mt19937_64 fill(42);
    for (char &ch : value)
        ch = char('a' + fill() % 26);
    KeyChooser chooser(o.keys, o.zipf);
    prefill(c.get(), o, value);

    std::vector<std::unique_ptr<Worker>> workers;
    for (int t = 0; t < o.threads; t++)
        workers.push_back(std::make_unique<Worker>());
    auto start = Clock::now();
    auto deadline = start + std::chrono::microseconds(int64_t(o.time_s * 1e6));
    std::vector<std::thread> threads;
    for (int t = 0; t < o.threads; t++) {
        int64_t share = o.ops / o.threads + (t < o.ops % o.threads ? 1 : 0);
        threads.emplace_back(run_worker, c.get(), std::cref(o), std::cref(chooser), share, deadline,
                             unsigned(1000 + t), std::cref(value), std::ref(*workers[size_t(t)]));
    }
    std::atomic<bool> finished{false};
    std::thread progress;
    if (isatty(STDERR_FILENO)) {
        progress = std::thread([&] {
            while (!finished.load()) {
                int64_t done = 0;
                for (auto &w : workers)
                    done += w->done.load(std::memory_order_relaxed);
                draw_progress(done, o.ops,
                              std::chrono::duration<double>(Clock::now() - start).count());
                for (int i = 0; i < 10 && !finished.load(); i++)
                    std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        });
    }
    for (auto &t : threads)
        t.join();
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    finished = true;
    if (progress.joinable()) {
        progress.join();
        std::fprintf(stderr, "\r\033[K");
    }

    Worker all;
    for (auto &w : workers) {
        all.get.merge(w->get);
        all.set.merge(w->set);
        all.hits += w->hits;
        all.misses += w->misses;
        if (w->errors && !all.errors) {
            all.first_error = w->first_error;
            all.first_error_text = w->first_error_text;
        }
        all.errors += w->errors;
    }
    Histogram total = all.get;
    total.merge(all.set);

    // The URI as the statistics show it: never a password.
    std::string shown = o.uri;
    for (auto &row : flatten_json(stats_json(c.get())))
        if (row.first == "uri")
            shown = row.second;
    std::printf("%s  threads %d  value %lld B  keys %lld  zipf %g  read ratio %g\n", shown.c_str(),
                o.threads, (long long)o.value_size, (long long)o.keys, o.zipf, o.read_ratio);
    std::printf("%-5s %10s %12s %10s %10s %10s\n", "op", "count", "ops/s", "p50 us", "p99 us",
                "p99.9 us");
    if (all.get.total)
        print_row("get", all.get, seconds);
    if (all.set.total)
        print_row("set", all.set, seconds);
    print_row("all", total, seconds);
    uint64_t reads = all.hits + all.misses;
    std::printf("hit ratio %.4f (%llu hits, %llu misses)  %.2f s",
                reads ? double(all.hits) / double(reads) : 0.0, (unsigned long long)all.hits,
                (unsigned long long)all.misses, seconds);
    if (int64_t(total.total) < o.ops)
        std::printf("  stopped by --time after %llu of %lld ops", (unsigned long long)total.total,
                    (long long)o.ops);
    std::printf("\n");
    if (all.errors) {
        std::printf("errors %llu\n", (unsigned long long)all.errors);
        std::fflush(stdout);
        throw CacheFailure{all.first_error, "bench: the first failed operation",
                           all.first_error_text};
    }
    return kExitOk;
}

} // namespace unicache_cli
