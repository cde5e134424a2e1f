"""unicache.Cache: the Python face of a cache_t handle.

The class derives from the SWIG-generated Handle type, so the hot methods
(get, c[k], k in c, delete, exists, incr, ...) are C calls with no Python
frame in between; what needs Python (serialisation of batches, argument
shapes) is written here.
"""
import asyncio
import datetime as _dt
import functools
import json
import pickle
import threading

from . import _lease, _unicache
from ._unicache import InvalidArgument

__all__ = ["Cache", "FOREVER", "default_cache", "set_default_cache"]

#: ttl value meaning "never expires" (it is math.inf; Cache.ttl() returns
#: it for keys without an expiry).
FOREVER = _unicache.FOREVER

_RAW, _JSON, _OBJECT = 0, 1, 2

# Compact, UTF-8, strict (no NaN): what other languages' JSON parsers read.
# The C layer writes the same bytes itself for str/int/float/bool/None.
_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_json_decoder = json.JSONDecoder()


def _codec(serializer):
    """(name, codec id, dumps, loads) for a serializer argument."""
    if serializer == "json":
        return "json", _JSON, _json_encoder.encode, _json_decoder.decode
    if serializer == "raw":
        return "raw", _RAW, None, None
    if serializer == "pickle":
        # Never the default: unpickling runs code chosen by whoever wrote
        # the bytes, so anyone who can write to a shared cache could run
        # code in every reader. Use it only for caches you alone write.
        return ("pickle", _OBJECT,
                functools.partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL), pickle.loads)
    if serializer == "msgpack":
        try:
            import msgpack
        except ImportError as e:  # pragma: no cover - Debian: python3-msgpack
            raise ImportError("serializer='msgpack' needs the msgpack package "
                              "(Debian: python3-msgpack)") from e
        return ("msgpack", _OBJECT, functools.partial(msgpack.packb, use_bin_type=True),
                functools.partial(msgpack.unpackb, raw=False))
    if isinstance(serializer, str):
        raise InvalidArgument("invalid argument: unknown serializer %r; use 'json', 'pickle', "
                              "'msgpack', 'raw' or an object with dumps() and loads()"
                              % (serializer,))
    dumps = getattr(serializer, "dumps", None)
    loads = getattr(serializer, "loads", None)
    if not callable(dumps) or not callable(loads):
        raise TypeError("serializer must be 'json', 'pickle', 'msgpack', 'raw' or an object "
                        "with dumps() and loads(), not %s" % type(serializer).__name__)
    name = getattr(serializer, "__name__", type(serializer).__name__)
    return name, _OBJECT, dumps, loads


def _key_list(keys, what):
    """A list from an iterable of keys; one str/bytes is one key."""
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        return [keys]
    try:
        return list(keys)
    except TypeError:
        raise TypeError("%s must be a key or an iterable of keys, not %s"
                        % (what, type(keys).__name__)) from None


