"""Decorators on plain functions, async functions and methods."""
import asyncio
import functools
import inspect
import threading
import time

import pytest

import unicache
from conftest import can_list_keys


class Calls:
    """Counts calls, thread-safely."""

    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.n += 1


def run(coro):
    return asyncio.run(coro)


# ------------------------------------------------------------------- cached

def test_cached_sync(cache):
    calls = Calls()

    @unicache.cached(ttl=60, cache=cache)
    def add(x, y=10):
        """Adds."""
        calls()
        return x + y

    assert add(1) == 11
    assert add(1) == 11
    assert add(x=1) == 11 and add(1, 10) == 11  # same bound arguments, same key
    assert calls.n == 1
    assert add(2) == 12 and calls.n == 2
    assert add.__name__ == "add" and add.__doc__ == "Adds."
    assert add.__wrapped__.__name__ == "add"
    assert str(inspect.signature(add)) == "(x, y=10)"
    assert add.cache_key(1) == "test_decorators.test_cached_sync.<locals>.add:x=1,y=10"
    assert cache.get(add.cache_key(1)) == 11
    assert 59 < cache.ttl(add.cache_key(1)) <= 60


def test_cached_bare_decorator_uses_default_cache():
    mine = unicache.Cache("memory://")
    unicache.set_default_cache(mine)
    try:
        @unicache.cached
        def f(x):
            return [x]

        assert f(1) == [1]
        assert mine.get(f.cache_key(1)) == [1]
    finally:
        unicache.set_default_cache(None)
        mine.close()


def test_cached_caches_none_results(cache):
    calls = Calls()

    @unicache.cached(cache=cache)
    def nothing():
        calls()

    assert nothing() is None and nothing() is None
    assert calls.n == 1


def test_cache_clear_and_cache_delete(cache):
    calls = Calls()

    @unicache.cached(cache=cache)
    def f(x):
        calls()
        return x

    @unicache.cached(cache=cache)
    def g(x):
        return -x

    f(1), f(2), g(1)
    assert calls.n == 2
    assert f.cache_delete(1) is True
    assert f.cache_delete(1) is False
    f(1)
    assert calls.n == 3
    f.cache_clear()  # every entry of f, and only f's
    assert cache.get(f.cache_key(2)) is None
    assert cache.get(g.cache_key(1)) == -1
    f(2)
    assert calls.n == 4


def test_key_template_and_key_builder(cache):
    @unicache.cached(key="user:{user_id}", cache=cache)
    def user(user_id, verbose=False):
        return {"id": user_id}

    @unicache.cached(key_builder=lambda a, b: "sum:%d" % (a + b), cache=cache)
    def add(a, b):
        return a + b

    user(7)
    assert cache.get("user:7") == {"id": 7}
    assert user.cache_key(7) == "user:7"
    add(1, 2)
    assert cache.get("sum:3") == 3
    with pytest.raises(TypeError):
        unicache.cached(key=5)
    with pytest.raises(TypeError):
        unicache.cached(key="a", key_builder=lambda: "b")

    @unicache.cached(key_builder=lambda: 5, cache=cache)
    def bad():
        return 1

    with pytest.raises(TypeError):
        bad()


def test_unless_bypasses_the_cache(cache):
    calls = Calls()

    @unicache.cached(cache=cache, unless=lambda x: x < 0)
    def f(x):
        calls()
        return x

    f(-1), f(-1)
    assert calls.n == 2
    assert cache.get(f.cache_key(-1)) is None
    f(1), f(1)
    assert calls.n == 3


def test_tags_templates(cache):
    @unicache.cached(cache=cache, tags=["user:{uid}", lambda uid: "all-users"])
    def profile(uid):
        return {"uid": uid}

    profile(1), profile(2)
    cache.invalidate_tags("user:1")
    assert cache.get(profile.cache_key(1)) is None
    assert cache.get(profile.cache_key(2)) == {"uid": 2}
    cache.invalidate_tags("all-users")
    assert cache.get(profile.cache_key(2)) is None


