#!/usr/bin/env python3
"""The Python binding beside the caches Python programmers use today, in
the same run on the same machine: cachetools (memory), diskcache (SQLite),
redis-py (Redis), pylibmc (memcached), all from Debian packages. Redis and
memcached run as real local servers started here.

    /usr/bin/python3 bench/python_bench.py [--build build] [--rounds 40]

Each pair is timed in many short alternating rounds (ours, theirs, theirs,
ours, ...; a few milliseconds each). Two ratios (their time per operation
/ ours, higher is better) are printed:
  best    the best round of each side: a short round often runs
          undisturbed, so it filters out time stolen by other work;
  paired  the median over the rounds of (their round / our adjacent
          round): both sides of a pair run in the same conditions.
On a VM the cost of a network round trip changes with the host's state
(here a loopback get takes ~8 us while the other vCPU is busy and ~19 us
while it is idle): the two bests can then come from different states,
which the paired median is immune to. The verdict uses the paired ratio.
Backends this build does not have are reported as such, not skipped.
"""
import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
KEYS = 1000

TARGETS = {  # operation -> minimum ratio the issue asks for
    "memory get": 2.0,
    "sqlite get": 3.0,
    "sqlite set": 3.0,
    "redis get": 1.3,
    "memcached get": 1.0,
    # issue 12: a @cached hit 2x cachetools.cached(TTLCache); a @memoize hit
    # costs at most 3x a functools.lru_cache hit (ratio >= 1/3).
    "@cached pos": 2.0,
    "@cached kw": 2.0,
    "@memoize pos": 1 / 3,
    "@memoize kw": 1 / 3,
}


def best_ns(fn, keys, rounds_out):
    """Time one round of fn over keys; keep it in rounds_out; ns per op."""
    start = time.perf_counter_ns()
    fn(keys)
    ns = (time.perf_counter_ns() - start) / len(keys)
    rounds_out.append(ns)
    return ns


