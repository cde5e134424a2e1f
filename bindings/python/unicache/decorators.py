"""Caching decorators.

cached, memoize and cached_property store results; cache_invalidate,
cache_invalidate_pattern and cache_evict remove entries when a function
runs. All of them work on plain functions, ``async def`` functions and
methods, and keep the function's metadata (functools.wraps), so
frameworks that look at signatures or ``inspect.iscoroutinefunction`` see
the original.

Keys. By default a cached function's key is ``"<module>.<qualname>:"``
followed by its arguments, bound to the signature (so ``f(1)`` and
``f(x=1)`` share an entry) and written with repr(). Arguments whose repr is
the default ``<Foo object at 0x...>`` cannot be part of a key (it would
change every run): give their class a ``__cache_key__()`` method, or pass
``key="user:{user_id}"`` (a str.format template over the arguments by
name) or ``key_builder=callable(*args, **kwargs)``. Keys longer than 200
characters are shortened to a SHA-256 of the arguments. The exact rules
are in unicache._keys; they are a stored format and do not change.

Single flight. Concurrent callers of one cached function with the same
key, in the same process, compute the value once: the first caller runs
the function, the others wait for its result (or its exception).

Async functions. With the memory backend the cache is called directly;
other backends are called in the event loop's default executor so that a
slow server never stalls the loop.

Where the parts live: _keys (key rules), _flight (single flight), _fetch
(read-through, sync and async), _property (cached_property), _evict (the
invalidating decorators), _fastpath (the hit path of cached and memoize,
in C). This module holds cached and memoize.
"""
import functools
import inspect
import math
import pickle

from . import _fastpath
from ._cache import Cache, FOREVER
from ._evict import cache_evict, cache_invalidate, cache_invalidate_pattern
from ._fetch import MISSING, check_cache_arg, compute_missing, fetch, fetch_async, resolve
from ._flight import SingleFlight
from ._keys import KeySpec, check_key_args, check_spec
from ._lease import settings as stampede_settings
from ._property import cached_property
from ._shapes import check_plain_function, is_ttl, split_method_wrapper
from ._unicache import InvalidArgument

__all__ = [
    "cache_evict",
    "cache_invalidate",
    "cache_invalidate_pattern",
    "cached",
    "cached_property",
    "memoize",
]

_FUNCTION_TAG = "unicache.fn:"

for _f in (cache_evict, cache_invalidate, cache_invalidate_pattern):
    _f.__module__ = __name__  # their documented home


# ------------------------------------------------------------------ cached

def _make_cached(func, *, ttl, keyspec, unless, tags, cache, opts):
    flights = SingleFlight()
    function_tag = _FUNCTION_TAG + keyspec.name
    maker = keyspec.maker

    def entry_tags(args, kwargs):
        out = [function_tag]
        out.extend(keyspec.expand(tags, args, kwargs))
        return out

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            if unless is not None and unless(*args, **kwargs):
                return await func(*args, **kwargs)
            return await fetch_async(resolve(cache), maker(*args, **kwargs), flights,
                                     lambda: func(*args, **kwargs), ttl,
                                     lambda: entry_tags(args, kwargs), opts)
    elif opts.early:
        # Every call reads through the lease (a hit may refresh early):
        # no C hit path.
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if unless is not None and unless(*args, **kwargs):
                return func(*args, **kwargs)
            return fetch(resolve(cache), maker(*args, **kwargs), flights,
                         lambda: func(*args, **kwargs), ttl, lambda: entry_tags(args, kwargs),
                         opts)
    else:
        def miss(c, key, args, kwargs):
            return compute_missing(c, key, flights, lambda: func(*args, **kwargs), ttl,
                                   lambda: entry_tags(args, kwargs), opts)

        # The hit path in C: key, cache.get, return (a miss calls miss()).
        wrapper = _fastpath.CachedCall(func, maker, cache if isinstance(cache, Cache) else None,
                                       lambda: resolve(cache), unless, miss, MISSING)
        functools.update_wrapper(wrapper, func)

    def cache_key(*args, **kwargs):
        """The cache key a call with these arguments uses."""
        return maker(*args, **kwargs)

    def cache_delete(*args, **kwargs):
        """Forget the cached result for these arguments; True if there was one."""
        return resolve(cache).delete(maker(*args, **kwargs))

    def cache_clear():
        """Forget every cached result of this function."""
        resolve(cache).invalidate_tags([function_tag])

    wrapper.cache_key = cache_key
    wrapper.cache_delete = cache_delete
    wrapper.cache_clear = cache_clear
    wrapper.cache_tag = function_tag
    return wrapper


