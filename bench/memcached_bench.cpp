// Memcached backend throughput beside bare libmemcached against the same
// memcached in the same run (the anchor):
//
//   set / get, one connection, one request in flight:
//       memcached_set / memcached_get on one memcached_st   vs  cache_set / cache_get
//   batch get, keys per second:
//       memcached_mget of 100 keys + memcached_fetch loop  vs  cache_get_many of 100
//
// The bare client gets the same transport settings unicache uses (non-blocking
// sockets, TCP_NODELAY) and the same protocol. Values are 100 bytes, every get
// is a hit. Measurements are short (tens of ms) and repeated `rounds` times,
// each anchor right beside its unicache twin (the order flips every round),
// so that load from other processes hurts both alike. The table gives the
// best round of each side and, more robust on a busy machine, the median of
// the per-round ratios.
//
// The single-key get is shown three ways beside the same anchor: the
// default (unicache's own text-protocol socket, spinning briefly for the
// reply, text_get_socket.h), the same socket without spinning (spin_us=0),
// and through libmemcached's memcached_get (fast_get=false, the old path).
// Run them together with the row filter "get, text".
//
// Extra rows show what the consistency options cost: generation_cache_ms=0
// reads the prefix generation before every call (a second round trip), and a
// tagged entry needs one more round trip to check its tag versions.
//
// Usage: memcached_bench [requests per measurement, default 3000] [rounds, default 40]
//                        [row: only the rows whose name contains this text]
//
// To count instructions per key of one side, run a single row under callgrind
// and collect only that side's function (bare_mget, uc_get_many or
// backend_get_many), e.g.
//   valgrind --tool=callgrind --toggle-collect='*bare_mget*' \
//       ./bench/memcached_bench 3000 1 "batch get of 100, text"
// and divide the total by the keys it read (3000 x 10 here).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <libmemcached/memcached.h>

#include "backends/factories.h"
#include "bench_support.h"
#include "core/config.h"
#include "support/server_process.h"
#include "unicache.h"

namespace {

using unicache_bench::check;
using unicache_bench::Clock;
using unicache_bench::seconds_since;

constexpr size_t kValueSize = 100;
constexpr size_t kKeys = 1000;
constexpr size_t kBatch = 100;

void check_mc(memcached_st *mc, memcached_return_t rc, const char *what)
{
    if (rc != MEMCACHED_SUCCESS) {
        std::fprintf(stderr, "%s failed: %s\n", what, memcached_last_error_message(mc));
        std::exit(1);
    }
}

// kKeys keys "<head><6 digits>" (16 bytes with a 10-byte head).
std::vector<std::string> make_keys(const char *head)
{
    std::vector<std::string> keys;
    char buf[64];
    for (size_t i = 0; i < kKeys; i++) {
        std::snprintf(buf, sizeof buf, "%.50s%06zu", head, i);
        keys.emplace_back(buf);
    }
    return keys;
}

cache_t *open_cache(const std::string &uri)
{
    cache_t *c = nullptr;
    check(cache_open(uri.c_str(), &c), "cache_open");
    return c;
}

memcached_st *bare_client(int port, bool binary)
{
    memcached_st *mc = memcached_create(nullptr);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, binary);
    memcached_server_add(mc, "127.0.0.1", in_port_t(port));
    return mc;
}

// ---------------------------------------------------------- unicache side

double uc_set(cache_t *c, const std::vector<std::string> &keys, const std::string &v, size_t n)
{
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; i++) {
        const std::string &k = keys[i % kKeys];
        check(cache_set(c, k.data(), k.size(), v.data(), v.size(), CACHE_TTL_NONE), "cache_set");
    }
    return double(n) / seconds_since(t0);
}

double uc_get(cache_t *c, const std::vector<std::string> &keys, size_t n, size_t offset = 0)
{
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; i++) {
        const std::string &k = keys[(i + offset) % kKeys];
        cache_buf b = {nullptr, 0};
        check(cache_get(c, k.data(), k.size(), &b), "cache_get");
        cache_buf_free(&b);
    }
    return double(n) / seconds_since(t0);
}

double uc_get_many(cache_t *c, const std::vector<std::string> &keys, size_t n)
{
    return unicache_bench::get_many_rate(c, keys, n, kBatch);
}

// The backend interface alone, without the core and C API layers above it
// (argument checks, prefixing, statistics, cache_buf hand-over): shows how
// much of the batch cost is the backend's.
double backend_get_many(unicache::Backend &b, const std::vector<std::string> &keys, size_t n)
{
    std::vector<unicache::Bytes> views(keys.begin(), keys.end());
    unicache::OwnedBuffer values[kBatch];
    int statuses[kBatch];
    size_t batches = n / kBatch;
    auto t0 = Clock::now();
    for (size_t i = 0; i < batches; i++) {
        b.get_many(views.data() + (i * kBatch) % (kKeys - kBatch + 1), kBatch, values, statuses);
        for (size_t j = 0; j < kBatch; j++) {
            check(statuses[j], "Backend::get_many (a miss)");
            values[j] = unicache::OwnedBuffer();
        }
    }
    return double(batches * kBatch) / seconds_since(t0);
}

