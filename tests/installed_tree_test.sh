#!/bin/sh
# Installs into a scratch prefix, then builds examples/quickstart.c with
# nothing but pkg-config, and a CMake project with find_package(unicache).
set -e
build="$1"; src="$2"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(dirname "$(find "$prefix" -name unicache.pc | head -1)")
export PKG_CONFIG_PATH="$pcdir"
cc -o "$prefix/quickstart" "$src/examples/quickstart.c" $(pkg-config --cflags --libs unicache)
LD_LIBRARY_PATH=$(pkg-config --variable=libdir unicache) "$prefix/quickstart" >"$prefix/out.txt"
grep -q 'hello, world' "$prefix/out.txt"
grep -q '"hits"' "$prefix/out.txt"
echo "pkg-config build ran: $(head -1 "$prefix/out.txt")"

# The command is installed with the library and finds it from its own place
# (no LD_LIBRARY_PATH).
"$prefix/bin/unicache" --url memory:// ping >"$prefix/cli.txt"
grep -q '^ok memory' "$prefix/cli.txt"
"$prefix/bin/unicache" --help | grep -q 'exit status'
echo "installed unicache ran: $(cat "$prefix/cli.txt")"

mkdir -p "$prefix/cmk"
cat >"$prefix/cmk/CMakeLists.txt" <<CM
cmake_minimum_required(VERSION 3.16)
project(consumer C)
find_package(unicache 0 REQUIRED)
add_executable(qs $src/examples/quickstart.c)
target_link_libraries(qs PRIVATE unicache::unicache)
CM
cmake -S "$prefix/cmk" -B "$prefix/cmk/b" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cmk/b" >/dev/null
"$prefix/cmk/b/qs" | grep -q 'hello, world'
echo "find_package(unicache) build ran"
