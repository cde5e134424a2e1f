"""Stampede protection from Python: Cache.get_or_set and the decorators use
the C core's leases, so one caller computes a missing value across every
thread and process sharing the backend, and a compute that raises caches
nothing (issue 13)."""
import os
import threading
import time

import pytest

import unicache


def test_get_or_set_stores_the_default_or_the_callables_value(cache):
    assert cache.get_or_set("k", 5, ttl=60) == 5
    assert cache.get("k") == 5
    assert cache.get_or_set("k", 6) == 5  # present: the default is not used
    assert cache.get_or_set("f", lambda: {"a": 1}) == {"a": 1}
    assert cache.get("f") == {"a": 1}


def test_a_raising_compute_caches_nothing_and_frees_the_key(cache):
    def boom():
        raise KeyError("no")

    with pytest.raises(KeyError):
        cache.get_or_set("k", boom)
    assert cache.get("k") is None
    started = time.monotonic()
    assert cache.get_or_set("k", lambda: "v") == "v"  # no wait for a lease
    assert time.monotonic() - started < 2.0
    assert cache.get("k") == "v"


def test_threads_compute_once(make_cache, backend):
    # Memory handles are separate stores: the threads share one handle
    # there; elsewhere each thread has its own, as processes would.
    prefix = "th%d:" % os.getpid()
    shared = make_cache(prefix=prefix)
    handles = [shared] * 8 if backend == "memory" else [make_cache(prefix=prefix) for _ in range(8)]
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.15)
        return "v"

    results = []
    threads = [threading.Thread(target=lambda h=h: results.append(h.get_or_set("k", slow)))
               for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["v"] * 8
    assert len(calls) == 1


def test_processes_compute_once(uri, backend, tmp_path):
    # A memory store is per process: there each child computes its own.
    shared = backend != "memory"
    prefix = "st%d:" % os.getpid()
    log = tmp_path / "computes"
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                c = unicache.Cache(uri, prefix=prefix)

                def slow():
                    with open(log, "a") as f:
                        f.write("x")
                    time.sleep(0.3)
                    return "v"

                code = 0 if c.get_or_set("k", slow, ttl=60) == "v" else 2
                c.close()
            finally:
                os._exit(code)
        pids.append(pid)
    deadline = time.monotonic() + 20
    for pid in pids:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("a child hung")
            time.sleep(0.01)
    assert log.read_text() == ("x" if shared else "xxxx")
    c = unicache.Cache(uri, prefix=prefix)
    assert c.get("k") == ("v" if shared else None)
    c.clear()
    c.close()


def test_cached_decorator_computes_once_across_handles(make_cache, backend):
    c1 = make_cache()
    calls = []

    @unicache.cached(ttl=60, cache=c1)
    def slow(x):
        calls.append(x)
        time.sleep(0.1)
        return x * 2

    out = []
    threads = [threading.Thread(target=lambda: out.append(slow(21))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert out == [42] * 6
    assert calls == [21]
