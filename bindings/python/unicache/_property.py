"""cached_property: a property computed once and kept for ttl seconds."""
import functools
import inspect
import time

from ._fetch import MISSING, check_cache_arg, fetch, fetch_async, resolve
from ._flight import SingleFlight
from ._lease import settings as stampede_settings
from ._shapes import check_plain_function, is_ttl


class cached_property:
    """A property computed once and kept for ttl seconds.

    Where the value lives: in the cache (shared with other processes and
    instances that have the same identity) when the instance has a
    __cache_key__() method or key= is given (callable(instance) -> str);
    otherwise in the instance itself, like functools.cached_property but
    expiring. ``del obj.attr`` forgets it; ``obj.attr = v`` stores v.
    An ``async def`` getter makes the attribute an awaitable.
    stale_ttl, early_refresh and lock apply to values kept in the cache, as
    for @cached.
    """

    __module__ = "unicache.decorators"  # where it has always been imported from

    def __init__(self, func=None, *, ttl=None, key=None, cache=None, stale_ttl=None,
                 early_refresh=None, lock=None):
        if func is not None and not callable(func):
            # @cached_property(30): the first argument is the TTL.
            func, ttl = None, func
        if not is_ttl(ttl):
            raise TypeError("ttl must be seconds, a timedelta, None or FOREVER")
        if key is not None and not callable(key):
            raise TypeError("key must be callable(instance) -> str")
        check_cache_arg(cache)
        self._opts = stampede_settings(stale_ttl, early_refresh, lock)
        self.ttl = ttl
        self.key = key
        self.cache = cache
        self.func = None
        self.name = None
        if func is not None:
            self._bind(func)

    def _bind(self, func):
        check_plain_function(func, "cached_property")
        self.func = func
        functools.update_wrapper(self, func)
        self._is_async = inspect.iscoroutinefunction(func)
        self._flights = SingleFlight()

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
            return MISSING
        value, expires = entry
        if expires is not None and time.monotonic() >= expires:
            return MISSING
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
            if value is MISSING:
                value = self._flights.run((id(obj), None), lambda: self._compute_local(obj))
            return value
        return fetch(resolve(self.cache), key, self._flights, lambda: self.func(obj), self.ttl,
                     opts=self._opts)

    def _compute_local(self, obj):
        value = self._local_get(obj)
        if value is MISSING:
            value = self.func(obj)
            self._local_set(obj, value)
        return value

    async def _get_async(self, obj, key):
        if key is None:
            value = self._local_get(obj)
            if value is not MISSING:
                return value

            async def compute_local():
                value = self._local_get(obj)
                if value is MISSING:
                    value = await self.func(obj)
                    self._local_set(obj, value)
                return value

            return await self._flights.run_async((id(obj), None), compute_local)
        return await fetch_async(resolve(self.cache), key, self._flights,
                                 lambda: self.func(obj), self.ttl, opts=self._opts)

    def __set__(self, obj, value):
        key = self._cache_key(obj)
        if key is None:
            self._local_set(obj, value)
        else:
            resolve(self.cache).set(key, value, self.ttl)

    def __delete__(self, obj):
        key = self._cache_key(obj)
        if key is None:
            obj.__dict__.pop(self._slot(), None)
        else:
            resolve(self.cache).delete(key)