// ------------------------------------------------------ bare libmemcached

double bare_set(memcached_st *mc, const std::vector<std::string> &keys, const std::string &v,
                size_t n)
{
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; i++) {
        const std::string &k = keys[i % kKeys];
        check_mc(mc, memcached_set(mc, k.data(), k.size(), v.data(), v.size(), 0, 0),
                 "memcached_set");
    }
    return double(n) / seconds_since(t0);
}

double bare_get(memcached_st *mc, const std::vector<std::string> &keys, size_t n, size_t offset = 0)
{
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; i++) {
        const std::string &k = keys[(i + offset) % kKeys];
        size_t len;
        uint32_t flags;
        memcached_return_t rc;
        char *v = memcached_get(mc, k.data(), k.size(), &len, &flags, &rc);
        if (!v)
            check_mc(mc, rc == MEMCACHED_SUCCESS ? MEMCACHED_NOTFOUND : rc, "memcached_get");
        std::free(v);
    }
    return double(n) / seconds_since(t0);
}

double bare_mget(memcached_st *mc, const std::vector<std::string> &keys, size_t n)
{
    std::vector<const char *> ptrs;
    std::vector<size_t> lens;
    for (const auto &k : keys) {
        ptrs.push_back(k.data());
        lens.push_back(k.size());
    }
    size_t batches = n / kBatch;
    char key[MEMCACHED_MAX_KEY];
    auto t0 = Clock::now();
    for (size_t i = 0; i < batches; i++) {
        size_t first = (i * kBatch) % (kKeys - kBatch + 1);
        check_mc(mc, memcached_mget(mc, ptrs.data() + first, lens.data() + first, kBatch),
                 "memcached_mget");
        size_t got = 0, key_len, len;
        uint32_t flags;
        memcached_return_t rc;
        char *v;
        while ((v = memcached_fetch(mc, key, &key_len, &len, &flags, &rc))) {
            got++;
            std::free(v);
        }
        if (got != kBatch) {
            std::fprintf(stderr, "memcached_fetch: %zu of %zu keys\n", got, kBatch);
            std::exit(1);
        }
    }
    return double(batches * kBatch) / seconds_since(t0);
}

// ----------------------------------------------------------------- table

struct Pair {
    const char *what;
    std::function<double()> anchor, ours;
    const char *target;
    double best_anchor = 0, best_ours = 0;
    std::vector<double> ratios; // ours / anchor, one per round

    double median_ratio()
    {
        std::sort(ratios.begin(), ratios.end());
        size_t m = ratios.size() / 2;
        return ratios.size() % 2 ? ratios[m] : (ratios[m - 1] + ratios[m]) / 2;
    }
};

