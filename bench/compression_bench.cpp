// compress=zstd|lz4 against compress=none, on every backend, for a
// compressible 10 KB JSON value and an incompressible 10 KB one: the bytes
// the server holds for the value (read from the backend itself), and
// set and get throughput through the C API, one thread. Paired interleaved
// rounds (none, zstd, lz4, none, ...); each codec's ratio to none is the
// median of its per-round ratios. Baseline: the same backend with
// compress=none (the library as it was before compression).
//
//   build/bench/compression_bench [rounds] [ops-per-round]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "compose/open_cache.h"
#include "core/config.h"
#include "support/server_process.h"

using namespace unicache_bench;
using unicache_test::ServerProcess;

namespace {

std::string json_value()
{
    std::string s = "[";
    for (int i = 0; s.size() < 10240; i++)
        s += "{\"id\":" + std::to_string(i) + ",\"name\":\"user " + std::to_string(i) +
             "\",\"email\":\"user" + std::to_string(i) +
             "@example.com\",\"active\":" + (i % 3 ? "true" : "false") +
             ",\"score\":" + std::to_string((i * 7919) % 1000) + "},";
    s.back() = ']';
    return s.substr(0, 10240);
}

std::string random_value()
{
    std::mt19937 rng(1);
    std::string s(10240, '\0');
    for (char &c : s)
        c = char('a' + rng() % 200); // not text, not a frame
    return s;
}

struct Rates {
    double set = 0, get = 0;
};

Rates measure(cache_t *c, const std::string &value, int ops)
{
    std::vector<std::string> keys;
    for (int i = 0; i < 100; i++)
        keys.push_back("cb:" + std::to_string(i));
    Rates r;
    auto t0 = Clock::now();
    for (int i = 0; i < ops; i++) {
        const std::string &k = keys[size_t(i) % keys.size()];
        check(cache_set(c, k.data(), k.size(), value.data(), value.size(), 600000), "cache_set");
    }
    r.set = ops / seconds_since(t0);
    std::string dst(value.size(), '\0');
    t0 = Clock::now();
    for (int i = 0; i < ops; i++) {
        const std::string &k = keys[size_t(i) % keys.size()];
        cache_buf b = {nullptr, 0};
        check(cache_get(c, k.data(), k.size(), &b), "cache_get");
        cache_buf_free(&b);
    }
    r.get = ops / seconds_since(t0);
    return r;
}

// The bytes the backend holds for key (read from the backend, under the
// core's frames).
size_t stored_size(const std::string &uri, const std::string &key)
{
    unicache::Config cfg = unicache::Config::parse(uri);
    std::unique_ptr<unicache::Backend> raw = unicache::open_backend(cfg);
    unicache::OwnedBuffer b;
    if (!raw->get(key, &b)) {
        std::fprintf(stderr, "%s: %s is absent\n", uri.c_str(), key.c_str());
        std::exit(1);
    }
    return b.size();
}

std::string with(const std::string &uri, const std::string &q)
{
    return uri + (uri.find('?') == std::string::npos ? "?" : "&") + q;
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
    int ops = argc > 2 ? std::atoi(argv[2]) : 2000;
    ServerProcess redis = ServerProcess::redis();
    ServerProcess memcached = ServerProcess::memcached({"-m", "256"});
    redis.start();
    memcached.start();
    char dir[] = "/tmp/unicache-compression-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    struct Backend {
        const char *name;
        std::string uri;
    } backends[] = {
        {"memory", "memory://?name=compression_bench"},
        {"sqlite", std::string("sqlite://") + dir + "/bench.db"},
        {"redis", "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0"},
        {"memcached", "memcached://127.0.0.1:" + std::to_string(memcached.port())},
    };
    const char *codecs[] = {"none", "zstd", "lz4"};
    struct Value {
        const char *name;
        std::string bytes;
    } values[] = {{"json 10 KB", json_value()}, {"random 10 KB", random_value()}};

    double load[3] = {0, 0, 0};
    if (FILE *f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = -1;
        std::fclose(f);
    }
    std::printf("compression_bench: %d paired rounds of %d sets + %d gets, one thread; "
                "loadavg %.2f %.2f %.2f\n",
                rounds, ops, ops, load[0], load[1], load[2]);
    std::printf("baseline: the same backend with compress=none; ratio = median of per-round "
                "ratios to it\n\n");
    std::printf("%-10s %-13s %-5s %9s %11s %11s %9s %9s\n", "backend", "value", "codec", "stored B",
                "set ops/s", "get ops/s", "set/none", "get/none");
    for (const Backend &b : backends) {
        for (const Value &v : values) {
            std::vector<cache_t *> handles;
            for (const char *codec : codecs) {
                cache_t *c = nullptr;
                check(cache_open(with(b.uri, std::string("compress=") + codec).c_str(), &c),
                      "cache_open");
                handles.push_back(c);
            }
            std::vector<std::vector<Rates>> rates(3);
            measure(handles[0], v.bytes, ops / 4 + 1); // warm up connections and pages
            for (int r = 0; r < rounds; r++)
                for (int i = 0; i < 3; i++) {
                    // Alternate the order: none first on even rounds, last on odd.
                    int ci = r % 2 ? 2 - i : i;
                    rates[size_t(ci)].push_back(measure(handles[size_t(ci)], v.bytes, ops));
                }
            for (int ci = 0; ci < 3; ci++) {
                check(cache_set(handles[size_t(ci)], "cb:size", 7, v.bytes.data(), v.bytes.size(),
                                600000),
                      "cache_set");
                size_t stored = stored_size(b.uri, "cb:size");
                std::vector<double> set_ratio, get_ratio, set_rate, get_rate;
                for (int r = 0; r < rounds; r++) {
                    set_rate.push_back(rates[size_t(ci)][size_t(r)].set);
                    get_rate.push_back(rates[size_t(ci)][size_t(r)].get);
                    set_ratio.push_back(rates[size_t(ci)][size_t(r)].set / rates[0][size_t(r)].set);
                    get_ratio.push_back(rates[size_t(ci)][size_t(r)].get / rates[0][size_t(r)].get);
                }
                std::printf("%-10s %-13s %-5s %9zu %11.0f %11.0f %8.2fx %8.2fx\n", b.name, v.name,
                            codecs[ci], stored, median(set_rate), median(get_rate),
                            median(set_ratio), median(get_ratio));
            }
            for (cache_t *c : handles)
                cache_close(c);
        }
    }
    std::string rm = std::string("rm -rf ") + dir;
    if (std::system(rm.c_str()) != 0)
        return 1;
    return 0;
}
