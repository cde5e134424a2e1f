// Hit-ratio replay of the shared real traces through the memory backend.
//
// For each trace (gzip'd text, one key per line) and each of the three
// capacities of the traces' README, every eviction policy replays the whole
// trace through the C API exactly as an application would use a cache:
// cache_get, and on a miss cache_set, on "memory://?max_items=<capacity>&
// policy=<name>". The table shows each policy's miss ratio beside the
// README's reference columns (LRU, S3-FIFO, static W-TinyLFU and Belady's
// OPT), the default's gap to OPT, and the mean gap to OPT per policy. Each
// cell is the mean of kRuns replays: every cache seeds its key hash at
// random, so the split of keys over shards (and TinyLFU's admission jitter)
// differ a little from run to run.
//
// usage: trace_replay [traces-dir] [policy...]
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "unicache.h"

#ifndef UNICACHE_TRACES_DIR
#define UNICACHE_TRACES_DIR "../shared/traces"
#endif

namespace {

// The traces' README: capacity and the reference miss ratios.
struct Cell {
    const char *trace;
    long capacity;
    double lru, s3fifo, wtinylfu, opt;
};

const Cell kCells[] = {
    {"cloudphysics", 489, 0.838, 0.830, 0.834, 0.793},
    {"cloudphysics", 2448, 0.825, 0.803, 0.813, 0.703},
    {"cloudphysics", 9794, 0.725, 0.694, 0.729, 0.545},
    {"multi2", 56, 0.965, 0.902, 0.789, 0.723},
    {"multi2", 284, 0.731, 0.648, 0.595, 0.513},
    {"multi2", 1136, 0.520, 0.502, 0.417, 0.358},
    {"sprite", 70, 0.837, 0.783, 0.766, 0.578},
    {"sprite", 353, 0.344, 0.329, 0.345, 0.177},
    {"sprite", 1415, 0.078, 0.083, 0.111, 0.059},
    {"web12", 137, 0.603, 0.591, 0.648, 0.415},
    {"web12", 687, 0.400, 0.351, 0.378, 0.253},
    {"web12", 2751, 0.243, 0.220, 0.234, 0.160},
};
constexpr size_t kNumCells = sizeof kCells / sizeof kCells[0];
constexpr int kRuns = 3;

bool load_trace(const std::string &path, std::vector<std::string> *keys)
{
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f)
        return false;
    char line[4096];
    while (gzgets(f, line, sizeof line)) {
        std::string k(line);
        while (!k.empty() && (k.back() == '\n' || k.back() == '\r'))
            k.pop_back();
        if (!k.empty())
            keys->push_back(std::move(k));
    }
    int err = 0;
    gzerror(f, &err);
    gzclose(f);
    return err == Z_OK && !keys->empty();
}

// Returns the miss ratio, or a negative value after printing why it failed.
double replay(const std::vector<std::string> &keys, long capacity, const std::string &policy)
{
    std::string uri = "memory://?max_items=" + std::to_string(capacity) + "&policy=" + policy;
    cache_t *c = nullptr;
    if (cache_open(uri.c_str(), &c) != CACHE_OK) {
        std::fprintf(stderr, "cache_open(%s): %s\n", uri.c_str(), cache_last_error());
        return -1;
    }
    size_t misses = 0;
    for (const std::string &k : keys) {
        cache_buf v = {nullptr, 0};
        int rc = cache_get(c, k.data(), k.size(), &v);
        if (rc == CACHE_OK) {
            cache_buf_free(&v);
            continue;
        }
        if (rc != CACHE_MISS || cache_set(c, k.data(), k.size(), "v", 1, 0) != CACHE_OK) {
            std::fprintf(stderr, "replay on %s: %s\n", uri.c_str(), cache_last_error());
            cache_close(c);
            return -1;
        }
        misses++;
    }
    cache_close(c);
    return double(misses) / double(keys.size());
}

} // namespace

int main(int argc, char **argv)
{
    std::string dir = argc > 1 ? argv[1] : UNICACHE_TRACES_DIR;
    std::vector<std::string> policies;
    for (int i = 2; i < argc; i++)
        policies.emplace_back(argv[i]);
    if (policies.empty())
        policies = {"tinylfu", "lru", "lfu", "fifo"};

    std::printf("miss ratios, replayed through memory://?max_items=<capacity>&policy=<name> "
                "(cache_get, then cache_set on a miss), mean of %d runs\n",
                kRuns);
    std::printf("reference columns (ref-*) are the README's of %s\n\n", dir.c_str());
    std::printf("| trace | capacity |");
    for (auto &p : policies)
        std::printf(" %s |", p.c_str());
    std::printf(" ref-lru | ref-s3fifo | ref-wtinylfu | ref-opt | %s gap to opt | %s - ref-lru |\n",
                policies[0].c_str(), policies[0].c_str());
    std::printf("|---|---|");
    for (size_t i = 0; i < policies.size() + 6; i++)
        std::printf("---|");
    std::printf("\n");

    std::vector<double> gap_sum(policies.size() + 3, 0.0);
    double worst_vs_lru = -1;
    std::string trace_name;
    std::vector<std::string> keys;
    for (const Cell &cell : kCells) {
        if (trace_name != cell.trace) {
            trace_name = cell.trace;
            keys.clear();
            std::string path = dir + "/" + trace_name + ".txt.gz";
            if (!load_trace(path, &keys)) {
                std::fprintf(stderr, "cannot read trace %s\n", path.c_str());
                return 1;
            }
        }
        std::printf("| %s | %ld |", cell.trace, cell.capacity);
        double first = 0;
        for (size_t i = 0; i < policies.size(); i++) {
            double m = 0;
            for (int run = 0; run < kRuns; run++) {
                double r = replay(keys, cell.capacity, policies[i]);
                if (r < 0)
                    return 1;
                m += r / kRuns;
            }
            if (i == 0)
                first = m;
            gap_sum[i] += m - cell.opt;
            std::printf(" %.3f |", m);
        }
        gap_sum[policies.size()] += cell.lru - cell.opt;
        gap_sum[policies.size() + 1] += cell.s3fifo - cell.opt;
        gap_sum[policies.size() + 2] += cell.wtinylfu - cell.opt;
        worst_vs_lru = std::fmax(worst_vs_lru, first - cell.lru);
        std::printf(" %.3f | %.3f | %.3f | %.3f | %.3f | %+.3f |\n", cell.lru, cell.s3fifo,
                    cell.wtinylfu, cell.opt, first - cell.opt, first - cell.lru);
        std::fflush(stdout);
    }
    std::printf("| **mean gap to opt** | |");
    for (double g : gap_sum)
        std::printf(" %.3f |", g / kNumCells);
    std::printf(" 0 | | |\n\n");
    std::printf("%s: mean gap to opt %.4f (goal <= 0.10); worst cell vs ref-lru %+.3f (goal <= "
                "+0.02)\n",
                policies[0].c_str(), gap_sum[0] / kNumCells, worst_vs_lru);
    return 0;
}
