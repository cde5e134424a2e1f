"""unicache.aio: the Cache API as coroutines, for asyncio code.

    import unicache.aio

    async with unicache.aio.Cache("redis://127.0.0.1:6379/0") as cache:
        await cache.set("greeting", {"hello": "world"}, ttl=30)
        await cache.get("greeting")

Every method of unicache.Cache is here as a coroutine with the same
arguments, results and exceptions. The memory backend answers inline (a
memory get costs less than a trip through an executor); backends that wait
for a server or a file run each call in a thread pool executor, so the
event loop never stalls on them (bench/python_aio_lag.py measures the
loop's lag under load).

Cancellation: a call already handed to a thread runs to its end there and
gives its connection back whole; cancelling the awaiting task only drops
the result. So a cancelled write may still have been stored, and no
connection is ever left with a request half sent or a reply unread.

Decorators: an aio.Cache is callable and returns the unicache.Cache it
wraps, so @unicache.cached(cache=acache) works on async def functions.
"""
import asyncio
import functools

from ._cache import Cache as _SyncCache
from ._unicache import InvalidArgument

__all__ = ["Cache", "open"]

# Methods of unicache.Cache that become coroutines here.
_METHODS = (
    "get", "set", "add", "delete", "exists", "incr", "decr", "incr_ext", "touch", "ttl",
    "expire_at", "get_many", "set_many", "delete_many", "keys", "delete_pattern",
    "invalidate_tags", "clear", "stats", "info", "ping",
)


def _is_memory(uri):
    return isinstance(uri, str) and uri.startswith("memory:")


class Cache:
    """An awaitable cache. uri and keyword arguments as unicache.Cache;
    uri may also be an open unicache.Cache to wrap (it stays the caller's:
    close() then leaves it open).

    executor: a concurrent.futures executor for blocking backends (None:
    the event loop's default executor).

    Use ``async with Cache(uri) as cache`` or ``cache = await
    unicache.aio.open(uri)``; the handle is opened (for network backends,
    connected) in the executor, so opening never stalls the loop either.
    """

    def __init__(self, uri=None, *, executor=None, **kwargs):
        self._executor = executor
        if isinstance(uri, _SyncCache):
            if kwargs:
                raise TypeError("keyword arguments are for opening a cache; this one is "
                                "already open")
            self._sync, self._owned = uri, False
        else:
            self._sync, self._owned = None, True
        self._uri, self._kwargs = uri, kwargs

    async def open(self):
        """Open the cache (a no-op when it is open); returns self."""
        if self._sync is None:
            if _is_memory(self._uri):
                self._sync = _SyncCache(self._uri, **self._kwargs)
            else:
                loop = asyncio.get_running_loop()
                opener = functools.partial(_SyncCache, self._uri, **self._kwargs)
                self._sync = await loop.run_in_executor(self._executor, opener)
        return self

    async def __aenter__(self):
        return await self.open()

    async def __aexit__(self, exc_type, exc, tb):
        await self.close()

    def __call__(self):
        # The hook the decorators use (cache=callable returning a Cache).
        return self.sync

    @property
    def sync(self):
        """The unicache.Cache underneath (for code that is not async)."""
        if self._sync is None:
            raise InvalidArgument("invalid argument: this unicache.aio.Cache is not open yet; "
                                  "use 'async with' or 'await cache.open()'")
        return self._sync

    @property
    def closed(self):
        return self._sync is None or self._sync.closed

    @property
    def backend(self):
        return self.sync.backend

    @property
    def serializer(self):
        return self.sync.serializer

    async def close(self):
        """Close the cache (only one this object opened). Calls in flight in
        the executor finish first: the C layer closes after the last one."""
        if self._sync is not None and self._owned:
            self._sync.close()

    async def _call(self, name, args, kwargs):
        c = self.sync
        fn = getattr(c, name)
        if not c._blocking():
            return fn(*args, **kwargs)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor,
                                          functools.partial(fn, *args, **kwargs))

    def __repr__(self):
        if self._sync is None:
            return "<unicache.aio.Cache not open>"
        return "<unicache.aio.Cache %r>" % (self._sync,)


def _coroutine(name):
    target = getattr(_SyncCache, name)

    async def method(self, *args, **kwargs):
        return await self._call(name, args, kwargs)

    functools.update_wrapper(method, target)
    method.__qualname__ = "Cache." + name
    method.__module__ = __name__
    return method


for _name in _METHODS:
    setattr(Cache, _name, _coroutine(_name))
del _name


async def open(uri=None, **kwargs):
    """await unicache.aio.open(uri): an open aio.Cache (close it with
    await cache.close(), or use it in 'async with')."""
    return await Cache(uri, **kwargs).open()
