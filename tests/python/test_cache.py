"""unicache.Cache: the Python API on every backend."""
import contextlib
import datetime
import json
import math
import os
import pickle
import sqlite3
import threading
import time

import pytest

import unicache
from unicache import _cache

from conftest import can_list_keys


def test_get_set_delete_exists(cache):
    assert cache.get("k") is None
    assert cache.get("k", "dflt") == "dflt"
    cache.set("k", {"a": [1, 2.5, None, True, "é"]})
    assert cache.get("k") == {"a": [1, 2.5, None, True, "é"]}
    assert cache.exists("k") is True
    assert cache.delete("k") is True
    assert cache.delete("k") is False
    assert cache.exists("k") is False


def test_cached_none_is_not_a_miss(cache):
    cache.set("n", None)
    sentinel = object()
    assert cache.get("n", sentinel) is None
    assert "n" in cache


def test_mapping_protocol(cache):
    cache["k"] = [1, 2]
    assert cache["k"] == [1, 2]
    assert "k" in cache
    assert "other" not in cache
    del cache["k"]
    with pytest.raises(KeyError) as info:
        cache["k"]
    assert info.value.args == ("k",)
    with pytest.raises(KeyError):
        del cache["k"]


def test_context_manager_closes(uri):
    with unicache.Cache(uri) as c:
        assert not c.closed
        assert c.backend in ("memory", "sqlite", "redis", "memcached", "tiered")
        assert repr(c).startswith("<unicache.Cache ")
    assert c.closed
    assert repr(c) == "<unicache.Cache closed>"


def test_cache_is_not_picklable(cache):
    import copy
    with pytest.raises(TypeError) as info:
        pickle.dumps(cache)
    assert "same URI" in str(info.value)
    with pytest.raises(TypeError):
        copy.copy(cache)


def test_password_never_in_repr_or_errors():
    try:
        c = unicache.Cache("redis://:s3cret-pw@127.0.0.1:1/0")
    except unicache.CacheError as e:
        assert "s3cret-pw" not in str(e)
        return
    with c:
        assert "s3cret-pw" not in repr(c)


def test_add(cache):
    assert cache.add("k", 1) is True
    assert cache.add("k", 2) is False
    assert cache.get("k") == 1


def test_counters(cache):
    assert cache.incr("c") == 1
    assert cache.incr("c", 10) == 11
    assert cache.decr("c") == 10
    assert cache.decr("c", 20) == -10
    # JSON numbers are counters: set() and incr() interoperate.
    cache.set("j", 41)
    assert cache.incr("j") == 42
    assert cache.get("j") == 42


def test_touch_ttl_expire_at(cache):
    assert cache.touch("missing", 10) is False
    assert cache.ttl("missing") is None
    cache.set("k", 1, ttl=100)
    assert 99 < cache.ttl("k") <= 100
    assert cache.touch("k", ttl=200) is True
    assert 199 < cache.ttl("k") <= 200
    assert cache.touch("k", unicache.FOREVER) is True
    assert cache.ttl("k") == math.inf
    when = datetime.datetime.now() + datetime.timedelta(seconds=300)
    assert cache.expire_at("k", when) is True
    assert 298 < cache.ttl("k") <= 300
    assert cache.expire_at("k", time.time() + 50) is True
    assert 48 < cache.ttl("k") <= 50
    assert cache.expire_at("k", time.time() - 10) is True
    assert cache.get("k") is None
    assert cache.expire_at("missing", time.time() + 5) is False
    with pytest.raises(TypeError):
        cache.expire_at("k", "tomorrow")
    with pytest.raises(unicache.InvalidArgument):
        cache.expire_at("k", math.nan)


def test_expiry_happens(cache, backend):
    cache.set("k", 1, ttl=0.2 if backend != "memcached" else 1)
    time.sleep(0.3 if backend != "memcached" else 2.1)
    assert cache.get("k") is None


def test_batches(cache):
    cache.set_many({"a": 1, "b": "two", "c": [3]}, ttl=60)
    cache.set_many([("d", 4)])
    assert cache.get_many(["a", "b", "c", "d", "zz"]) == {"a": 1, "b": "two", "c": [3], "d": 4}
    assert cache.get_many([]) == {}
    assert cache.delete_many(["a", "b", "zz"]) == 2
    assert cache.get_many(["a", "c"]) == {"c": [3]}
    with pytest.raises(TypeError):
        cache.set_many([("a",)])
    with pytest.raises(TypeError):
        cache.set_many(5)


