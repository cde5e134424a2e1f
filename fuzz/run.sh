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
for t in glob_fuzz config_fuzz; do
    mkdir -p "$out/corpus-$t"
    cp fuzz/seeds/$t/* "$out/corpus-$t/" 2>/dev/null || true
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