def cached(ttl=None, *, key=None, key_builder=None, unless=None, tags=None, cache=None,
           stale_ttl=None, early_refresh=None, lock=None):
    """Cache a function's results in a unicache.Cache.

    ttl: seconds (None: the cache's default; FOREVER: never expires).
    key: a str.format template over the arguments ("user:{user_id}").
    key_builder: callable(*args, **kwargs) returning the key.
    unless: callable(*args, **kwargs); when it returns true the call skips
        the cache entirely (no read, no write).
    tags: tag templates or a callable(*args, **kwargs) returning tags; every
        entry also carries the tag "unicache.fn:<module>.<qualname>", which
        cache_clear() invalidates.
    cache: a Cache, a callable returning one, or None for default_cache().
    stale_ttl: seconds after expiry during which callers get the old
        result at once while one caller (in any process) recomputes it
        (stale-while-revalidate); None: the cache's stale_ttl.
    early_refresh: XFetch's beta (0 to 100; 1 is the paper's): a hit
        recomputes before expiry with a probability that grows as expiry
        nears, one caller at a time; every call then reads through the
        core's lease instead of the C hit path. None: the cache's.
    lock: seconds a caller waits for another caller's result before it
        computes itself (without storing); None: the cache's lock_timeout.
    These three are per decorator: the stale window is written with each
    result, so decorators with different ones can share one cache.

    The decorated function gains cache_key(*args, **kwargs),
    cache_delete(*args, **kwargs) and cache_clear(). Results go through the
    cache's serializer (JSON by default: results must be JSON values).
    Use as @cached, @cached(), or @cached(ttl=60, ...).
    """
    if not is_ttl(ttl) and callable(ttl):
        return cached()(ttl)
    check_cache_arg(cache)
    check_key_args(key, key_builder)
    if unless is not None and not callable(unless):
        raise TypeError("unless must be callable(*args, **kwargs)")
    check_spec(tags, "tags")
    opts = stampede_settings(stale_ttl, early_refresh, lock)

    def decorate(func):
        func, rewrap = split_method_wrapper(func)
        check_plain_function(func, "cached")
        wrapper = _make_cached(func, ttl=ttl, keyspec=KeySpec(func, key, key_builder),
                               unless=unless, tags=tags, cache=cache, opts=opts)
        return rewrap(wrapper) if rewrap else wrapper

    return decorate


# ----------------------------------------------------------------- memoize

def _memo_ttl(ttl):
    """A memoize ttl in seconds, 0 for never (checked when decorating)."""
    if ttl is None or ttl is FOREVER:
        return 0.0
    if isinstance(ttl, bool) or not is_ttl(ttl):
        raise TypeError("ttl must be a number of seconds, a timedelta, None or FOREVER, not %s"
                        % type(ttl).__name__)
    seconds = float(ttl.total_seconds() if hasattr(ttl, "total_seconds") else ttl)
    if seconds == math.inf:
        return 0.0
    if not seconds > 0:
        raise InvalidArgument("invalid argument: ttl must be > 0 seconds; give None or "
                              "FOREVER for no expiry")
    return seconds


def memoize(maxsize=128, ttl=None):
    """Cache results in this process only, like functools.lru_cache, but
    with an optional TTL (seconds) and single-flight calls.

    Entries live in a table of this process (wrapper.cache: len(), clear(),
    backend "memory") of at most maxsize entries (least recently used go
    first; None: unbounded). A hit never hands out an object another caller
    can change: results of immutable types (None, bool, int, float,
    complex, str, bytes, and tuples and frozensets of those) are returned
    as they are; others are kept pickled and each hit is a fresh copy
    (pickle is safe here: only this process writes the table).
    """
    if callable(maxsize) and not isinstance(maxsize, int):
        return memoize()(maxsize)
    if maxsize is not None and (isinstance(maxsize, bool) or not isinstance(maxsize, int)):
        raise TypeError("maxsize must be an int or None")
    if maxsize is not None and maxsize < 1:
        raise ValueError("maxsize must be >= 1 (or None for no limit)")
    seconds = _memo_ttl(ttl)

    def decorate(func):
        func, rewrap = split_method_wrapper(func)
        check_plain_function(func, "memoize")
        table = _fastpath.MemoTable(maxsize, seconds,
                                    functools.partial(pickle.dumps,
                                                      protocol=pickle.HIGHEST_PROTOCOL),
                                    pickle.loads)
        wrapper = _make_memoized(func, KeySpec(func), table)
        return rewrap(wrapper) if rewrap else wrapper

    return decorate


def _make_memoized(func, keyspec, table):
    flights = SingleFlight()
    maker = keyspec.maker
    table_key = maker.table_key

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            key = table_key(*args, **kwargs)
            value = table.get(key, MISSING)
            if value is not MISSING:
                return value

            async def compute():
                value = table.get(key, MISSING)
                if value is MISSING:
                    value = await func(*args, **kwargs)
                    table.store(key, value)
                return value

            return await flights.run_async(key, compute)
    else:
        def miss(key, args, kwargs):
            def compute():
                value = table.get(key, MISSING)
                if value is MISSING:
                    value = func(*args, **kwargs)
                    table.store(key, value)
                return value

            return flights.run(key, compute)

        wrapper = _fastpath.MemoCall(func, maker, table, miss)
        functools.update_wrapper(wrapper, func)

    def cache_key(*args, **kwargs):
        """The key a call with these arguments has (the same text @cached
        would use; the table itself may key it more compactly)."""
        return maker(*args, **kwargs)

    def cache_delete(*args, **kwargs):
        """Forget the result for these arguments; True if there was one."""
        return table.delete(table_key(*args, **kwargs))

    wrapper.cache_key = cache_key
    wrapper.cache_delete = cache_delete
    wrapper.cache_clear = table.clear
    wrapper.cache_tag = None
    wrapper.cache = table
    return wrapper