def compare(ours, theirs, n, rounds):
    """Alternating rounds; returns (best ns/op ours, best ns/op theirs,
    median of their/our ns/op over adjacent pairs)."""
    keys = ["key:%d" % (i % KEYS) for i in range(max(n, KEYS))]
    a, b = [], []
    ours(keys)  # warm up both
    theirs(keys)
    for r in range(rounds):
        if r % 2:
            best_ns(theirs, keys, b)
            best_ns(ours, keys, a)
        else:
            best_ns(ours, keys, a)
            best_ns(theirs, keys, b)
    paired = sorted(t / o for o, t in zip(a, b))
    return min(a), min(b), paired[len(paired) // 2]


def get_loop(get):
    def run(keys):
        for k in keys:
            get(k)
    return run


def set_loop(set_):
    def run(keys):
        for k in keys:
            set_(k, "value for " + k)
    return run


class Report:
    def __init__(self):
        self.rows = []
        self.failed = []

    def add(self, op, ours_name, anchor, timing):
        """timing: compare()'s (our best ns, their best ns, paired ratio)."""
        ours_ns, anchor_ns, paired = timing
        target = TARGETS.get(op) if ours_name.endswith("(json)") or op[0] == "@" else None
        verdict = ""
        if target is not None:
            verdict = "%.2fx %s" % (target, "ok" if paired >= target else "BELOW TARGET")
            if paired < target:
                self.failed.append(op)
        self.rows.append((op, ours_name, ours_ns, anchor, anchor_ns, anchor_ns / ours_ns, paired,
                          verdict))

    def missing(self, op, why):
        self.rows.append((op, why, None, "", None, None, None, ""))

    def print(self):
        head = ("operation", "unicache", "ns/op", "ops/s", "anchor", "ns/op", "ops/s", "best",
                "paired", "target")
        print("%-14s %-27s %8s %10s  %-37s %8s %10s %7s %7s  %s" % head)
        for op, ours, ons, anchor, ans, best, paired, target in self.rows:
            if ons is None:
                print("%-14s %s" % (op, ours))
                continue
            print("%-14s %-27s %8.0f %10.0f  %-37s %8.0f %10.0f %6.2fx %6.2fx  %s"
                  % (op, ours, ons, 1e9 / ons, anchor, ans, 1e9 / ans, best, paired, target))


def call_loop(fn, keyword):
    """Calls fn with each key, as f(key) or f(arg=key)."""
    if keyword:
        def run(keys):
            for k in keys:
                fn(arg=k)
    else:
        def run(keys):
            for k in keys:
                fn(k)
    return run


def decorator_rows(unicache, report, n, rounds):
    """Decorator hits beside the decorators Python programmers use: @cached
    (memory://, the default JSON serializer) against
    @cachetools.cached(TTLCache), @memoize against @functools.lru_cache,
    each called with a positional and with a keyword argument. Every key
    is a hit: both sides were called with every key first."""
    import cachetools
    import functools

    store = unicache.Cache("memory://")

    @unicache.cached(ttl=600, cache=store)
    def ours_cached(arg, scale=2):
        return len(arg) * scale

    @cachetools.cached(cachetools.TTLCache(maxsize=100000, ttl=600))
    def their_cached(arg, scale=2):
        return len(arg) * scale

    @unicache.memoize(maxsize=100000)
    def ours_memo(arg, scale=2):
        return len(arg) * scale

    @functools.lru_cache(maxsize=100000)
    def their_memo(arg, scale=2):
        return len(arg) * scale

    pairs = (("@cached", ours_cached, "@unicache.cached", their_cached,
              "@cachetools.cached(TTLCache)"),
             ("@memoize", ours_memo, "@unicache.memoize", their_memo, "@functools.lru_cache"))
    for op, ours, ours_name, theirs, their_name in pairs:
        for keyword, shape in ((False, "pos"), (True, "kw")):
            arg = "f(arg=k)" if keyword else "f(k)"
            report.add("%s %s" % (op, shape), "%s %s" % (ours_name, arg),
                       "%s %s" % (their_name, arg),
                       compare(call_loop(ours, keyword), call_loop(theirs, keyword), n, rounds))
    store.close()


def open_or_none(unicache, uri, serializer):
    """Our cache, in a key space of its own (the anchors use the same
    server), or None when this build does not have the backend."""
    try:
        return unicache.Cache(uri, serializer=serializer, prefix="unicache-bench:")
    except unicache.NotSupported:
        return None


def network_pair(unicache, report, backend, uri, client, client_name, n, rounds):
    """get (json and raw) and set, ours against a client of the same server."""
    ours = {s: open_or_none(unicache, uri, s) for s in ("json", "raw")}
    if ours["json"] is None:
        report.missing(backend, "%s backend not built (UNICACHE_WITH_%s=OFF)"
                       % (backend, backend.upper()))
        return
    for i in range(KEYS):
        ours["json"].set("key:%d" % i, "value for key:%d" % i)
        client.set("key:%d" % i, "value for key:%d" % i)
    for name in ("json", "raw"):
        report.add(backend + " get", "Cache.get (%s)" % name, client_name + ".get",
                   compare(get_loop(ours[name].get), get_loop(client.get), n, rounds))
    report.add(backend + " set", "Cache.set (json)", client_name + ".set",
               compare(set_loop(ours["json"].set), set_loop(client.set), n, rounds))
    for c in ours.values():
        c.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build"),
                        help="the CMake build directory with the Python binding")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply operation counts")
    parser.add_argument("--only", choices=("memory", "decorators", "sqlite", "network"),
                        action="append", help="run only these groups (repeatable)")
    args = parser.parse_args()
    sys.path.insert(0, str(pathlib.Path(args.build) / "bindings" / "python"))
    sys.path.insert(0, str(ROOT / "tests" / "python"))
    import unicache
    from servers import STARTERS

    import cachetools
    import diskcache
    import pylibmc
    import redis

    def count(n):
        return max(100, int(n * args.scale))

    print("unicache %s Python binding, %s, %d CPUs, load average %s"
          % (unicache.__version__, sys.version.split()[0], os.cpu_count(),
             " ".join("%.2f" % x for x in os.getloadavg())))
    report = Report()
    rounds = args.rounds

    def wanted(group):
        return not args.only or group in args.only

    tmp = tempfile.mkdtemp(prefix="unicache-bench-")
    servers = []
    try:
        # ----------------------------------------------------------- memory
        if wanted("memory"):
            lru = cachetools.LRUCache(maxsize=100000)
            mem = {s: unicache.Cache("memory://", serializer=s) for s in ("json", "raw")}
            for i in range(KEYS):
                k = "key:%d" % i
                lru[k] = "value for " + k
                mem["json"].set(k, "value for " + k)
                mem["raw"].set(k, "value for " + k)
            n = count(20000)
            for name, c in (("get (json)", mem["json"]), ("get (raw)", mem["raw"])):
                report.add("memory get", "Cache." + name, "cachetools.LRUCache.get",
                           compare(get_loop(c.get), get_loop(lru.get), n, rounds))
            report.add("memory c[k]", "Cache[k] (json)", "cachetools.LRUCache[k]",
                       compare(get_loop(mem["json"].__getitem__), get_loop(lru.__getitem__), n,
                               rounds))
            report.add("memory set", "Cache.set (json)", "cachetools.LRUCache[k]=v",
                       compare(set_loop(mem["json"].set), set_loop(lru.__setitem__), n, rounds))

        # ------------------------------------------------------- decorators
        if wanted("decorators"):
            decorator_rows(unicache, report, count(20000), rounds)

        # ----------------------------------------------------------- sqlite
        if wanted("sqlite"):
            sq = open_or_none(unicache, "sqlite://" + os.path.join(tmp, "unicache.db"), "json")
            if sq is None:
                report.missing("sqlite", "sqlite backend not built (UNICACHE_WITH_SQLITE=OFF)")
            else:
                dc = diskcache.Cache(os.path.join(tmp, "diskcache"))
                n = count(2000)
                report.add("sqlite set", "Cache.set (json)", "diskcache.Cache.set",
                           compare(set_loop(sq.set), set_loop(dc.set), n, rounds))
                report.add("sqlite get", "Cache.get (json)", "diskcache.Cache.get",
                           compare(get_loop(sq.get), get_loop(dc.get), n, rounds))
                dc.close()
                sq.close()

        # ------------------------------------------------ redis, memcached
        if wanted("network"):
            server = STARTERS["redis"]().start()
            servers.append(server)
            client = redis.Redis(host="127.0.0.1", port=server.port)
            network_pair(unicache, report, "redis", "redis://127.0.0.1:%d/0" % server.port,
                         client, "redis.Redis", count(500), rounds)
            client.close()
            server = STARTERS["memcached"]().start()
            servers.append(server)
            client = pylibmc.Client(["127.0.0.1:%d" % server.port])
            network_pair(unicache, report, "memcached", "memcached://127.0.0.1:%d" % server.port,
                         client, "pylibmc.Client", count(500), rounds)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    report.print()
    print("load average after: %s" % " ".join("%.2f" % x for x in os.getloadavg()))
    if report.failed:
        print("below target: " + ", ".join(report.failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
