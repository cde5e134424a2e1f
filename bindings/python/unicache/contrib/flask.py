"""A Flask-Caching backend on any unicache store.

    app.config.update(
        CACHE_TYPE="unicache.contrib.flask.UnicacheCache",
        CACHE_UNICACHE_URL="redis://127.0.0.1:6379/0",   # any unicache URI or JSON
        CACHE_DEFAULT_TIMEOUT=300,
        CACHE_KEY_PREFIX="myapp:",
    )
    cache = flask_caching.Cache(app)

Flask-Caching's semantics: a timeout of None is CACHE_DEFAULT_TIMEOUT, 0
never expires, a negative one expires at once (set stores nothing). inc/dec
start a missing key from 0, atomically. CACHE_KEY_PREFIX is unicache's own
key prefix (a namespace: keys are stored as prefix + "|" + key), so clear()
removes only this app's keys; to share keys with Flask-Caching's own Redis
backend (prefix + key), add prefix_mode=raw to CACHE_UNICACHE_URL. Without
CACHE_UNICACHE_URL the cache is $UNICACHE_URL, else memory://.

Values: integers as decimal text, everything else pickled, as Flask-Caching's
Redis backend stores them. Pickle trusts whoever can write to the cache:
use a store only your application can write to.
"""
from flask_caching.backends.base import BaseCache

from .. import _cache
from ._serial import IntOrPickle

__all__ = ["UnicacheCache"]


class UnicacheCache(BaseCache):
    """Flask-Caching's BaseCache over a unicache.Cache."""

    def __init__(self, url=None, default_timeout=300, key_prefix=None, **kwargs):
        if kwargs:
            raise TypeError("UnicacheCache: unknown arguments %s; unicache parameters go in "
                            "CACHE_UNICACHE_URL" % sorted(kwargs))
        super().__init__(default_timeout=default_timeout)
        self.key_prefix = key_prefix or ""
        self._cache = _cache.Cache(url, serializer=IntOrPickle, prefix=key_prefix or None)

    @classmethod
    def factory(cls, app, config, args, kwargs):
        kwargs.update(url=config.get("CACHE_UNICACHE_URL"),
                      key_prefix=config.get("CACHE_KEY_PREFIX"))
        c = cls(*args, **kwargs)
        c.ignore_errors = config.get("CACHE_IGNORE_ERRORS", False)
        return c

    def _ttl(self, timeout):
        """Seconds for unicache, FOREVER, or None for "expire at once"."""
        if timeout is None:
            timeout = self.default_timeout
        if not timeout:
            return _cache.FOREVER
        if timeout < 0:
            return None
        return max(float(timeout), 0.001)  # under 1 ms would read as "never"

    def get(self, key):
        return self._cache.get(key)

    def set(self, key, value, timeout=None):
        ttl = self._ttl(timeout)
        if ttl is None:
            IntOrPickle.dumps(value)  # an unpicklable value still raises
            self._cache.delete(key)
        else:
            self._cache.set(key, value, ttl)
        return True

    def add(self, key, value, timeout=None):
        ttl = self._ttl(timeout)
        if ttl is None:
            IntOrPickle.dumps(value)
            return not self._cache.exists(key)
        return self._cache.add(key, value, ttl)

    def delete(self, key):
        return self._cache.delete(key)

    def delete_many(self, *keys):
        """One round trip; returns the keys (all of them are gone now)."""
        if keys:
            self._cache.delete_many(keys)
        return list(keys)

    def get_many(self, *keys):
        found = self._cache.get_many(keys) if keys else {}
        return [found.get(k) for k in keys]

    def get_dict(self, *keys):
        return dict(zip(keys, self.get_many(*keys)))

    def set_many(self, mapping, timeout=None):
        ttl = self._ttl(timeout)
        keys = list(mapping)
        if not keys:
            return []
        if ttl is None:
            self._cache.delete_many(keys)
        else:
            self._cache.set_many(mapping, ttl)
        return keys

    def has(self, key):
        return self._cache.exists(key)

    def clear(self):
        self._cache.clear()
        return True

    def inc(self, key, delta=1):
        ttl = self._ttl(None)
        return self._cache.incr_ext(key, delta, ttl=None if ttl is None else ttl)

    def dec(self, key, delta=1):
        return self.inc(key, -delta)

    def close(self):
        self._cache.close()
