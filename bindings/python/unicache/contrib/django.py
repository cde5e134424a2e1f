"""A Django cache backend on any unicache store.

    CACHES = {
        "default": {
            "BACKEND": "unicache.contrib.django.UnicacheCache",
            "LOCATION": "redis://127.0.0.1:6379/0",   # any unicache URI or JSON
            "TIMEOUT": 300,
            "KEY_PREFIX": "site1",
        }
    }

Django's semantics throughout: TIMEOUT None caches forever, 0 or negative
expires at once (set stores nothing and removes the old value, add adds
nothing); KEY_PREFIX, VERSION, KEY_FUNCTION and the key warnings are
BaseCache's own; incr/decr raise ValueError on a missing key, atomically
(cache_incr_ext with CACHE_INCR_EXISTING: never a counter created from 0);
set_many returns the keys it could not store.

Every cache with the same LOCATION in a process uses one handle (a
unicache handle is thread-safe and pooled), so close(), which Django calls
after every request, keeps it open. A memory:// LOCATION is a named
in-process store (memory://?name=...), so two caches with one LOCATION
share their entries, as with Django's LocMemCache.

MAX_ENTRIES and CULL_FREQUENCY (in OPTIONS) keep Django's meaning when they
are given: before a write, when the store holds MAX_ENTRIES entries or
more, 1/CULL_FREQUENCY of them are deleted (all of them for 0). That costs
a count on every write (the memory backend sums its shards, SQLite counts
its table, Redis answers DBSIZE, or under a prefix SCANs every key), so
leave them out unless you need Django's bound:
unicache's own max_items (memory, SQLite) bounds size natively. memcached
cannot count or list its entries: MAX_ENTRIES there is ImproperlyConfigured.

Values: integers as decimal text, everything else pickled, as Django's own
backends store them. Pickle trusts whoever can write to the cache (loading
a pickle runs code the writer chose): use a store only your application
can write to.
"""
import functools
import json
import threading
import urllib.parse

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured

from .. import _cache
from .._unicache import CacheError, NotANumber, NotSupported
from ._serial import IntOrPickle

__all__ = ["UnicacheCache"]

_handles_lock = threading.Lock()
_handles = {}
_NOW = object()  # a timeout meaning "expire at once"
_OPTIONS = {"MAX_ENTRIES", "CULL_FREQUENCY"}


def _store_uri(location):
    """The unicache URI for a LOCATION; memory:// stores get a name of their
    own, so that every cache with this LOCATION shares one."""
    location = location or "memory://"
    name = "django:" + location
    text = location.lstrip()
    if text.startswith("{"):
        try:
            config = json.loads(text)
        except ValueError:
            return location  # unicache reports the JSON error
        if isinstance(config, dict) and config.get("backend") == "memory":
            config.setdefault("name", name)
            return json.dumps(config)
        return location
    if location.startswith("memory:"):
        query = urllib.parse.urlsplit(location).query
        if "name" not in urllib.parse.parse_qs(query):
            sep = "&" if query else ("" if location.endswith("?") else "?")
            return location + sep + "name=" + urllib.parse.quote(name, safe="")
    return location


def _shared_handle(uri):
    with _handles_lock:
        c = _handles.get(uri)
        if c is None or c.closed:
            c = _cache.Cache(uri, serializer=IntOrPickle)
            _handles[uri] = c
        return c


