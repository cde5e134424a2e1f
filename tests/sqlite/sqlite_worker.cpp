// sqlite_worker: the other process in the SQLite multi-process tests.
//
//   sqlite_worker fill URI N          write N entries (see expected_value)
//   sqlite_worker verify URI N        read them back; exit 1 on any mismatch
//   sqlite_worker hammer URI ID ITERS set/get/incr/add/delete with 2 threads
//   sqlite_worker crash-writer URI FIRST
//                                     write entries FIRST, FIRST+1, ... for
//                                     ever, printing each index on stdout
//                                     once its write returned CACHE_OK
//
// Exit status 0 means every call returned the status it should; otherwise
// the first failure is printed on stderr.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "sqlite_worker_values.h"
#include "unicache.h"

namespace {

std::atomic<bool> g_failed{false};

void failure(const std::string &what, int rc)
{
    if (!g_failed.exchange(true))
        std::fprintf(stderr, "sqlite_worker: %s: status %d (%s): %s\n", what.c_str(), rc,
                     cache_strerror(rc), cache_last_error());
}

cache_t *open_or_die(const char *uri)
{
    cache_t *c = nullptr;
    int rc = cache_open(uri, &c);
    if (rc != CACHE_OK) {
        failure(std::string("cache_open ") + uri, rc);
        std::exit(1);
    }
    return c;
}

int fill(cache_t *c, long n)
{
    for (long i = 0; i < n && !g_failed; i++) {
        std::string k = unicache_test::worker_key(i), v = unicache_test::expected_value(i);
        // Every 7th entry gets a long TTL, so expiry bookkeeping persists too.
        int rc = cache_set(c, k.data(), k.size(), v.data(), v.size(), i % 7 ? 0 : 3600 * 1000);
        if (rc != CACHE_OK)
            failure("set " + k, rc);
    }
    int rc = cache_incr(c, "fill-counter", 12, n, nullptr);
    if (rc != CACHE_OK)
        failure("incr fill-counter", rc);
    return g_failed ? 1 : 0;
}

int verify(cache_t *c, long n)
{
    for (long i = 0; i < n && !g_failed; i++) {
        std::string k = unicache_test::worker_key(i);
        cache_buf b = {nullptr, 0};
        int rc = cache_get(c, k.data(), k.size(), &b);
        if (rc != CACHE_OK)
            failure("get " + k, rc);
        else if (std::string(static_cast<char *>(b.data), b.size) !=
                 unicache_test::expected_value(i))
            failure("get " + k + " returned other bytes", rc);
        cache_buf_free(&b);
    }
    return g_failed ? 1 : 0;
}

void hammer_thread(cache_t *c, const std::string &id, long iters)
{
    std::string own_counter = "per:" + id;
    for (long i = 0; i < iters && !g_failed; i++) {
        std::string k = "h:" + id + ":" + std::to_string(i % 50);
        std::string v = "value " + std::to_string(i) + std::string(size_t(i % 300), 'x');
        int rc = cache_set(c, k.data(), k.size(), v.data(), v.size(), 0);
        if (rc != CACHE_OK)
            return failure("set " + k, rc);
        cache_buf b = {nullptr, 0};
        rc = cache_get(c, k.data(), k.size(), &b);
        cache_buf_free(&b);
        // The other thread of this process may have deleted it meanwhile.
        if (rc != CACHE_OK && rc != CACHE_MISS)
            return failure("get " + k, rc);
        if ((rc = cache_incr(c, "total", 5, 1, nullptr)) != CACHE_OK)
            return failure("incr total", rc);
        if ((rc = cache_incr(c, own_counter.data(), own_counter.size(), 1, nullptr)) != CACHE_OK)
            return failure("incr " + own_counter, rc);
        std::string lock = "lock:" + std::to_string(i % 20);
        rc = cache_add(c, lock.data(), lock.size(), id.data(), id.size(), 0);
        if (rc != CACHE_OK && rc != CACHE_MISS)
            return failure("add " + lock, rc);
        if (i % 3 == 0) {
            rc = cache_delete(c, k.data(), k.size());
            if (rc != CACHE_OK && rc != CACHE_MISS)
                return failure("delete " + k, rc);
        }
    }
}

int hammer(cache_t *c, const std::string &id, long iters)
{
    std::thread other([&] { hammer_thread(c, id, iters); });
    hammer_thread(c, id, iters);
    other.join();
    return g_failed ? 1 : 0;
}

void ack(long i)
{
    char line[32];
    int n = std::snprintf(line, sizeof line, "%ld\n", i);
    // One write() below PIPE_BUF: the reader never sees half a line.
    if (write(1, line, size_t(n)) != n)
        std::exit(2);
}

int crash_writer(cache_t *c, long first)
{
    for (long i = first;; i++) {
        if (i % 10 == 0) {
            // A batch: all five are stored, or (killed mid-way) none.
            std::vector<std::string> ks, vs;
            std::vector<cache_slice> k, v;
            for (long j = i; j < i + 5; j++) {
                ks.push_back(unicache_test::worker_key(j));
                vs.push_back(unicache_test::expected_value(j));
            }
            for (size_t j = 0; j < ks.size(); j++) {
                k.push_back({ks[j].data(), ks[j].size()});
                v.push_back({vs[j].data(), vs[j].size()});
            }
            int rc = cache_set_many(c, k.data(), v.data(), k.size(), 0);
            if (rc != CACHE_OK) {
                failure("set_many", rc);
                return 1;
            }
            for (long j = i; j < i + 5; j++)
                ack(j);
            i += 4;
            continue;
        }
        std::string k = unicache_test::worker_key(i), v = unicache_test::expected_value(i);
        int rc = cache_set(c, k.data(), k.size(), v.data(), v.size(), 0);
        if (rc != CACHE_OK) {
            failure("set " + k, rc);
            return 1;
        }
        ack(i);
    }
}

} // namespace

int main(int argc, char **argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: sqlite_worker fill|verify|hammer|crash-writer URI ...\n");
        return 64;
    }
    std::string mode = argv[1];
    cache_t *c = open_or_die(argv[2]);
    int status = 64;
    if (mode == "fill" && argc == 4)
        status = fill(c, std::atol(argv[3]));
    else if (mode == "verify" && argc == 4)
        status = verify(c, std::atol(argv[3]));
    else if (mode == "hammer" && argc == 5)
        status = hammer(c, argv[3], std::atol(argv[4]));
    else if (mode == "crash-writer" && argc == 4)
        status = crash_writer(c, std::atol(argv[3]));
    else
        std::fprintf(stderr, "sqlite_worker: bad arguments for '%s'\n", mode.c_str());
    cache_close(c);
    return status;
}