def test_long_arguments_are_hashed(cache):
    @unicache.cached(cache=cache)
    def f(text):
        return len(text)

    key = f.cache_key("x" * 1000)
    assert len(key) < 200 and ":#" in key
    assert f("x" * 1000) == 1000
    assert cache.get(key) == 1000


def test_argument_without_stable_repr_is_refused(cache):
    class Opaque:
        pass

    class Keyed:
        def __init__(self, n):
            self.n = n

        def __cache_key__(self):
            return "Keyed(%d)" % self.n

    @unicache.cached(cache=cache)
    def f(obj):
        return 1

    with pytest.raises(TypeError) as info:
        f(Opaque())
    assert "__cache_key__" in str(info.value)
    assert f.cache_key(Keyed(3)).endswith("obj=Keyed(3)")
    assert f.cache_key({"b": 1, "a": [1, (2,)]}) == f.cache_key({"a": [1, (2,)], "b": 1})


def test_results_go_through_the_serializer(make_cache):
    json_cache = make_cache()

    @unicache.cached(cache=json_cache)
    def f():
        return object()

    with pytest.raises(TypeError):
        f()

    pickled = make_cache(serializer="pickle")

    @unicache.cached(cache=pickled)
    def g():
        return {1, 2}

    assert g() == {1, 2} and g() == {1, 2}


def test_methods_classmethods_staticmethods(cache):
    calls = Calls()

    class Repo:
        def __init__(self, name):
            self.name = name

        def __cache_key__(self):
            return self.name

        @unicache.cached(cache=cache)
        def find(self, item):
            calls()
            return "%s/%s" % (self.name, item)

        @unicache.cached(cache=cache)
        @classmethod
        def kind(cls, x):
            calls()
            return "%s:%s" % (cls.__name__, x)

        @unicache.cached(cache=cache)
        @staticmethod
        def double(x):
            calls()
            return 2 * x

    a, b = Repo("a"), Repo("b")
    assert a.find(1) == "a/1" and a.find(1) == "a/1"
    assert b.find(1) == "b/1"
    assert calls.n == 2
    assert Repo.kind(1) == "Repo:1" and a.kind(1) == "Repo:1"
    assert Repo.double(4) == 8 and a.double(4) == 8
    assert calls.n == 4
    assert Repo.find.cache_key(a, 1).endswith("self=a,item=1")
    assert Repo.find.__name__ == "find"


def test_generators_are_refused():
    with pytest.raises(TypeError):
        @unicache.cached(cache=None)
        def gen():
            yield 1


def test_cache_argument_checked():
    with pytest.raises(TypeError):
        unicache.cached(cache="memory://")
    with pytest.raises(TypeError):
        unicache.cached(unless=5)


def test_cache_callable_is_resolved_per_call(cache):
    @unicache.cached(cache=lambda: cache)
    def f():
        return 5

    assert f() == 5
    assert cache.get(f.cache_key()) == 5

    @unicache.cached(cache=lambda: "nope")
    def g():
        return 1

    with pytest.raises(TypeError):
        g()


def test_single_flight_threads(cache):
    calls = Calls()
    gate = threading.Event()

    @unicache.cached(cache=cache)
    def slow(x):
        calls()
        gate.wait(5)
        return x * 2

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(21))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join()
    assert results == [42] * 8
    assert calls.n == 1


def test_single_flight_shares_the_exception(cache):
    calls = Calls()
    gate = threading.Event()

    @unicache.cached(cache=cache)
    def failing():
        calls()
        gate.wait(5)
        raise KeyError("boom")

    errors = []

    def call():
        try:
            failing()
        except KeyError as e:
            errors.append(e)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # every thread is waiting on the first one
    gate.set()
    for t in threads:
        t.join()
    assert len(errors) == 4 and calls.n == 1
    assert cache.get(failing.cache_key()) is None  # failures are not cached
    gate.clear()
    threading.Timer(0.05, gate.set).start()
    with pytest.raises(KeyError):
        failing()
    assert calls.n == 2


# -------------------------------------------------------------------- async