class UnicacheCache(BaseCache):
    """Django's BaseCache over a unicache.Cache (see the module docstring)."""

    def __init__(self, location, params):
        super().__init__(params)
        options = params.get("OPTIONS", {}) or {}
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ImproperlyConfigured(
                "unicache.contrib.django.UnicacheCache: unknown OPTIONS %s; the options are "
                "%s, and everything else goes in LOCATION as unicache URI parameters "
                "(e.g. redis://host:6379/0?timeout_ms=200)" % (unknown, sorted(_OPTIONS)))
        # BaseCache defaults MAX_ENTRIES to 300; here a bound applies only
        # when asked for (a Redis cache must not shrink to 300 entries).
        self._culls = bool({"MAX_ENTRIES", "CULL_FREQUENCY"} & set(options)) or \
            "max_entries" in params or "cull_frequency" in params
        self._uri = _store_uri(location)
        self._handle = None

    @property
    def _cache(self):
        c = self._handle
        if c is None or c.closed:
            c = self._handle = _shared_handle(self._uri)
            if self._culls:
                try:
                    c.keys("*", limit=1)
                except NotSupported:
                    raise ImproperlyConfigured(
                        "MAX_ENTRIES/CULL_FREQUENCY need a backend that can count and list "
                        "its entries (memory, sqlite, redis); %s cannot: bound its size on "
                        "the server instead" % c.backend) from None
        return c

    # ---------------------------------------------------------- helpers

    def _key(self, key, version):
        key = self.make_key(key, version=version)
        self.validate_key(key)
        return key

    def _ttl(self, timeout):
        """Seconds for unicache, FOREVER, or _NOW."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return _cache.FOREVER
        if timeout <= 0:
            return _NOW
        return max(float(timeout), 0.001)  # under 1 ms would read as "never"

    def _cull(self, c):
        if not self._culls:
            return
        size = c.stats()["size"]
        if size is None:  # Redis under a prefix: only a SCAN can count it
            size = len(c.keys("*"))
        if size < self._max_entries:
            return
        if self._cull_frequency == 0:
            c.clear()
            return
        n = size // self._cull_frequency
        if n > 0:
            c.delete_many(c.keys("*", limit=n))

    # --------------------------------------------------------- contract

    def get(self, key, default=None, version=None):
        return self._cache.get(self._key(key, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self._key(key, version)
        ttl = self._ttl(timeout)
        c = self._cache
        if ttl is _NOW:
            IntOrPickle.dumps(value)  # an unpicklable value still raises
            c.delete(key)
            return
        self._cull(c)
        c.set(key, value, ttl)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self._key(key, version)
        ttl = self._ttl(timeout)
        c = self._cache
        if ttl is _NOW:
            # Django: "added" (when absent) and expired at once.
            IntOrPickle.dumps(value)
            return not c.exists(key)
        self._cull(c)
        return c.add(key, value, ttl)

    def get_or_set(self, key, default, timeout=DEFAULT_TIMEOUT, version=None):
        """Django's get_or_set, stampede-safe: one caller across every
        process sharing the store computes a callable default, the others
        wait for its value (unicache's leases; a writer that comes first
        wins, as Django's second get makes it)."""
        name = self._key(key, version)
        ttl = self._ttl(timeout)
        c = self._cache
        if ttl is _NOW:  # Django: nothing is added, the default returned
            val = c.get(name, _NOW)
            if val is not _NOW:
                return val
            return default() if callable(default) else default
        self._cull(c)
        return c.get_or_set(name, default, ttl)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self._key(key, version)
        ttl = self._ttl(timeout)
        if ttl is _NOW:
            return self._cache.delete(key)
        return self._cache.touch(key, ttl)

    def delete(self, key, version=None):
        return self._cache.delete(self._key(key, version))

    def has_key(self, key, version=None):
        return self._cache.exists(self._key(key, version))

    def get_many(self, keys, version=None):
        names = {self._key(k, version): k for k in keys}
        if not names:
            return {}
        found = self._cache.get_many(list(names))
        return {names[k]: v for k, v in found.items()}

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        """Stores every pair; returns the keys that could not be stored."""
        pairs = {self._key(k, version): (k, v) for k, v in data.items()}
        if not pairs:
            return []
        ttl = self._ttl(timeout)
        c = self._cache
        if ttl is _NOW:
            for _, v in pairs.values():
                IntOrPickle.dumps(v)
            c.delete_many(list(pairs))
            return []
        self._cull(c)
        try:
            c.set_many({k: v for k, (_, v) in pairs.items()}, ttl)
            return []
        except CacheError:
            pass
        # One pair was refused (too big, ...): find which, store the rest.
        failed = []
        for k, (original, v) in pairs.items():
            try:
                c.set(k, v, ttl)
            except CacheError:
                failed.append(original)
        return failed

    def delete_many(self, keys, version=None):
        names = [self._key(k, version) for k in keys]
        if names:
            self._cache.delete_many(names)

    def incr(self, key, delta=1, version=None):
        name = self._key(key, version)
        try:
            value = self._cache.incr_ext(name, delta, existing=True)
        except NotANumber as e:
            raise TypeError("the value of key %r is not an integer: %s" % (key, e)) from None
        if value is None:
            raise ValueError("Key '%s' not found" % key)
        return value

    def decr(self, key, delta=1, version=None):
        return self.incr(key, -delta, version=version)

    def clear(self):
        self._cache.clear()

    def close(self, **kwargs):
        """Django calls this after every request; the handle is shared by
        every cache on this LOCATION and pooled, so it stays open."""

    # ------------------------------------------------------------ async

    async def _async(self, fn, *args, **kwargs):
        return await _cache.call_async(self._cache, fn, *args, **kwargs)


def _async_variant(name):
    sync = getattr(UnicacheCache, name)

    @functools.wraps(sync)
    async def method(self, *args, **kwargs):
        return await self._async(getattr(self, name), *args, **kwargs)

    method.__name__ = method.__qualname__ = "a" + name
    method.__doc__ = "%s() as a coroutine (inline on memory, else in the loop's executor)." % name
    return method


# Django 4.0's names for the async API (Django 3.2 has none of its own).
for _name in ("add", "get", "set", "touch", "delete", "get_many", "get_or_set", "has_key",
              "incr", "decr", "set_many", "delete_many", "clear", "incr_version",
              "decr_version", "close"):
    setattr(UnicacheCache, "a" + _name, _async_variant(_name))
del _name
