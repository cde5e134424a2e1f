#!/bin/sh
# The README's order, on a scratch clone: ./scripts/demo, then ./scripts/test.
# demo configures build/ with the tests off; test must turn them back on and
# find the whole suite, not report success over zero tests.
#
#   tests/scripts/demo_then_test.sh [--full] [REPO]
#
# REPO (default: the repository holding this script; its committed HEAD is
# cloned) is cloned into a temporary directory. Without --full, scripts/test
# --list checks what the suite would run (a minute or two); with --full the
# whole scripts/test runs and its ctest summaries are checked too. The clone
# goes under $TMPDIR (default /tmp); put it under ccache's base_dir to reuse
# the compiler cache.
set -eu
full=0
if [ "${1:-}" = "--full" ]; then
    full=1
    shift
fi
repo=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/unicache-demo-then-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
git clone -q "$repo" "$scratch/src"
cd "$scratch/src"

fail() {
    # Keep the logs: the scratch clone goes, they stay next to it.
    for log in "$scratch"/*.log; do
        [ -f "$log" ] && cp "$log" "${scratch%/*}/demo_then_test.$(basename "$log")"
    done
    echo "demo_then_test: FAIL: $* (logs: ${scratch%/*}/demo_then_test.*.log)" >&2
    exit 1
}

./scripts/demo >"$scratch/demo.log" 2>&1 || { cat "$scratch/demo.log"; fail "scripts/demo failed"; }
grep -q '^UNICACHE_TESTS:BOOL=OFF' build/CMakeCache.txt ||
    fail "scripts/demo no longer turns the tests off, so this check proves nothing; update it"

if [ "$full" -eq 0 ]; then
    ./scripts/test --list >"$scratch/test.log" 2>&1 || { cat "$scratch/test.log"; fail "scripts/test --list failed"; }
else
    ./scripts/test >"$scratch/test.log" 2>&1 || { tail -50 "$scratch/test.log"; fail "scripts/test failed"; }
    # Both ctest runs must have run tests, and every one of them passed.
    runs=$(grep -c '^100% tests passed, 0 tests failed out of [1-9]' "$scratch/test.log" || true)
    [ "$runs" -eq 2 ] || { tail -50 "$scratch/test.log"; fail "expected 2 ctest runs with tests, saw $runs"; }
fi
grep -q '^UNICACHE_TESTS:BOOL=ON' build/CMakeCache.txt || fail "build/ still has the tests off"
normal=$(sed -n 's/^build: \([0-9]*\) tests$/\1/p' "$scratch/test.log")
[ -n "$normal" ] && [ "$normal" -gt 0 ] || { cat "$scratch/test.log"; fail "no test count for build/"; }
grep -q '^build-asan: [1-9][0-9]* tests$' "$scratch/test.log" || fail "no test count for build-asan/"
echo "demo_then_test: ok: after scripts/demo, scripts/test found $normal tests in build/"
