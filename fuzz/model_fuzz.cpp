// libFuzzer over the differential model (fuzz/model_run.h): random C API
// operation sequences through handles with prefixes "", "a", "ab" on one
// store, every status, value, count and listing checked against the model of
// the README's contract. memory:// by default; -DMODEL_FUZZ_SQLITE for
// sqlite://. A mismatch traps, and the input goes to fuzz/seeds/model_fuzz
// (replayed by fuzz/run.sh and, on every backend, by
// tests/fuzz/model_servers_test.cpp).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unistd.h>

#include "model_run.h"

namespace {

// The store the three handles share, opened once and emptied by the
// unprefixed handle's clear before each input. memory:// by default: one
// named store, the reaper off (nothing here expires). Built with
// -DMODEL_FUZZ_SQLITE, one SQLite file.
#ifdef MODEL_FUZZ_SQLITE
// A file of this process's own, removed (with its -wal and -shm) at exit; a
// plain buffer, which no destructor frees before the exit handler runs.
char g_db_path[128];
std::string db_path()
{
    if (!g_db_path[0]) {
        std::snprintf(g_db_path, sizeof g_db_path, "/tmp/unicache-model-fuzz-%d.db", int(getpid()));
        std::atexit([] {
            char name[160];
            for (const char *end : {"", "-wal", "-shm"}) {
                std::snprintf(name, sizeof name, "%s%s", g_db_path, end);
                std::remove(name);
            }
        });
    }
    return g_db_path;
}
const std::string kUri = "sqlite://" + db_path();
#else
const std::string kUri = "memory://?name=model-fuzz&expiry_interval_ms=0";
#endif

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static std::unique_ptr<unicache_model::ModelRunner> runner;
    try {
        if (!runner)
            runner =
                std::make_unique<unicache_model::ModelRunner>(unicache_model::ModelTarget{kUri});
        runner->run(data, size);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        __builtin_trap();
    }
    return 0;
}
