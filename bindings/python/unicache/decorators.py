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
characters are shortened to a SHA-256 of the arguments.

Single flight. Concurrent callers of one cached function with the same
key, in the same process, compute the value once: the first caller runs
the function, the others wait for its result (or its exception).

Async functions. With the memory backend the cache is called directly;
other backends are called in the event loop's default executor so that a
slow server never stalls the loop.
"""
import asyncio
import functools
import hashlib
import inspect
import threading
import time

from ._cache import Cache, _key_list, call_async, default_cache

__all__ = [
    "cache_evict",
    "cache_invalidate",
    "cache_invalidate_pattern",
    "cached",
    "cached_property",
    "memoize",
]

_MISSING = object()
_MAX_KEY = 200
_FUNCTION_TAG = "unicache.fn:"


# ----------------------------------------------------------------- helpers

def _check_cache_arg(cache):
    if cache is not None and not isinstance(cache, Cache) and not callable(cache):
        raise TypeError("cache must be a unicache.Cache, a callable returning one, or None "
                        "(the default cache), not %s" % type(cache).__name__)


def _resolve(cache):
    if cache is None:
        return default_cache()
    if isinstance(cache, Cache):
        return cache
    c = cache()
    if not isinstance(c, Cache):
        raise TypeError("the cache callable returned %s, not a unicache.Cache"
                        % type(c).__name__)
    return c


def _key_part(value):
    """A stable text for one argument value (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    method = getattr(type(value), "__cache_key__", None)
    if method is not None:
        return str(method(value))
    if isinstance(value, (tuple, list)):
        inner = ",".join(_key_part(v) for v in value)
        return "(%s)" % inner if isinstance(value, tuple) else "[%s]" % inner
    if isinstance(value, (set, frozenset)):
        return "{%s}" % ",".join(sorted(_key_part(v) for v in value))
    if isinstance(value, dict):
        items = sorted((_key_part(k), _key_part(v)) for k, v in value.items())
        return "{%s}" % ",".join("%s:%s" % kv for kv in items)
    if type(value).__repr__ is object.__repr__:
        raise TypeError("cannot build a cache key from a %s: its repr() changes every run; "
                        "give the class a __cache_key__() method or pass key=/key_builder="
                        % type(value).__qualname__)
    return repr(value)


def _qualified_name(func):
    return "%s.%s" % (func.__module__, func.__qualname__)


def _check_key_args(key, key_builder):
    if key is not None and key_builder is not None:
        raise TypeError("give key= or key_builder=, not both")
    if key is not None and not isinstance(key, str):
        raise TypeError("key must be a str template such as 'user:{user_id}', not %s; "
                        "use key_builder= for a callable" % type(key).__name__)
    if key_builder is not None and not callable(key_builder):
        raise TypeError("key_builder must be callable")


class _KeySpec:
    """How a decorated function's arguments become a cache key."""

    def __init__(self, func, key=None, key_builder=None):
        _check_key_args(key, key_builder)
        self.name = _qualified_name(func)
        self.signature = inspect.signature(func)
        self.template = key
        self.builder = key_builder

    def arguments(self, args, kwargs):
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.arguments

    def __call__(self, args, kwargs):
        if self.builder is not None:
            key = self.builder(*args, **kwargs)
            if not isinstance(key, (str, bytes)):
                raise TypeError("key_builder returned %s, not str or bytes"
                                % type(key).__name__)
            return key
        arguments = self.arguments(args, kwargs)
        if self.template is not None:
            return self.template.format(**arguments)
        text = ",".join("%s=%s" % (n, _key_part(v)) for n, v in arguments.items())
        key = "%s:%s" % (self.name, text)
        if len(key) > _MAX_KEY:
            key = "%s:#%s" % (self.name, hashlib.sha256(text.encode("utf-8", "surrogatepass"))
                              .hexdigest())
        return key

    def expand(self, spec, args, kwargs):
        """Keys, patterns or tags from a spec: None, a str template, a
        callable(*args, **kwargs) returning one or many, or a list of those."""
        if spec is None:
            return []
        if isinstance(spec, (str, bytes)) or callable(spec):
            spec = [spec]
        out = []
        arguments = None
        for item in spec:
            if isinstance(item, str):
                if "{" in item:
                    if arguments is None:
                        arguments = self.arguments(args, kwargs)
                    item = item.format(**arguments)
                out.append(item)
            elif isinstance(item, bytes):
                out.append(item)
            elif callable(item):
                out.extend(_key_list(item(*args, **kwargs), "the callable's result"))
            else:
                raise TypeError("expected a str template, bytes or a callable, not %s"
                                % type(item).__name__)
        return out


def _check_spec(spec, what):
    if spec is None or isinstance(spec, (str, bytes)) or callable(spec):
        return
    try:
        items = list(spec)
    except TypeError:
        raise TypeError("%s must be a str, a callable or a list of those, not %s"
                        % (what, type(spec).__name__)) from None
    for item in items:
        if not isinstance(item, (str, bytes)) and not callable(item):
            raise TypeError("%s must be a str, a callable or a list of those; got a %s in it"
                            % (what, type(item).__name__))


class _SingleFlight:
    """One computation per key at a time; the others wait for its outcome."""

    class _Call:
        __slots__ = ("done", "value", "error")

        def __init__(self):
            self.done = threading.Event()
            self.value = None
            self.error = None

    def __init__(self):
        self._lock = threading.Lock()
        self._calls = {}
        self._futures = {}

    def run(self, key, compute):
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = self._calls[key] = self._Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.value
        try:
            call.value = compute()
            return call.value
        except BaseException as e:
            call.error = e
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()

    async def run_async(self, key, compute):
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        while True:
            future = self._futures.get(slot)
            if future is None:
                break
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                # The leader was cancelled (not us): compute it ourselves.
                if future.cancelled() and not asyncio.current_task().cancelling():
                    continue
                raise
        future = self._futures[slot] = loop.create_future()
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._futures[slot]


def _split_method_wrapper(func):
    """(function, rewrap) for classmethod/staticmethod objects."""
    if isinstance(func, (classmethod, staticmethod)):
        kind = type(func)
        return func.__func__, kind
    return func, None


def _check_plain_function(func, decorator):
    if not callable(func):
        raise TypeError("@%s decorates a function, not %s" % (decorator, type(func).__name__))
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError("@%s cannot cache a generator function (%s): its result is consumed "
                        "once" % (decorator, _qualified_name(func)))


def _is_ttl(value):
    return value is None or isinstance(value, (int, float)) or hasattr(value, "total_seconds")


def _fetch(c, key, flights, produce, ttl, tags=None):
    """The cached value of key, else produce()'s, stored with ttl and
    tags() (a callable, evaluated only when storing); one producer per key
    at a time in this process."""
    value = c.get(key, _MISSING)
    if value is not _MISSING:
        return value

    def compute():
        value = c.get(key, _MISSING)  # another caller may have stored it meanwhile
        if value is _MISSING:
            value = produce()
            c.set(key, value, ttl, tags=tags() if tags else None)
        return value

    return flights.run((c, key), compute)


async def _fetch_async(c, key, flights, produce, ttl, tags=None):
    """_fetch for coroutines: produce() returns an awaitable."""
    value = await call_async(c, c.get, key, _MISSING)
    if value is not _MISSING:
        return value

    async def compute():
        value = await call_async(c, c.get, key, _MISSING)
        if value is _MISSING:
            value = await produce()
            await call_async(c, c.set, key, value, ttl, tags=tags() if tags else None)
        return value

    return await flights.run_async((c, key), compute)


# ------------------------------------------------------------------ cached

def _make_cached(func, *, ttl, keyspec, unless, tags, cache, tag_entries, clear):
    flights = _SingleFlight()
    function_tag = _FUNCTION_TAG + keyspec.name

    def entry_tags(args, kwargs):
        out = [function_tag] if tag_entries else []
        out.extend(keyspec.expand(tags, args, kwargs))
        return out or None

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            if unless is not None and unless(*args, **kwargs):
                return await func(*args, **kwargs)
            return await _fetch_async(_resolve(cache), keyspec(args, kwargs), flights,
                                      lambda: func(*args, **kwargs), ttl,
                                      lambda: entry_tags(args, kwargs))
    else:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if unless is not None and unless(*args, **kwargs):
                return func(*args, **kwargs)
            return _fetch(_resolve(cache), keyspec(args, kwargs), flights,
                          lambda: func(*args, **kwargs), ttl, lambda: entry_tags(args, kwargs))

    def cache_key(*args, **kwargs):
        """The cache key a call with these arguments uses."""
        return keyspec(args, kwargs)

    def cache_delete(*args, **kwargs):
        """Forget the cached result for these arguments; True if there was one."""
        return _resolve(cache).delete(keyspec(args, kwargs))

    def cache_clear():
        """Forget every cached result of this function."""
        if clear is not None:
            clear()
        else:
            _resolve(cache).invalidate_tags([function_tag])

    wrapper.cache_key = cache_key
    wrapper.cache_delete = cache_delete
    wrapper.cache_clear = cache_clear
    wrapper.cache_tag = function_tag if tag_entries else None
    return wrapper


def cached(ttl=None, *, key=None, key_builder=None, unless=None, tags=None, cache=None):
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

    The decorated function gains cache_key(*args, **kwargs),
    cache_delete(*args, **kwargs) and cache_clear(). Results go through the
    cache's serializer (JSON by default: results must be JSON values).
    Use as @cached, @cached(), or @cached(ttl=60, ...).
    """
    if not _is_ttl(ttl) and callable(ttl):
        return cached()(ttl)
    _check_cache_arg(cache)
    _check_key_args(key, key_builder)
    if unless is not None and not callable(unless):
        raise TypeError("unless must be callable(*args, **kwargs)")
    _check_spec(tags, "tags")

    def decorate(func):
        func, rewrap = _split_method_wrapper(func)
        _check_plain_function(func, "cached")
        wrapper = _make_cached(func, ttl=ttl, keyspec=_KeySpec(func, key, key_builder),
                               unless=unless, tags=tags, cache=cache, tag_entries=True,
                               clear=None)
        return rewrap(wrapper) if rewrap else wrapper

    return decorate


def memoize(maxsize=128, ttl=None):
    """Cache results in this process only, like functools.lru_cache, but
    with an optional TTL (seconds) and single-flight calls.

    Entries live in a private memory cache of at most maxsize entries
    (least recently used go first; None: unbounded). Values are pickled:
    safe here because only this process ever writes that cache. A hit
    returns a fresh copy, so callers cannot mutate each other's results.
    """
    if callable(maxsize) and not isinstance(maxsize, int):
        return memoize()(maxsize)
    if maxsize is not None and (isinstance(maxsize, bool) or not isinstance(maxsize, int)):
        raise TypeError("maxsize must be an int or None")
    if maxsize is not None and maxsize < 1:
        raise ValueError("maxsize must be >= 1 (or None for no limit)")

    def decorate(func):
        func, rewrap = _split_method_wrapper(func)
        _check_plain_function(func, "memoize")
        uri = "memory://?expiry_interval_ms=0"
        if maxsize is not None:
            uri += "&policy=lru&max_items=%d" % maxsize
        store = Cache(uri, serializer="pickle")
        wrapper = _make_cached(func, ttl=ttl, keyspec=_KeySpec(func), unless=None, tags=None,
                               cache=store, tag_entries=False, clear=store.clear)
        wrapper.cache = store
        return rewrap(wrapper) if rewrap else wrapper

    return decorate


# ---------------------------------------------------------- cached_property

class cached_property:
    """A property computed once and kept for ttl seconds.

    Where the value lives: in the cache (shared with other processes and
    instances that have the same identity) when the instance has a
    __cache_key__() method or key= is given (callable(instance) -> str);
    otherwise in the instance itself, like functools.cached_property but
    expiring. ``del obj.attr`` forgets it; ``obj.attr = v`` stores v.
    An ``async def`` getter makes the attribute an awaitable.
    """

    def __init__(self, func=None, *, ttl=None, key=None, cache=None):
        if func is not None and not callable(func):
            # @cached_property(30): the first argument is the TTL.
            func, ttl = None, func
        if not _is_ttl(ttl):
            raise TypeError("ttl must be seconds, a timedelta, None or FOREVER")
        if key is not None and not callable(key):
            raise TypeError("key must be callable(instance) -> str")
        _check_cache_arg(cache)
        self.ttl = ttl
        self.key = key
        self.cache = cache
        self.func = None
        self.name = None
        if func is not None:
            self._bind(func)

    def _bind(self, func):
        _check_plain_function(func, "cached_property")
        self.func = func
        functools.update_wrapper(self, func)
        self._is_async = inspect.iscoroutinefunction(func)
        self._flights = _SingleFlight()

    def __call__(self, func):
        if self.func is not None:
            raise TypeError("cached_property is already bound to %s" % self.func.__qualname__)
        self._bind(func)
        return self

    def __set_name__(self, owner, name):
        self.name = name
        self.owner = owner

    def _slot(self):
        return "_unicache_property_" + self.name

    def _cache_key(self, obj):
        if self.key is not None:
            ident = self.key(obj)
        else:
            method = getattr(type(obj), "__cache_key__", None)
            if method is None:
                return None
            ident = method(obj)
        return "%s.%s.%s:%s" % (self.owner.__module__, self.owner.__qualname__, self.name, ident)

    def _ttl_seconds(self):
        ttl = self.ttl
        if ttl is None:
            return None
        return ttl.total_seconds() if hasattr(ttl, "total_seconds") else float(ttl)

    def _local_get(self, obj):
        entry = obj.__dict__.get(self._slot())
        if entry is None:
            return _MISSING
        value, expires = entry
        if expires is not None and time.monotonic() >= expires:
            return _MISSING
        return value

    def _local_set(self, obj, value):
        ttl = self._ttl_seconds()
        expires = None if ttl is None or ttl == float("inf") else time.monotonic() + ttl
        obj.__dict__[self._slot()] = (value, expires)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        if self.func is None:
            raise TypeError("cached_property has no getter")
        key = self._cache_key(obj)
        if self._is_async:
            return self._get_async(obj, key)
        if key is None:
            value = self._local_get(obj)
            if value is _MISSING:
                value = self._flights.run((id(obj), None), lambda: self._compute_local(obj))
            return value
        return _fetch(_resolve(self.cache), key, self._flights, lambda: self.func(obj), self.ttl)

    def _compute_local(self, obj):
        value = self._local_get(obj)
        if value is _MISSING:
            value = self.func(obj)
            self._local_set(obj, value)
        return value

    async def _get_async(self, obj, key):
        if key is None:
            value = self._local_get(obj)
            if value is not _MISSING:
                return value

            async def compute_local():
                value = self._local_get(obj)
                if value is _MISSING:
                    value = await self.func(obj)
                    self._local_set(obj, value)
                return value

            return await self._flights.run_async((id(obj), None), compute_local)
        return await _fetch_async(_resolve(self.cache), key, self._flights,
                                  lambda: self.func(obj), self.ttl)

    def __set__(self, obj, value):
        key = self._cache_key(obj)
        if key is None:
            self._local_set(obj, value)
        else:
            _resolve(self.cache).set(key, value, self.ttl)

    def __delete__(self, obj):
        key = self._cache_key(obj)
        if key is None:
            obj.__dict__.pop(self._slot(), None)
        else:
            _resolve(self.cache).delete(key)


# ------------------------------------------------------------ invalidation

def _make_evicting(func, *, keys, patterns, tags, before, cache, decorator):
    func, rewrap = _split_method_wrapper(func)
    _check_plain_function(func, decorator)
    spec = _KeySpec(func)

    def plan(args, kwargs):
        return (spec.expand(keys, args, kwargs), spec.expand(patterns, args, kwargs),
                spec.expand(tags, args, kwargs))

    def evict(c, planned):
        doomed, globs, names = planned
        if doomed:
            c.delete_many(doomed)
        for pattern in globs:
            c.delete_pattern(pattern)
        if names:
            c.invalidate_tags(names)

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            planned = plan(args, kwargs)
            c = _resolve(cache)
            if before:
                await call_async(c, evict, c, planned)
            result = await func(*args, **kwargs)
            if not before:
                await call_async(c, evict, c, planned)
            return result
    else:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            planned = plan(args, kwargs)
            c = _resolve(cache)
            if before:
                evict(c, planned)
            result = func(*args, **kwargs)
            if not before:
                evict(c, planned)
            return result

    return rewrap(wrapper) if rewrap else wrapper


def cache_evict(key=None, *, pattern=None, tags=None, before=False, cache=None):
    """Remove entries when the function runs: after it returns (not if it
    raises), or before it runs with before=True.

    key, pattern, tags: a str.format template over the arguments, a
    callable(*args, **kwargs) returning one or a list, or a list of those.
    A cached function's cache_key works as a callable:
    ``@cache_evict(key=get_user.cache_key)``. Patterns are globs (not
    supported on memcached: NotSupported).
    """
    for spec, what in ((key, "key"), (pattern, "pattern"), (tags, "tags")):
        _check_spec(spec, what)
    if key is None and pattern is None and tags is None:
        raise TypeError("cache_evict needs key=, pattern= or tags=")
    _check_cache_arg(cache)

    def decorate(func):
        return _make_evicting(func, keys=key, patterns=pattern, tags=tags, before=before,
                              cache=cache, decorator="cache_evict")

    return decorate


def cache_invalidate(keys, *, cache=None, before=False):
    """Delete keys (templates, callables or a list of them) after the
    function returns; see cache_evict."""
    if keys is None:
        raise TypeError("cache_invalidate needs keys")
    return cache_evict(keys, cache=cache, before=before)


def cache_invalidate_pattern(pattern, *, cache=None, before=False):
    """Delete every key matching a glob pattern (template or callable)
    after the function returns; see cache_evict."""
    if pattern is None:
        raise TypeError("cache_invalidate_pattern needs a pattern")
    return cache_evict(pattern=pattern, cache=cache, before=before)
