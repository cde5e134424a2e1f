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


def test_cached_stale_ttl_is_per_decorator(make_cache):
    # The handle has no stale_ttl: the decorator's own window serves the old
    # result at once while one caller recomputes it.
    c = make_cache()
    calls = []

    @unicache.cached(ttl=0.3, cache=c, stale_ttl=30)
    def windowed(x):
        calls.append(x)
        if len(calls) > 1:
            time.sleep(0.3)
        return len(calls)

    @unicache.cached(ttl=0.3, cache=c)
    def plain(x):
        calls.append(-x)
        return "p%d" % len(calls)

    assert windowed(1) == 1
    assert plain(1) == "p2"
    time.sleep(0.45)
    refresher = threading.Thread(target=windowed, args=(1,))
    refresher.start()
    time.sleep(0.1)  # the refresher holds the lease and computes (0.3 s)
    started = time.monotonic()
    assert windowed(1) == 1  # the old value, at once
    assert time.monotonic() - started < 0.25
    refresher.join(10)
    assert windowed(1) == 3
    assert calls == [1, -1, 1]
    assert plain(1) == "p4"  # no window of its own: a plain miss


def test_get_or_set_stale_ttl_and_lock_per_call(make_cache):
    c = make_cache()
    assert c.get_or_set("k", "old", ttl=0.3, stale_ttl=30) == "old"
    time.sleep(0.45)
    status, data, lease = c._lease_get("k")
    assert status == 2 and lease is not None  # stale, and this caller refreshes
    assert c.get_or_set("k", "new") == "old"  # served stale, not waited
    # lock: a caller waits that long for the holder, then computes itself.
    assert c._lease_get("busy")[2] is not None
    started = time.monotonic()
    assert c.get_or_set("busy", "mine", lock=0.05) == "mine"
    assert time.monotonic() - started < 2.0
    assert c.get("busy") is None  # computed without the lease: not stored
    c._lease_release("k", *lease)


def test_cached_early_refresh_per_decorator(make_cache):
    c = make_cache()
    calls = []

    @unicache.cached(ttl=2, cache=c, early_refresh=50)
    def hot():
        calls.append(1)
        time.sleep(0.04)
        return len(calls)

    assert hot() == 1
    for _ in range(40):  # bounded: about 1 s of steady traffic
        if len(calls) > 1:
            break
        hot()
        time.sleep(0.02)
    assert len(calls) == 2, "a hit refreshed the value well before its 2 s expiry"
    assert hot() >= 2  # the refreshed value (a beta this high may refresh again)


@pytest.mark.parametrize("kwargs, error", [
    ({"stale_ttl": -1}, unicache.InvalidArgument),
    ({"stale_ttl": "1"}, TypeError),
    ({"early_refresh": 101}, unicache.InvalidArgument),
    ({"early_refresh": float("nan")}, unicache.InvalidArgument),
    ({"early_refresh": True}, TypeError),
    ({"lock": float("inf")}, unicache.InvalidArgument),
    ({"lock": []}, TypeError),
])
def test_bad_stampede_options_fail_where_they_are_written(cache, kwargs, error):
    with pytest.raises(error):
        unicache.cached(**kwargs)
    with pytest.raises(error):
        unicache.cached_property(**kwargs)
    with pytest.raises(error):
        cache.get_or_set("k", 1, **kwargs)
    assert cache.get("k") is None


def test_tagged_results_are_lease_checked(make_cache, backend):
    # @cached stores with tags (its function tag): a delete or a newer set
    # during the compute still refuses the outdated store.
    prefix = "lc%d:" % os.getpid()
    c = make_cache(prefix=prefix)
    other = c if backend == "memory" else make_cache(prefix=prefix)  # memory: one store per handle
    state = {"n": 0}

    @unicache.cached(ttl=60, cache=c, key="k")
    def deleted_meanwhile():
        state["n"] += 1
        other.delete("k")
        return "outdated"

    assert deleted_meanwhile() == "outdated"
    assert c.get("k") is None
    c.delete("k")

    @unicache.cached(ttl=60, cache=c, key="k", tags=["extra"])
    def overtaken():
        other.set("k", "newer")
        return "outdated"

    assert overtaken() == "newer"  # what the newer writer left wins
    assert c.get("k") == "newer"
    c.delete("k")

    @unicache.cached(ttl=60, cache=c, key="k", tags=["extra"])
    def fine():
        return "v"

    assert fine() == "v"
    c.invalidate_tags(["extra"])  # the tags went in with the lease-checked store
    assert c.get("k") is None


def test_cache_clear_drops_stale_results_too(make_cache):
    c = make_cache()
    calls = []

    @unicache.cached(ttl=0.2, cache=c, stale_ttl=30)
    def f():
        calls.append(1)
        return len(calls)

    assert f() == 1
    time.sleep(0.3)
    f.cache_clear()  # no stale copy survives the function's invalidation
    assert f() == 2
