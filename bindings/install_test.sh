#!/bin/sh
# cmake --install into a scratch prefix, then use both bindings from there
# (and only from there: the build tree is not on any path).
set -e
build="$1"; python="$2"; ruby="$3"; pydir="$4"; rbdir="$5"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
case "$pydir" in /*) ;; *) pydir="$prefix/$pydir" ;; esac
case "$rbdir" in /*) ;; *) rbdir="$prefix/$rbdir" ;; esac
test -f "$pydir/unicache/__init__.pyi"
test -f "$pydir/unicache/py.typed"
cd "$prefix"
PYTHONPATH="$pydir" "$python" -c '
import unicache, unicache.wsgi, unicache.asgi
assert unicache.__file__.startswith("'"$pydir"'"), unicache.__file__
with unicache.Cache("memory://") as c:
    c.set("k", [1, "two"])
    assert c.get("k") == [1, "two"]
print("python binding ran from", unicache.__file__)
'
"$ruby" -I "$rbdir" -e '
require "unicache"
require "unicache/rack"
raise $LOADED_FEATURES.grep(/native/).inspect unless $LOADED_FEATURES.grep(/unicache\/native/).all? { |f| f.start_with?("'"$rbdir"'") }
Unicache::Cache.open("memory://") { |c| c.set("k", [1, "two"]); raise unless c.get("k") == [1, "two"] }
puts "ruby binding ran from #{$LOADED_FEATURES.grep(/unicache\/native/).first}"
'
