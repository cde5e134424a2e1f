"""Every typemap path, success and failure, run many times: the process
must not grow (each path owns buffers, views or references it must free)."""
import gc

import pytest

import unicache

BIG = b"x" * 10000


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4 // 1  # pages of 4 KiB


def fails(call):
    try:
        call()
    except Exception:
        return
    raise AssertionError("expected an error")


def paths(c, r):
    return {
        "set/get json": lambda: (c.set("k", {"a": [1, "é"]}, ttl=5), c.get("k"), c["k"]),
        "tags": lambda: (c.set("t", 1, tags=["t1", b"t2"]), c.invalidate_tags(["t1"])),
        "raw buffers": lambda: (r.set(bytearray(b"bk"), memoryview(BIG)), r.get(memoryview(b"bk")),
                                r._get_raw("bk")),
        "lists": lambda: (c.set_many({"a": 1, "b": "x"}), c.get_many(["a", b"b", "c"]),
                          c.delete_many(("a", "b")), r._get_many(["bk", "zz"])),
        "outputs": lambda: (c.keys("*"), c.incr("n"), c.ttl("k"), c.touch("k", 3), c.stats(),
                            c.info()),
        "surrogates": lambda: (c.get("\udcff"), r.set("\udcfe", b"v")),
        "errors": lambda: [fails(f) for f in (
            lambda: c.get(1), lambda: c.set("", 1), lambda: c._get_many(["a", 1]),
            lambda: c.set("k", 1, ttl=0), lambda: c.set("k", 1, ttl="x"), lambda: c["missing"],
            lambda: r.set("k", 5), lambda: c.keys("[x"), lambda: c.get("\ud800"),
            lambda: r.get(memoryview(b"abcd")[::2]), lambda: c._set_many(["a"], [b"1", b"2"]),
            lambda: r.set(memoryview(BIG), 5),  # value refused after the key's view
            lambda: unicache.Cache("bad://"), lambda: unicache.Cache("memory://", prefix=5))],
        "open/close": lambda: unicache.Cache("memory://", prefix=memoryview(b"p:")).close(),
    }


@pytest.mark.parametrize("name", ["set/get json", "tags", "raw buffers", "lists", "outputs",
                                  "surrogates", "errors", "open/close"])
def test_no_growth(name):
    with unicache.Cache("memory://") as c, unicache.Cache("memory://", serializer="raw") as r:
        path = paths(c, r)[name]
        for _ in range(2000):  # warm up: allocator pools, caches, interned strings
            path()
        gc.collect()
        before = rss_kib()
        for _ in range(8000):
            path()
        gc.collect()
        grown = rss_kib() - before
    # Leaking even 64 bytes per call would grow by 500 KiB here.
    assert grown < 256, "%s grew by %d KiB" % (name, grown)