def test_cached_async(cache):
    calls = Calls()

    @unicache.cached(ttl=30, cache=cache)
    async def fetch(x):
        """Fetches."""
        calls()
        await asyncio.sleep(0.01)
        return {"x": x}

    assert inspect.iscoroutinefunction(fetch)
    assert fetch.__doc__ == "Fetches."

    async def main():
        first = await fetch(1)
        again = await fetch(1)
        together = await asyncio.gather(*(fetch(2) for _ in range(10)))
        return first, again, together

    first, again, together = run(main())
    assert first == again == {"x": 1}
    assert together == [{"x": 2}] * 10
    assert calls.n == 2  # single flight: ten concurrent fetch(2), one call
    fetch.cache_clear()
    run(fetch(1))
    assert calls.n == 3


def test_async_single_flight_survives_a_cancelled_leader(cache):
    calls = Calls()
    release = {}

    @unicache.cached(cache=cache)
    async def slow():
        calls()
        await release["event"].wait()
        return "done"

    async def until(condition):
        # Bounded: a loaded machine may take a while to schedule a task.
        for _ in range(1000):
            if condition():
                return
            await asyncio.sleep(0.005)

    async def main():
        release["event"] = asyncio.Event()
        leader = asyncio.ensure_future(slow())
        await until(lambda: calls.n == 1)
        follower = asyncio.ensure_future(slow())
        await asyncio.sleep(0.05)
        assert calls.n == 1  # the follower waits for the leader
        leader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leader
        await until(lambda: calls.n == 2)  # the follower takes over
        release["event"].set()
        return await follower

    assert run(main()) == "done"
    assert calls.n == 2


def test_async_exception_not_cached(cache):
    @unicache.cached(cache=cache)
    async def bad():
        raise ValueError("no")

    with pytest.raises(ValueError):
        run(bad())
    assert cache.get(bad.cache_key()) is None


def test_async_method(cache):
    class Svc:
        def __cache_key__(self):
            return "svc"

        @unicache.cached(cache=cache)
        async def get(self, n):
            return n + 1

    assert run(Svc().get(1)) == 2
    assert cache.get(Svc.get.cache_key(Svc(), 1)) == 2


# ------------------------------------------------------------------ memoize

def test_memoize():
    calls = Calls()

    @unicache.memoize(maxsize=2)
    def square(x):
        calls()
        return [x * x]

    assert square(2) == [4] and square(2) == [4]
    assert calls.n == 1
    result = square(2)
    result.append("mutated")
    assert square(2) == [4]  # hits are copies
    square(3), square(4)  # 2 is least recently used now: evicted
    square(2)
    assert calls.n == 4
    square.cache_clear()
    square(4)
    assert calls.n == 5
    assert square.cache.backend == "memory"


def test_memoize_ttl_and_async():
    calls = Calls()

    @unicache.memoize(ttl=0.1)
    async def f(x):
        calls()
        return x

    assert run(f(1)) == 1 and run(f(1)) == 1
    assert calls.n == 1
    time.sleep(0.15)
    run(f(1))
    assert calls.n == 2


def test_memoize_bare_and_arguments():
    @unicache.memoize
    def f(x):
        return x

    assert f(3) == 3
    with pytest.raises(ValueError):
        unicache.memoize(maxsize=0)
    with pytest.raises(TypeError):
        unicache.memoize(maxsize="10")


# ---------------------------------------------------------- cached_property

def test_cached_property_local_with_ttl():
    calls = Calls()

    class Report:
        @unicache.cached_property(ttl=0.1)
        def total(self):
            """The total."""
            calls()
            return 42

    r = Report()
    assert r.total == 42 and r.total == 42
    assert calls.n == 1
    assert Report.total.__doc__ == "The total."
    assert Report().total == 42 and calls.n == 2  # per instance
    time.sleep(0.15)
    assert r.total == 42 and calls.n == 3
    del r.total
    assert r.total == 42 and calls.n == 4
    r.total = 7
    assert r.total == 7


