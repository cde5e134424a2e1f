"""Getting a cached value or computing it once: the cache argument of the
decorators, and the sync and async read-through."""
from ._cache import Cache, call_async, default_cache
from ._lease import CACHE_SETTINGS, get_or_compute, get_or_compute_async

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


def _flight_in_front(opts):
    """Whether this process's other threads wait on an in-process flight:
    not when the core answers them at once anyway (a stale value during
    stale_ttl; a hit that may elect itself for an early refresh)."""
    return not (opts.stale_ttl_ms > 0 or opts.early)


def compute_missing(c, key, flights, produce, ttl, tags=None, opts=CACHE_SETTINGS):
    """After a miss: produce()'s value, stored with ttl and tags() (a
    callable, evaluated only when storing); one producer per key at a time
    across every process sharing the backend (the core's leases), and in
    this process the other threads wait for its result without asking the
    backend (unless opts has the core answer them at once)."""
    if not _flight_in_front(opts):
        return get_or_compute(c, key, produce, ttl, tags, opts)
    return flights.run((c, key), lambda: get_or_compute(c, key, produce, ttl, tags, opts))


def fetch(c, key, flights, produce, ttl, tags=None, opts=CACHE_SETTINGS):
    """The cached value of key, else compute_missing()'s. With early refresh
    every read goes through the lease (a hit may elect itself)."""
    if not opts.early:
        value = c.get(key, MISSING)
        if value is not MISSING:
            return value
    return compute_missing(c, key, flights, produce, ttl, tags, opts)


async def fetch_async(c, key, flights, produce, ttl, tags=None, opts=CACHE_SETTINGS):
    """fetch for coroutines: produce() returns an awaitable."""
    if not opts.early:
        value = await call_async(c, c.get, key, MISSING)
        if value is not MISSING:
            return value

    async def compute():
        return await get_or_compute_async(c, key, produce, ttl, tags, call=call_async, opts=opts)

    if not _flight_in_front(opts):
        return await compute()
    return await flights.run_async((c, key), compute)
