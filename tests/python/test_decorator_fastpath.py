"""The C hit path of @cached and @memoize (unicache._fastpath) behaves as
the Python functions it replaced: methods, pickling by name, garbage
collection, reentrancy, and memoize's copies and table."""
import datetime
import gc
import pickle
import threading
import weakref

import pytest

import unicache

CACHE = unicache.Cache("memory://")


@unicache.cached(cache=CACHE)
def module_level(x):
    return x + 1


@unicache.memoize
def memo_level(x):
    return x * 2


def test_decorated_functions_pickle_and_copy_by_name():
    import copy

    assert pickle.loads(pickle.dumps(module_level)) is module_level
    assert pickle.loads(pickle.dumps(memo_level)) is memo_level
    assert copy.copy(module_level) is module_level and copy.deepcopy(memo_level) is memo_level


def test_cached_wrapper_is_collected_with_its_cycle():
    store = unicache.Cache("memory://")

    def make():
        @unicache.cached(cache=store)
        def f(x):
            return f.__name__ and x  # the closure refers to the wrapper: a cycle

        f(1)
        return weakref.ref(f)

    ref = make()
    gc.collect()
    assert ref() is None
    store.close()


def test_memoize_wrapper_is_collected_with_its_cycle():
    def make():
        @unicache.memoize
        def f(x):
            return f.__name__ and x

        f(1)
        return weakref.ref(f)

    ref = make()
    gc.collect()
    assert ref() is None


def test_positional_and_keyword_calls_share_one_entry():
    calls = []

    @unicache.memoize
    def f(a, b=2, *, c=3):
        calls.append(1)
        return a + b + c

    assert f(1) == f(1, 2) == f(a=1) == f(1, b=2, c=3) == f(c=3, b=2, a=1) == 6
    assert len(calls) == 1 and len(f.cache) == 1
    assert f(1.0) == 6.0 and f(True) == 6 and len(calls) == 3  # typed, as the key text is
    assert f.cache_delete(1) is True and f.cache_delete(a=1) is False
    f(1)
    assert len(calls) == 4


def test_memoize_immutable_results_are_shared_mutable_ones_copied():
    @unicache.memoize
    def f(kind):
        return {"tuple": (1, "a", (2.5, None)), "frozen": frozenset({1, 2}),
                "list": [1, [2]], "nested": (1, [2])}[kind]

    assert f("tuple") is f("tuple")
    assert f("frozen") is f("frozen")
    for kind in ("list", "nested"):
        first, second = f(kind), f(kind)
        assert first == second and first is not second


def test_memoize_unpicklable_mutable_result_raises():
    @unicache.memoize
    def f():
        return [threading.Lock()]

    with pytest.raises(TypeError):
        f()


def test_memoize_ttl_is_checked_when_decorating():
    with pytest.raises(unicache.InvalidArgument):
        unicache.memoize(ttl=0)
    with pytest.raises(unicache.InvalidArgument):
        unicache.memoize(ttl=-1)
    with pytest.raises(TypeError):
        unicache.memoize(ttl="10")
    unicache.memoize(ttl=datetime.timedelta(seconds=5))
    unicache.memoize(ttl=unicache.FOREVER)


def test_memoize_unbounded_and_lru_order():
    @unicache.memoize(maxsize=3)
    def f(x):
        return x

    for x in (1, 2, 3):
        f(x)
    f(1)  # 2 is now the least recently used
    f(4)
    assert len(f.cache) == 3
    assert f.cache.get((1,), None) == 1 and f.cache.get((2,), "gone") == "gone"

    @unicache.memoize(maxsize=None)
    def g(x):
        return x

    for x in range(1000):
        g(x)
    assert len(g.cache) == 1000
    g.cache_clear()
    assert len(g.cache) == 0


def test_reentrant_calls_keep_the_table_consistent():
    @unicache.memoize(maxsize=4)
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert fib(60) == 1548008755920
    assert len(fib.cache) == 4


def test_cached_methods_bind_like_functions():
    class Box:
        def __init__(self, n):
            self.n = n

        def __cache_key__(self):
            return "box%d" % self.n

        @unicache.cached(cache=CACHE)
        def size(self, scale=1):
            return self.n * scale

        @unicache.memoize
        def memo(self, scale=1):
            return self.n * scale

    a, b = Box(2), Box(3)
    assert a.size() == 2 and b.size(scale=2) == 6 and Box.size(a, 5) == 10
    assert a.memo() == 2 and b.memo(scale=2) == 6 and Box.memo(b) == 3
    assert getattr(a.size, "__self__") is a


def test_wrong_calls_raise_what_the_function_would():
    @unicache.cached(cache=CACHE)
    def f(a, b):
        return a

    @unicache.memoize
    def g(a, /, b):
        return a

    for call in (lambda: f(1), lambda: f(1, 2, 3), lambda: f(1, b=2, c=3), lambda: g(a=1, b=2),
                 lambda: f(1, a=2)):
        with pytest.raises(TypeError):
            call()


def test_many_parameters_take_the_python_path():
    names = ["p%d" % i for i in range(20)]
    namespace = {}
    exec("def wide(%s): return p0" % ", ".join(n + "=0" for n in names), namespace)
    wide = unicache.cached(cache=CACHE)(namespace["wide"])
    assert wide(p19=5) == 0
    assert wide.cache_key(p19=5).endswith(",p18=0,p19=5")


def test_exceptions_from_key_parts_and_getters_propagate():
    class Broken:
        def __cache_key__(self):
            raise RuntimeError("no key")

    @unicache.cached(cache=CACHE)
    def f(x):
        return 1

    with pytest.raises(RuntimeError):
        f(Broken())

    closed = unicache.Cache("memory://")
    closed.close()

    @unicache.cached(cache=closed)
    def g(x):
        return 1

    with pytest.raises(unicache.CacheError):
        g(1)
