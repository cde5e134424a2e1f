"""Getting a cached value or computing it once: the cache argument of the
decorators, and the sync and async read-through."""
from ._cache import Cache, call_async, default_cache

MISSING = object()


def check_cache_arg(cache):
    if cache is not None and not isinstance(cache, Cache) and not callable(cache):
        raise TypeError("cache must be a unicache.Cache, a callable returning one, or None "
                        "(the default cache), not %s" % type(cache).__name__)


def resolve(cache):
    """The Cache a cache argument names, for this call."""
    if cache is None:
        return default_cache()
    if isinstance(cache, Cache):
        return cache
    c = cache()
    if not isinstance(c, Cache):
        raise TypeError("the cache callable returned %s, not a unicache.Cache"
                        % type(c).__name__)
    return c


def compute_missing(c, key, flights, produce, ttl, tags=None):
    """After a miss: produce()'s value, stored with ttl and tags() (a
    callable, evaluated only when storing); one producer per key at a time
    in this process, the others get its result."""

    def compute():
        value = c.get(key, MISSING)  # another caller may have stored it meanwhile
        if value is MISSING:
            value = produce()
            c.set(key, value, ttl, tags=tags() if tags else None)
        return value

    return flights.run((c, key), compute)


def fetch(c, key, flights, produce, ttl, tags=None):
    """The cached value of key, else compute_missing()'s."""
    value = c.get(key, MISSING)
    if value is not MISSING:
        return value
    return compute_missing(c, key, flights, produce, ttl, tags)


async def fetch_async(c, key, flights, produce, ttl, tags=None):
    """fetch for coroutines: produce() returns an awaitable."""
    value = await call_async(c, c.get, key, MISSING)
    if value is not MISSING:
        return value

    async def compute():
        value = await call_async(c, c.get, key, MISSING)
        if value is MISSING:
            value = await produce()
            await call_async(c, c.set, key, value, ttl, tags=tags() if tags else None)
        return value

    return await flights.run_async((c, key), compute)