class Cache(_unicache.Handle):
    """A cache on any unicache backend.

    uri: "memory://?max_items=1000", "sqlite:///path.db", "redis://host:6379/0",
    "memcached://h1:11211,h2:11211", a JSON object, or None for
    $UNICACHE_URL (else "memory://").

    Keys are str (UTF-8) or bytes-like; the same text as str or as bytes is
    the same key. Values go through the serializer: "json" (the default;
    readable from every language), "msgpack", "pickle" (only for caches
    nobody else can write: unpickling runs code), "raw" (bytes in, bytes
    out), or any object with dumps() and loads() working on bytes.

    TTLs are seconds (int, float or timedelta); None means the cache's
    default (the default_ttl URI parameter or argument), FOREVER means never.

    A Cache is safe to share between threads. Network and file backends
    release the GIL while they wait.
    """

    __module__ = "unicache"  # its public home

    def __init__(self, uri=None, *, serializer="json", prefix=None, default_ttl=None):
        name, codec, dumps, loads = _codec(serializer)
        try:
            super().__init__(uri, prefix, default_ttl)
        except BaseException:
            # The SWIG object has no handle: calling into it would crash,
            # and tracebacks (pytest, asyncio) repr the half-made object.
            self._open_failed = True
            raise
        self._set_codec(codec, dumps, loads)
        self._serializer = name

    # get(key, default=None), c[key] and `key in c` are C methods.
    __getitem__ = _unicache.Handle._getitem
    __contains__ = _unicache.Handle.exists

    def __setitem__(self, key, value):
        self._set(key, self._dumps(value))

    def __delitem__(self, key):
        if not self.delete(key):
            raise KeyError(key)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def __reduce__(self):
        raise TypeError("a unicache.Cache cannot be pickled or copied: it is an open "
                        "connection; open another one with the same URI")

    def __repr__(self):
        if self.__dict__.get("_open_failed"):
            return "<unicache.Cache not opened>"
        if self.closed:
            return "<unicache.Cache closed>"
        return "<unicache.Cache %s serializer=%s>" % (self.stats()["uri"], self._serializer)

    @property
    def closed(self):
        """True after close()."""
        return self.__dict__.get("_open_failed", False) or self._closed()

    @property
    def backend(self):
        """The backend's name: "memory", "sqlite", "redis", "memcached"."""
        return self._backend_name()

    @property
    def serializer(self):
        """The serializer's name ("json", "pickle", "msgpack", "raw", ...)."""
        return self._serializer

    def set(self, key, value, ttl=None, *, tags=None):
        """Store value under key. tags: names to invalidate it by later."""
        data = self._dumps(value)
        if tags is None:
            self._set(key, data, ttl)
        else:
            self._set_tagged(key, data, ttl, _key_list(tags, "tags"))

    def get_or_set(self, key, default, ttl=None, *, stale_ttl=None, early_refresh=None,
                   lock=None):
        """key's value; when absent, default (called first when callable)
        stored with ttl and returned, as Django's get_or_set. One caller
        across every process sharing the backend computes it, the others
        wait for its value; an exception in default() caches nothing.
        stale_ttl (seconds the value is served stale after expiry while one
        caller recomputes it), early_refresh (XFetch's beta) and lock
        (seconds to wait for another caller's value) are this call's, as
        for @cached; None keeps the cache's (given at open)."""
        produce = default if callable(default) else (lambda: default)
        opts = _lease.settings(stale_ttl, early_refresh, lock)
        return _lease.get_or_compute(self, key, produce, ttl, opts=opts)

    def add(self, key, value, ttl=None):
        """Store value only if key is absent; True if it was stored."""
        return self._add(key, self._dumps(value), ttl)

    def expire_at(self, key, when):
        """Make key expire at `when` (datetime, naive = local time, or Unix
        seconds). A time in the past removes it. False if key is absent."""
        if isinstance(when, _dt.datetime):
            when = when.timestamp()
        elif isinstance(when, bool) or not isinstance(when, (int, float)):
            raise TypeError("when must be a datetime or Unix seconds, not %s"
                            % type(when).__name__)
        if when != when or when in (float("inf"), float("-inf")):
            raise InvalidArgument("invalid argument: when must be a finite time")
        return self._expire_at(key, int(when * 1000))

    def get_many(self, keys):
        """{key: value} for the keys that are present (misses are left out)."""
        keys = _key_list(keys, "keys")
        loads = self._loads
        return {k: loads(v) for k, v in zip(keys, self._get_many(keys)) if v is not None}

    def set_many(self, mapping, ttl=None):
        """Store every (key, value) of a mapping or iterable of pairs."""
        items = mapping.items() if hasattr(mapping, "items") else mapping
        keys, values = [], []
        dumps = self._dumps
        for pair in items:
            try:
                key, value = pair
            except (TypeError, ValueError):
                raise TypeError("set_many takes a mapping or (key, value) pairs, got %r"
                                % (pair,)) from None
            keys.append(key)
            values.append(dumps(value))
        self._set_many(keys, values, ttl)

    def keys(self, pattern="*", limit=0):
        """Keys matching a glob pattern ('*', '?', '[a-z]', '\\' escapes), as
        str (bytes that are not UTF-8 come back as surrogate escapes, which
        name the same key when passed back). NotSupported on memcached."""
        return self._keys(pattern, limit)

    def invalidate_tags(self, tags):
        """Make every entry carrying any of the tags a miss; returns how
        many were removed (0 on backends that invalidate lazily)."""
        return self._invalidate_tags(_key_list(tags, "tags"))

    def clear(self):
        """Remove every key of this cache (only its prefix, if it has one)."""
        self._clear()

    def stats(self):
        """Statistics as a dict (hits, misses, hit_ratio, sets, size, ...)."""
        return json.loads(self._stats_json())

    def stats_prometheus(self):
        """The statistics in the Prometheus text format (unicache.metrics serves them)."""
        return self._stats_prometheus()

    def info(self):
        """The backend's own description (Redis INFO, memcached stats, ...)."""
        return self._backend_info()


async def call_async(cache, fn, *args, **kwargs):
    """fn(*args, **kwargs) from async code: directly on the memory backend,
    in the loop's default executor on backends that wait for a server or a
    file, so that the event loop never stalls on them."""
    if cache._blocking():
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(None, call)
    return fn(*args, **kwargs)


_default_lock = threading.Lock()
_default = None


def default_cache():
    """The process-wide cache the decorators and middleware use when given
    none: opened on first use from $UNICACHE_URL, else "memory://"."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:
            _default = Cache()
        return _default


def set_default_cache(cache):
    """Replace the process-wide default cache (None: reopen lazily)."""
    global _default
    if cache is not None and not isinstance(cache, Cache):
        raise TypeError("set_default_cache() takes a unicache.Cache or None, not %s"
                        % type(cache).__name__)
    with _default_lock:
        _default = cache
