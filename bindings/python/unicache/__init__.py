"""unicache: one cache API over memory, SQLite, Redis and memcached.

    import unicache

    with unicache.Cache("memory://?max_items=10000") as cache:
        cache.set("greeting", {"hello": "world"}, ttl=30)
        cache.get("greeting")           # {'hello': 'world'}

    @unicache.cached(ttl=60)
    def expensive(n): ...

Errors are unicache.CacheError subclasses carrying the C library's message
and .status code. A miss is not an error: get() returns the default.
"""
from ._unicache import (
    AuthenticationFailed,
    CacheError,
    CacheIOError,
    CacheMemoryError,
    CacheTimeout,
    CacheUnavailable,
    CorruptStore,
    InternalError,
    InvalidArgument,
    NotANumber,
    NotSupported,
    OutOfRange,
    StoreVersionError,
    TooBig,
    version as _c_version,
)
from ._cache import FOREVER, Cache, default_cache, set_default_cache
from ._log import set_log_level
from .decorators import (
    cache_evict,
    cache_invalidate,
    cache_invalidate_pattern,
    cached,
    cached_property,
    memoize,
)

__version__ = _c_version()

__all__ = [
    "AuthenticationFailed",
    "Cache",
    "CacheError",
    "CacheIOError",
    "CacheMemoryError",
    "CacheTimeout",
    "CacheUnavailable",
    "CorruptStore",
    "FOREVER",
    "InternalError",
    "InvalidArgument",
    "NotANumber",
    "NotSupported",
    "OutOfRange",
    "StoreVersionError",
    "TooBig",
    "cache_evict",
    "cache_invalidate",
    "cache_invalidate_pattern",
    "cached",
    "cached_property",
    "default_cache",
    "memoize",
    "set_default_cache",
    "set_log_level",
]