def test_keys_and_patterns(cache, backend):
    for k in ("user:1", "user:2", "user:10", "post:1", "a*b"):
        cache.set(k, 1)
    if not can_list_keys(backend):
        with pytest.raises(unicache.NotSupported) as info:
            cache.keys()
        assert info.value.status == -5
        with pytest.raises(unicache.NotSupported):
            cache.delete_pattern("user:*")
        return
    assert sorted(cache.keys()) == ["a*b", "post:1", "user:1", "user:10", "user:2"]
    assert sorted(cache.keys("user:?")) == ["user:1", "user:2"]
    assert sorted(cache.keys("user:[12]*")) == ["user:1", "user:10", "user:2"]
    assert cache.keys("a\\*b") == ["a*b"]
    assert len(cache.keys("*", limit=2)) == 2
    with pytest.raises(unicache.InvalidArgument):
        cache.keys("[unclosed")
    assert cache.delete_pattern("user:*") == 3
    assert sorted(cache.keys()) == ["a*b", "post:1"]


def test_tags(cache):
    cache.set("a", 1, tags=["t1"])
    cache.set("b", 2, tags=("t1", "t2"))
    cache.set("c", 3, tags="t2")
    cache.set("d", 4)
    cache.invalidate_tags("t1")
    assert cache.get("a") is None and cache.get("b") is None
    assert cache.get("c") == 3 and cache.get("d") == 4
    cache.invalidate_tags(["t2"])
    assert cache.get("c") is None
    with pytest.raises(TypeError):
        cache.set("e", 1, tags=[5])


def test_clear_only_touches_own_prefix(make_cache):
    a = make_cache()
    b = make_cache()
    a.set("k", 1)
    b.set("k", 2)
    a.clear()
    assert a.get("k") is None
    assert b.get("k") == 2


def test_stats(cache, backend):
    cache.set("k", 1)
    cache.get("k")
    cache.get("missing")
    s = cache.stats()
    assert s["backend"] == backend
    assert s["hits"] >= 1 and s["misses"] >= 1 and s["sets"] >= 1
    assert 0 <= s["hit_ratio"] <= 1
    assert cache.ping() is True


# --------------------------------------------------------------- serializers

@pytest.mark.parametrize("serializer", ["json", "pickle", "msgpack"])
def test_serializers_round_trip(make_cache, serializer):
    c = make_cache(serializer=serializer)
    value = {"s": "é", "i": -5, "f": 1.5, "l": [1, None, True], "n": None}
    c.set("k", value)
    assert c.get("k") == value
    assert c.serializer == serializer


def test_pickle_keeps_python_types(make_cache):
    c = make_cache(serializer="pickle")
    c.set("k", {(1, 2): {3}})
    assert c.get("k") == {(1, 2): {3}}


def test_json_is_the_default_and_readable_elsewhere(make_cache):
    c = make_cache()
    assert c.serializer == "json"
    c.set("k", {"a": [1, "é"]})
    assert c._get_raw("k") == '{"a":[1,"é"]}'.encode()
    with pytest.raises(TypeError):
        c.set("k", object())  # not JSON: the json module says so
    with pytest.raises(ValueError):
        c.set("k", math.nan)  # strict JSON (other languages refuse NaN)


def test_custom_serializer_object(make_cache):
    class Upper:
        @staticmethod
        def dumps(v):
            return v.upper().encode()

        @staticmethod
        def loads(b):
            return b.decode().lower()

    c = make_cache(serializer=Upper)
    c.set("k", "abc")
    assert c._get_raw("k") == b"ABC"
    assert c.get("k") == "abc"

    class Bad:
        dumps = staticmethod(lambda v: 5)
        loads = staticmethod(lambda b: b)

    with pytest.raises(TypeError) as info:
        make_cache(serializer=Bad).set("k", 1)
    assert "dumps() returned int" in str(info.value)


def test_serializer_argument_errors(uri):
    with pytest.raises(unicache.InvalidArgument):
        unicache.Cache(uri, serializer="yaml")
    with pytest.raises(TypeError):
        unicache.Cache(uri, serializer=5)


def test_pickle_module_object_as_serializer(make_cache):
    c = make_cache(serializer=pickle)
    c.set("k", {1, 2})
    assert c.get("k") == {1, 2}


JSON_VALUES = ["", "plain", "é ü 漢字 🎉", 'quote"d', "back\\slash", "ctl\x01\n\t", "\u2028",
               "\x7f", 0, -1, 7, 2 ** 62, -2 ** 63, 2 ** 64, 10 ** 30, 1.5, -0.0, 1e300, 1e-7,
               0.1, True, False, None, [], {}, [1, "a"], {"k": {"n": None}}, "0", "01", "-"]


@pytest.mark.parametrize("value", JSON_VALUES, ids=range(len(JSON_VALUES)))
def test_json_fast_path_matches_json_module(raw, value):
    # The C fast path must write exactly what the json module writes, and
    # read back exactly what it reads.
    c = raw
    c._set_codec(_cache._JSON, _cache._json_encoder.encode, _cache._json_decoder.decode)
    expected = _cache._json_encoder.encode(value).encode()
    assert c._dumps(value) == expected
    back = c._loads(expected)
    assert back == value and type(back) is type(value)
    assert json.loads(expected) == value