void print_row(Pair &p)
{
    std::printf("| %-50s | %12.0f | %12.0f | %5.2fx | %6.2fx | %-7s |\n", p.what, p.best_anchor,
                p.best_ours, p.best_ours / p.best_anchor, p.median_ratio(), p.target);
}

} // namespace

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 3000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 40;
    const char *only = argc > 3 ? argv[3] : nullptr;
    if (n < kBatch || rounds < 1) {
        std::fprintf(stderr,
                     "usage: memcached_bench [requests >= 100] [rounds >= 1] [row name part]\n");
        return 2;
    }
    unicache_test::ServerProcess server = unicache_test::ServerProcess::memcached();
    server.start();
    int port = server.port();
    std::string uri = "memcached://127.0.0.1:" + std::to_string(port) + "?pool_size=1";

    cache_t *text = open_cache(uri);
    cache_t *binary = open_cache(uri + "&binary=true");
    cache_t *strict = open_cache(uri + "&generation_cache_ms=0");
    cache_t *tagged = open_cache(uri + "&prefix=tagged:");
    cache_t *prefixed = open_cache(uri + "&prefix=app:");
    cache_t *no_spin = open_cache(uri + "&spin_us=0");
    cache_t *old_get = open_cache(uri + "&fast_get=false");
    unicache::Config config = unicache::Config::parse(uri);
    std::unique_ptr<unicache::Backend> backend = unicache::make_memcached_backend(config);
    memcached_st *bare = bare_client(port, false);
    memcached_st *bare_bin = bare_client(port, true);

    // unicache names a short, safe key's entry by the key itself, so the bare
    // client gets keys of its own, of the same length.
    std::vector<std::string> keys = make_keys("bench:key:");
    std::vector<std::string> raw = make_keys("bench:raw:");
    // What the prefixed cache sends: "app:" + key; the anchor sends as much.
    std::vector<std::string> raw_prefixed = make_keys("app:bench:raw:");
    std::string value(kValueSize, 'v');
    // Every get below is a hit.
    uc_set(text, keys, value, kKeys);
    uc_set(binary, keys, value, kKeys);
    bare_set(bare, raw, value, kKeys);
    bare_set(bare, raw_prefixed, value, kKeys);
    uc_set(prefixed, keys, value, kKeys);
    cache_slice tag = {"bench-tag", 9};
    for (const auto &k : keys)
        check(cache_set_tagged(tagged, k.data(), k.size(), value.data(), value.size(), 0, &tag, 1),
              "cache_set_tagged");

    std::vector<Pair> pairs = {
        {"get, text protocol", [&] { return bare_get(bare, raw, n); },
         [&] { return uc_get(text, keys, n); }, ">= 1.0"},
        {"get, text, fast path without spinning (spin_us=0)",
         [&] { return bare_get(bare, raw, n); }, [&] { return uc_get(no_spin, keys, n); },
         "report"},
        {"get, text, through libmemcached (fast_get=false)", [&] { return bare_get(bare, raw, n); },
         [&] { return uc_get(old_get, keys, n); }, ">= 0.9"},
        {"set, text protocol", [&] { return bare_set(bare, raw, value, n); },
         [&] { return uc_set(text, keys, value, n); }, ">= 0.95"},
        {"batch get of 100, text, keys/s (mget+fetch)",
         [&] { return bare_mget(bare, raw, n * 10); },
         [&] { return uc_get_many(text, keys, n * 10); }, ">= 0.9"},
        {"  same, Backend::get_many without core/C API",
         [&] { return bare_mget(bare, raw, n * 10); },
         [&] { return backend_get_many(*backend, keys, n * 10); }, "report"},
        {"  same, prefix \"app:\" (anchor: same names)",
         [&] { return bare_mget(bare, raw_prefixed, n * 10); },
         [&] { return uc_get_many(prefixed, keys, n * 10); }, "report"},
        {"get, binary protocol", [&] { return bare_get(bare_bin, raw, n); },
         [&] { return uc_get(binary, keys, n); }, ">= 0.9"},
        {"set, binary protocol", [&] { return bare_set(bare_bin, raw, value, n); },
         [&] { return uc_set(binary, keys, value, n); }, ">= 0.95"},
        {"batch get of 100, binary, keys/s", [&] { return bare_mget(bare_bin, raw, n * 10); },
         [&] { return uc_get_many(binary, keys, n * 10); }, "report"},
        {"get, generation_cache_ms=0 (strict clear)", [&] { return bare_get(bare, raw, n); },
         [&] { return uc_get(strict, keys, n); }, "report"},
        {"get of a tagged entry (+1 round trip)", [&] { return bare_get(bare, raw, n); },
         [&] { return uc_get(tagged, keys, n); }, "report"},
    };
    if (only)
        pairs.erase(std::remove_if(pairs.begin(), pairs.end(),
                                   [&](const Pair &p) { return !std::strstr(p.what, only); }),
                    pairs.end());
    for (int r = 0; r < rounds; r++) {
        for (Pair &p : pairs) {
            double a, o;
            if (r % 2) {
                o = p.ours();
                a = p.anchor();
            } else {
                a = p.anchor();
                o = p.ours();
            }
            p.best_anchor = std::max(p.best_anchor, a);
            p.best_ours = std::max(p.best_ours, o);
            p.ratios.push_back(o / a);
        }
    }

    std::printf("\nMemcached backend vs bare libmemcached %s, same memcached (127.0.0.1:%d), same "
                "run;\n%zu requests per measurement (x10 keys for batches), %zu-byte values, "
                "%d interleaved rounds,\n%u hardware threads shared by server, client and "
                "anything else running.\n\n",
                memcached_lib_version(), port, n, kValueSize, rounds,
                std::thread::hardware_concurrency());
    std::printf("| %-50s | %12s | %12s | %6s | %7s | %-7s |\n",
                "operation (per second, best round)", "libmemcached", "unicache", "ratio", "median",
                "target");
    std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(52, '-').c_str(), std::string(14, '-').c_str(),
                std::string(14, '-').c_str(), std::string(8, '-').c_str(),
                std::string(9, '-').c_str(), std::string(9, '-').c_str());
    for (Pair &p : pairs)
        print_row(p);

    memcached_free(bare);
    memcached_free(bare_bin);
    for (cache_t *c : {text, binary, strict, tagged, prefixed, no_spin, old_get}) {
        check(cache_clear(c), "cache_clear");
        cache_close(c);
    }
    return 0;
}
