// The differential model (fuzz/model_run.h) on every backend, as bounded
// seeded runs for CI: a real redis-server and a real memcached on free
// loopback ports (started here, stopped at exit), memory:// and sqlite://.
// Each run is an input of 16 to 255 bytes from std::mt19937_64 seeded with
// its number, so a failure is replayed from its seed alone. Before the
// seeded runs each backend replays every input kept in fuzz/seeds/model_fuzz
// (the libFuzzer corpus) and the seeds listed for it in
// fuzz/seeds/model_regressions.txt (every failure found so far).
//
// UNICACHE_MODEL_RUNS (default 2500) and UNICACHE_MODEL_SECONDS (default 10)
// bound the seeded runs per backend, whichever comes first;
// UNICACHE_MODEL_FIRST_SEED (default 1) moves them to other seeds.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "model_run.h"
#include "support/server_process.h"

namespace unicache_test {

namespace {

using unicache_model::ModelMismatch;
using unicache_model::ModelRunner;
using unicache_model::ModelTarget;
using Input = std::vector<uint8_t>;

Input seeded_input(uint64_t seed)
{
    std::mt19937_64 g(seed);
    Input in(16 + g() % 240);
    for (uint8_t &b : in)
        b = uint8_t(g());
    return in;
}

int64_t env_int(const char *name, int64_t def)
{
    const char *v = std::getenv(name);
    return v && *v ? std::strtoll(v, nullptr, 10) : def;
}

std::vector<std::pair<std::string, Input>> corpus()
{
    std::vector<std::pair<std::string, Input>> out;
    DIR *d = opendir(MODEL_SEEDS_DIR);
    if (!d)
        return out;
    while (dirent *e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        std::ifstream f(std::string(MODEL_SEEDS_DIR) + "/" + e->d_name, std::ios::binary);
        out.emplace_back(e->d_name, Input(std::istreambuf_iterator<char>(f), {}));
    }
    closedir(d);
    return out;
}

// The seeds listed for backend: lines "<backend> <seed>  # what it found".
std::vector<uint64_t> regressions(const std::string &backend)
{
    std::vector<uint64_t> out;
    std::ifstream f(MODEL_REGRESSIONS);
    std::string line;
    while (std::getline(f, line)) {
        std::istringstream words(line.substr(0, line.find('#')));
        std::string name;
        uint64_t seed;
        if (words >> name >> seed && (name == backend || name == "all"))
            out.push_back(seed);
    }
    return out;
}

std::string hex(const Input &in)
{
    std::string s;
    char b[3];
    for (uint8_t c : in) {
        std::snprintf(b, sizeof b, "%02x", c);
        s += b;
    }
    return s;
}

// Runs one input; on a mismatch, says how to replay it and keeps the input
// (model-failure-<backend>-<what>.bin in the working directory).
bool run_one(ModelRunner &runner, const std::string &backend, const std::string &what,
             const Input &in, size_t *ops)
{
    try {
        *ops += runner.run(in.data(), in.size());
        return true;
    } catch (const std::exception &e) {
        std::string file = "model-failure-" + backend + "-" + what + ".bin";
        std::ofstream(file, std::ios::binary)
            .write(reinterpret_cast<const char *>(in.data()), std::streamsize(in.size()));
        ADD_FAILURE() << backend << ", " << what << ": " << e.what() << "\n  input (" << in.size()
                      << " bytes, kept in " << file << "): " << hex(in);
        return false;
    }
}

void run_model(const std::string &backend, const ModelTarget &target)
{
    ModelRunner runner(target);
    size_t ops = 0;
    for (const auto &c : corpus())
        if (!run_one(runner, backend, "corpus-" + c.first, c.second, &ops))
            return;
    for (uint64_t seed : regressions(backend))
        if (!run_one(runner, backend, "seed-" + std::to_string(seed), seeded_input(seed), &ops))
            return;
    int64_t runs = env_int("UNICACHE_MODEL_RUNS", 2500);
    uint64_t first = uint64_t(env_int("UNICACHE_MODEL_FIRST_SEED", 1));
    auto limit = std::chrono::milliseconds(env_int("UNICACHE_MODEL_SECONDS", 10) * 1000);
    auto start = std::chrono::steady_clock::now();
    int64_t done = 0;
    for (; done < runs && std::chrono::steady_clock::now() - start < limit; done++) {
        uint64_t seed = first + uint64_t(done);
        if (!run_one(runner, backend, "seed-" + std::to_string(seed), seeded_input(seed), &ops))
            return;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("model %s: %lld seeded runs (of %lld), %zu operations in all, %.1f s\n",
                backend.c_str(), (long long)done, (long long)runs, ops, secs);
    // A time bound that cut the runs to nothing would test nothing.
    EXPECT_GE(done, std::min<int64_t>(runs, 50)) << "too slow to be a test";
}

ModelTarget memcached_target(const std::string &uri)
{
    ModelTarget t{uri};
    t.lists_keys = false;           // no command enumerates keys
    t.counts_invalidations = false; // tags are checked lazily, on read
    t.ttl_slack_ms = 1000;          // memcached keeps time in seconds
    return t;
}

} // namespace

TEST(ModelFuzz, Memory)
{
    run_model("memory", ModelTarget{"memory://?name=model-servers&expiry_interval_ms=0"});
}

TEST(ModelFuzz, Sqlite)
{
    std::string path = "/tmp/unicache-model-" + std::to_string(getpid()) + ".db";
    run_model("sqlite", ModelTarget{"sqlite://" + path});
    for (const char *end : {"", "-wal", "-shm"})
        std::remove((path + end).c_str());
}

TEST(ModelFuzz, Redis)
{
    ServerProcess s = ServerProcess::redis();
    s.start();
    ModelTarget t{"redis://127.0.0.1:" + std::to_string(s.port())};
    t.tags_by_value = true; // the tag index records a fingerprint of the value
    run_model("redis", t);
}

TEST(ModelFuzz, Memcached)
{
    ServerProcess s = ServerProcess::memcached();
    s.start();
    run_model("memcached", memcached_target("memcached://127.0.0.1:" + std::to_string(s.port())));
}

} // namespace unicache_test
