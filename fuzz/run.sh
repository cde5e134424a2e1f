#!/bin/sh
# Builds the libFuzzer targets with clang (ASan+UBSan+fuzzer) and runs each
# for a bounded time: ./fuzz/run.sh [seconds-per-target]
set -eu
cd "$(dirname "$0")/.."
secs="${1:-20}"
out=build-fuzz
mkdir -p "$out"
CXX="clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# Globs, not a list: a source added to the library must not break this build.
core="lib/core/*.cpp lib/compose/*.cpp lib/capi/*.cpp lib/backends/registry.cpp \
lib/backends/memory/*.cpp"
inc="-Iinclude -Ilib $(pkg-config --cflags libcjson libzstd liblz4)"
libs="$(pkg-config --libs libcjson libzstd liblz4) -lpthread"
$CXX $inc fuzz/glob_fuzz.cpp lib/core/glob.cpp -o "$out/glob_fuzz"
$CXX $inc fuzz/config_fuzz.cpp $core $libs -o "$out/config_fuzz"
# The model-based differential fuzzer: C API op sequences on memory:// against
# a reference model of the contract (fuzz/model_fuzz.cpp).
$CXX $inc fuzz/model_fuzz.cpp fuzz/model_run.cpp $core $libs -o "$out/model_fuzz"
# The same on sqlite:// (one file per run, under /tmp), the same seeds.
$CXX $inc $(pkg-config --cflags sqlite3) -DMODEL_FUZZ_SQLITE -DUNICACHE_BACKEND_SQLITE=1 \
    fuzz/model_fuzz.cpp fuzz/model_run.cpp $core lib/backends/sqlite/*.cpp $libs $(pkg-config --libs sqlite3) \
    -o "$out/model_fuzz_sqlite"
for t in glob_fuzz config_fuzz model_fuzz model_fuzz_sqlite; do
    mkdir -p "$out/corpus-$t"
    cp fuzz/seeds/$t/* "$out/corpus-$t/" 2>/dev/null || true
    case $t in model_fuzz_sqlite) cp fuzz/seeds/model_fuzz/* "$out/corpus-$t/" ;; esac
    echo "== $t for ${secs}s =="
    # Not piped: a crash, leak, timeout or out-of-memory must fail the run.
    if ! "$out/$t" -max_total_time="$secs" -max_len=512 -timeout=5 "$out/corpus-$t" \
        >"$out/$t.log" 2>&1; then
        tail -40 "$out/$t.log"
        echo "== $t FAILED (log: $out/$t.log) =="
        exit 1
    fi
    tail -3 "$out/$t.log"
done
