#!/bin/sh
# Only cache_* may leave the shared library.
set -e
lib="$1"
leaked=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRWVi]/ {print $3}' | grep -v '^cache_' || true)
if [ -n "$leaked" ]; then
    echo "symbols outside cache_* exported from $lib:"; echo "$leaked"; exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' cache_')
echo "$lib exports $count cache_* symbols and nothing else"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
case "$soname" in libunicache.so.[0-9]*) echo "SONAME $soname" ;; *) echo "bad SONAME '$soname'"; exit 1 ;; esac