@pytest.mark.parametrize("text", [b"01", b"-", b"1.", b"tru", b'"a', b'"\x01"', b"nul",
                                  b"\xff", b"", b"1 2"])
def test_json_refuses_what_json_refuses(cache, text):
    with pytest.raises(ValueError):
        cache._loads(text)


def test_json_whitespace_and_big_numbers_read_like_json(cache):
    assert cache._loads(b" 5 ") == 5
    assert cache._loads(b"123456789012345678901234") == 123456789012345678901234
    assert cache._loads(b'"\\u00e9"') == "é"


# ------------------------------------------------------------------ threads

def test_many_threads_one_cache(cache):
    errors = []

    def work(n):
        try:
            for i in range(200):
                key = "t%d-%d" % (n, i % 20)
                cache.set(key, i)
                assert cache.get(key) in range(200)
                cache.incr("shared")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.get("shared") == 8 * 200


def test_memory_backend_keeps_the_gil(make_cache, backend):
    # Releasing the GIL costs as much as a memory get; the wrapper only
    # does it for backends that can block.
    assert make_cache()._blocking() is (backend != "memory")


@contextlib.contextmanager
def waiting_call(backend, servers, uri, c):
    """Starts, in a thread, a call that has to wait (on a paused server or
    a locked database) until the block ends; yields the thread and a dict
    that receives the call's result."""
    c.set("k", "v")
    result = {}
    if backend == "sqlite":  # WAL readers never wait: take the write lock
        lock = sqlite3.connect(uri[len("sqlite://"):], timeout=10, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        release = lambda: (lock.execute("COMMIT"), lock.close())
        call = lambda: c.set("k", "v") or "v"  # set returns None when it worked
    else:
        server = servers("redis" if backend == "tiered" else backend)  # a write left no L1 copy
        server.pause()
        release = server.resume
        call = lambda: c.get("k")
    t = threading.Thread(target=lambda: result.setdefault("v", call()))
    try:
        t.start()
        time.sleep(0.05)  # the thread is now waiting
        assert t.is_alive()
        yield result
    finally:
        release()
        t.join(30)
    assert result.get("v") == "v"


def test_blocked_call_releases_the_gil(backend, servers, uri, make_cache):
    c = make_cache()
    if backend == "memory":
        assert not c._blocking()  # nothing to wait for: it keeps the GIL
        return
    with waiting_call(backend, servers, uri, c):
        started = time.monotonic()
        for _ in range(3):
            time.sleep(0.01)  # needs the GIL between sleeps
        assert time.monotonic() - started < 0.5


def test_close_while_another_thread_waits(backend, servers, uri, make_cache):
    c = make_cache()
    if backend == "memory":
        assert not c._blocking()
        return
    with waiting_call(backend, servers, uri, c):
        c.close()  # must not free the handle under the waiting thread
        assert c.closed
        with pytest.raises(unicache.InvalidArgument):
            c.get("k")


# ------------------------------------------------------------------ fork

def test_a_cache_opened_before_fork_works_in_parent_and_child(make_cache, backend):
    """A pre-forking server (gunicorn --preload): the app opens the cache,
    then workers fork and use it while the parent does too. Each process
    must read back its own writes, never the other's replies."""
    c = make_cache()
    c.set("warm", "up")  # connections exist before the fork

    def round_trips(who):
        wrong = 0
        for i in range(200):
            key = "%s:%d" % (who, i)
            c.set(key, {"who": who, "i": i})
            wrong += c.get(key) != {"who": who, "i": i}
        return wrong

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = min(round_trips("child"), 100)
        finally:
            os._exit(code)
    wrong = round_trips("parent")
    _, status = os.waitpid(pid, 0)
    if backend == "memory":
        # Memory is per process: the child's writes stay in the child.
        assert c.get("child:0") is None
    else:
        assert c.get("child:199") == {"who": "child", "i": 199}
    assert wrong == 0
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# ------------------------------------------------------------- default cache

def test_default_cache(monkeypatch):
    unicache.set_default_cache(None)
    monkeypatch.setenv("UNICACHE_URL", "memory://?max_items=10")
    c = unicache.default_cache()
    assert c is unicache.default_cache()
    assert c.backend == "memory"
    mine = unicache.Cache("memory://")
    unicache.set_default_cache(mine)
    assert unicache.default_cache() is mine
    with pytest.raises(TypeError):
        unicache.set_default_cache("memory://")
    unicache.set_default_cache(None)
    c.close()
    mine.close()