def test_cached_property_shared_through_the_cache(cache):
    calls = Calls()

    class User:
        def __init__(self, uid):
            self.uid = uid

        def __cache_key__(self):
            return str(self.uid)

        @unicache.cached_property(ttl=60, cache=cache)
        def profile(self):
            calls()
            return {"uid": self.uid}

    assert User(1).profile == {"uid": 1}
    assert User(1).profile == {"uid": 1}  # another instance, same identity
    assert calls.n == 1
    key = "test_decorators.test_cached_property_shared_through_the_cache.<locals>.User.profile:1"
    assert cache.get(key) == {"uid": 1}
    del User(1).profile
    assert cache.get(key) is None


def test_cached_property_async_and_key(cache):
    calls = Calls()

    class Thing:
        @unicache.cached_property(key=lambda self: "thing", cache=cache)
        async def value(self):
            calls()
            return 5

    t = Thing()
    assert run(t.value) == 5
    assert run(Thing().value) == 5
    assert calls.n == 1
    with pytest.raises(TypeError):
        unicache.cached_property(ttl="x")


# ------------------------------------------------------------- invalidation

def test_cache_invalidate(cache):
    @unicache.cached(key="user:{uid}", cache=cache)
    def get_user(uid):
        return {"uid": uid}

    @unicache.cache_invalidate(keys="user:{uid}", cache=cache)
    def rename(uid, name):
        """Renames."""
        return name

    @unicache.cache_invalidate(keys=get_user.cache_key, cache=cache)
    def touch(uid):
        return uid

    get_user(1), get_user(2)
    assert rename(1, "x") == "x"
    assert rename.__doc__ == "Renames."
    assert cache.get("user:1") is None and cache.get("user:2") == {"uid": 2}
    touch(2)
    assert cache.get("user:2") is None


def test_cache_invalidate_callable_list_and_failure(cache):
    cache.set("a", 1)
    cache.set("b", 2)

    @unicache.cache_invalidate(keys=lambda x: ["a", "b"], cache=cache)
    def both(x):
        if x:
            raise RuntimeError("failed")

    with pytest.raises(RuntimeError):
        both(True)
    assert cache.get("a") == 1  # not evicted: the function failed
    both(False)
    assert cache.get("a") is None and cache.get("b") is None


def test_cache_invalidate_pattern(cache, backend):
    for k in ("user:1:a", "user:1:b", "user:2:a"):
        cache.set(k, 1)

    @unicache.cache_invalidate_pattern("user:{uid}:*", cache=cache)
    def purge(uid):
        return uid

    if not can_list_keys(backend):
        with pytest.raises(unicache.NotSupported):
            purge(1)
        return
    purge(1)
    assert sorted(cache.keys()) == ["user:2:a"]


def test_cache_evict_before_and_async(cache):
    seen = []

    @unicache.cache_evict(key="k", before=True, cache=cache)
    def reader():
        seen.append(cache.get("k"))

    cache.set("k", 1)
    reader()
    assert seen == [None]

    @unicache.cache_evict(key=["k", "{name}"], tags="t", cache=cache)
    async def writer(name):
        return name

    cache.set("k", 1)
    cache.set("other", 2)
    cache.set("tagged", 3, tags=["t"])
    assert run(writer("other")) == "other"
    assert cache.get("k") is None and cache.get("other") is None
    assert cache.get("tagged") is None
    assert inspect.iscoroutinefunction(writer)


def test_eviction_argument_errors():
    with pytest.raises(TypeError):
        unicache.cache_evict()
    with pytest.raises(TypeError):
        unicache.cache_evict(key=5)
    with pytest.raises(TypeError):
        unicache.cache_invalidate(keys=[1])
    with pytest.raises(TypeError):
        unicache.cache_invalidate(None)


def test_wraps_keeps_everything_on_all_decorators(cache):
    def original(a, *, b=1):
        """Doc."""
        return a

    original.custom = "attr"
    for deco in (unicache.cached(cache=cache), unicache.memoize(),
                 unicache.cache_invalidate("x", cache=cache),
                 unicache.cache_evict(pattern="x*", cache=cache)):
        wrapped = deco(original)
        assert wrapped.__name__ == "original" and wrapped.__doc__ == "Doc."
        assert wrapped.__wrapped__ is original and wrapped.custom == "attr"
        assert inspect.signature(wrapped) == inspect.signature(original)
        assert functools.WRAPPER_ASSIGNMENTS
