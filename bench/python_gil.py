#!/usr/bin/env python3
"""What releasing the GIL costs on the memory backend's get path, which is
why the binding releases it only for backends that can block (SQLite,
Redis, memcached). Both variants run in the same process and the same run:
one thread, then two threads sharing one cache.

    /usr/bin/python3 bench/python_gil.py [--build build]
"""
import argparse
import pathlib
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def one_thread(get, keys, rounds=7):
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for k in keys:
            get(k)
        best = min(best, (time.perf_counter_ns() - start) / len(keys))
    return best


def two_threads(get, keys, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        def work():
            for k in keys:
                get(k)
        threads = [threading.Thread(target=work) for _ in range(2)]
        start = time.perf_counter_ns()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        best = min(best, (time.perf_counter_ns() - start) / (2 * len(keys)))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build"))
    args = parser.parse_args()
    sys.path.insert(0, str(pathlib.Path(args.build) / "bindings" / "python"))
    import unicache

    cache = unicache.Cache("memory://")
    keys = ["key:%d" % (i % 1000) for i in range(200000)]
    for i in range(1000):
        cache.set("key:%d" % i, "value for key:%d" % i)
    print("memory get, ns per get (best of several rounds)")
    print("%-22s %12s %12s" % ("", "keeps GIL", "releases GIL"))
    for name, measure in (("1 thread", one_thread), ("2 threads, one cache", two_threads)):
        cache._set_blocking(False)
        kept = measure(cache.get, keys)
        cache._set_blocking(True)
        released = measure(cache.get, keys)
        cache._set_blocking(False)
        print("%-22s %12.0f %12.0f   releasing costs %.2fx" % (name, kept, released,
                                                               released / kept))
    cache.close()


if __name__ == "__main__":
    main()
