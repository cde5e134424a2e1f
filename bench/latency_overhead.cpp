// What the latency histograms cost on the cheapest operation there is: a
// memory:// get hit through the shared library's C API (cache_get +
// cache_buf_free), with histograms on (the default) and off
// (latency=off), in the same process.
//
// Two caches hold the same N keys (13-byte keys, 100-byte values, every
// get hits). Each round gets the same uniformly random key sequence from
// both, in alternating order (on, off, then off, on), and the cell reports
// the median of the per-round ratios (on / off throughput), so a burst of
// load from another process lands on both sides. A new pair of caches is
// made every 3 rounds, in alternating order (see cell()). The load average is
// printed: the machine's cores may be shared.
//
// usage: [ON_PARAMS='&latency_sample=1'] latency_overhead [--rounds R] [--ops N]
// (ON_PARAMS: more URI parameters for the "on" cache, to see what a part costs)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "unicache.h"

namespace {

constexpr size_t kKeyLen = 13;
constexpr size_t kValueLen = 100;

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

cache_t *opened(size_t keys, const char *extra)
{
    std::string uri = "memory://?max_items=" + std::to_string(2 * keys) + extra;
    cache_t *c = nullptr;
    if (cache_open(uri.c_str(), &c) != CACHE_OK) {
        std::fprintf(stderr, "cache_open(%s): %s\n", uri.c_str(), cache_last_error());
        std::exit(1);
    }
    return c;
}

void load(cache_t *c, size_t keys, const std::vector<char> &names)
{
    std::string value(kValueLen, 'v');
    for (size_t i = 0; i < keys; i++)
        if (cache_set(c, &names[i * kKeyLen], kKeyLen, value.data(), value.size(), 0) != CACHE_OK) {
            std::fprintf(stderr, "cache_set: %s\n", cache_last_error());
            std::exit(1);
        }
}

// Gets per second over the sequence.
double run(cache_t *c, const std::vector<char> &names, const std::vector<uint32_t> &seq)
{
    auto t0 = std::chrono::steady_clock::now();
    size_t total = 0;
    for (uint32_t k : seq) {
        cache_buf b = {nullptr, 0};
        if (cache_get(c, &names[size_t(k) * kKeyLen], kKeyLen, &b) != CACHE_OK)
            std::abort();
        total += b.size;
        cache_buf_free(&b);
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (total != seq.size() * kValueLen)
        std::abort();
    return double(seq.size()) / s;
}

void cell(size_t keys, int rounds, size_t ops)
{
    std::vector<char> names(keys * kKeyLen + 1);
    for (size_t i = 0; i < keys; i++)
        std::snprintf(&names[i * kKeyLen], kKeyLen + 1, "key:%09zu", i);
    std::mt19937 rng(42);
    std::vector<uint32_t> seq(ops);
    for (auto &k : seq)
        k = uint32_t(rng() % keys);
    // A fresh pair of caches every kRoundsPerPair rounds, created and
    // loaded in alternating order: with 100k keys, the instance whose
    // entries sit where in the heap (and on which kind of pages) made one
    // of two identical latency=off caches 2-13% faster than the other for
    // the life of the process, in either order. Many pairs, each order
    // half the time, average that out.
    constexpr int kRoundsPerPair = 3;
    const char *on_params = getenv("ON_PARAMS") ? getenv("ON_PARAMS") : "";
    std::vector<double> ratio, ron, roff;
    for (int r0 = 0; r0 < rounds; r0 += kRoundsPerPair) {
        bool on_first = (r0 / kRoundsPerPair) % 2 == 0;
        cache_t *first = opened(keys, on_first ? on_params : "&latency=off");
        load(first, keys, names);
        cache_t *second = opened(keys, on_first ? "&latency=off" : on_params);
        load(second, keys, names);
        cache_t *on = on_first ? first : second, *off = on_first ? second : first;
        run(on, names, seq); // warm both
        run(off, names, seq);
        for (int r = r0; r < rounds && r < r0 + kRoundsPerPair; r++) {
            double a, b;
            if (r % 2 == 0) {
                a = run(on, names, seq);
                b = run(off, names, seq);
            } else {
                b = run(off, names, seq);
                a = run(on, names, seq);
            }
            ron.push_back(a);
            roff.push_back(b);
            ratio.push_back(a / b);
        }
        cache_close(on);
        cache_close(off);
    }
    double m = median(ratio);
    std::printf("| %zu | %.2f | %.2f | %.4f | %+.1f%% |\n", keys, median(roff) / 1e6,
                median(ron) / 1e6, m, (1 / m - 1) * 100);
    std::fflush(stdout);
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = 42;
    size_t ops = 400000;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--ops") && i + 1 < argc)
            ops = size_t(std::atoll(argv[++i]));
        else {
            std::fprintf(stderr, "usage: %s [--rounds R] [--ops N]\n", argv[0]);
            return 2;
        }
    }
    double before = load_average();
    std::printf("memory:// get hits through libunicache.so (cache_get + cache_buf_free), "
                "latency histograms on (default) vs latency=off; %d paired rounds of %zu gets, "
                "median of per-round ratios\n\n",
                rounds, ops);
    std::printf(
        "| keys | off Mops/s | on Mops/s | on / off | time per get |\n|---|---|---|---|---|\n");
    cell(1000, rounds, ops);
    cell(100000, rounds, ops);
    std::printf("\nload average %.2f before / %.2f after\n", before, load_average());
}
