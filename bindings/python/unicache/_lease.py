"""The C core's stampede protection (cache_lease_*) for Python: one compute
per key across every process and thread sharing the backend, with the
cache's stale_ttl and early_refresh (URI parameters) applied, or a
caller's own (Settings: cache_fetch_options). A compute that raises
releases the lease at once and caches nothing."""

import asyncio
import math
from collections import namedtuple

from ._unicache import InvalidArgument

OK, MISS, STALE, WAIT = 0, 1, 2, 3


_ABSENT = object()

_KEEP = -1


class Settings(namedtuple("Settings", "lock_timeout_ms stale_ttl_ms early_refresh")):
    """One call's stampede settings (cache_fetch_options); -1: the cache's."""

    __slots__ = ()

    @property
    def early(self):
        """True when hits must read through the lease (early refresh on)."""
        return self.early_refresh > 0

    @property
    def read(self):
        """The arguments of Cache._lease_get after key and nowait (a stale
        read that takes the lease keeps the old value served stale_ttl
        longer while it recomputes)."""
        return (_KEEP, self.lock_timeout_ms, self.early_refresh, self.stale_ttl_ms)

    @property
    def write(self):
        """The arguments of Cache._lease_set after ttl."""
        return (self.stale_ttl_ms, self.early_refresh)


CACHE_SETTINGS = Settings(_KEEP, _KEEP, -1.0)


def _ms(value, name):
    if value is None:
        return _KEEP
    if isinstance(value, bool) or not (isinstance(value, (int, float))
                                       or hasattr(value, "total_seconds")):
        raise TypeError("%s must be seconds (a number or a timedelta) or None, not %s"
                        % (name, type(value).__name__))
    seconds = float(value.total_seconds() if hasattr(value, "total_seconds") else value)
    if not (seconds >= 0 and math.isfinite(seconds)) or seconds > 1e12:
        raise InvalidArgument("invalid argument: %s must be 0 to 10^12 seconds, or None for "
                              "the cache's setting" % name)
    return int(math.ceil(seconds * 1000))


def settings(stale_ttl=None, early_refresh=None, lock=None):
    """Settings from the decorators' and get_or_set's keywords (checked here,
    so a bad one fails where it is written): stale_ttl and lock in seconds,
    early_refresh XFetch's beta; None keeps the cache's."""
    if early_refresh is None:
        beta = -1.0
    else:
        if isinstance(early_refresh, bool) or not isinstance(early_refresh, (int, float)):
            raise TypeError("early_refresh must be a number (XFetch's beta) or None, not %s"
                            % type(early_refresh).__name__)
        beta = float(early_refresh)
        if not 0 <= beta <= 100:
            raise InvalidArgument("invalid argument: early_refresh must be 0 (off) to 100, "
                                  "or None for the cache's setting")
    return Settings(_ms(lock, "lock"), _ms(stale_ttl, "stale_ttl"), beta)


def _store(c, key, lease, value, ttl, tags, opts):
    """The lease-checked store of value (with tags() when given): False
    when the lease was lost and nothing was stored."""
    data = c._dumps(value)
    if tags is None:
        return c._lease_set(key, *lease, data, ttl, *opts.write)
    names = tags()
    names = [names] if isinstance(names, (str, bytes, bytearray, memoryview)) else list(names)
    return c._lease_set_tagged(key, *lease, data, ttl, names, *opts.write)


def get_or_compute(c, key, produce, ttl=None, tags=None, opts=CACHE_SETTINGS):
    """key's value, or produce()'s, computed by one caller at a time.

    tags: a callable giving the tags to store the value with (the tagged
    store is lease-checked like any other: cache_lease_set_tagged).
    opts: Settings for this call."""
    status, data, lease = c._lease_get(key, 0, *opts.read)
    if lease is None:
        if status in (OK, STALE):
            return c._loads(data)
        return produce()  # another caller held the lease for lock_timeout
    try:
        value = produce()
    except BaseException:
        c._lease_release(key, *lease)
        if status == OK:  # a failed early refresh: the value is still fresh
            return c._loads(data)
        raise
    try:
        stored = _store(c, key, lease, value, ttl, tags, opts)
    except BaseException:  # e.g. a value the serializer refuses
        c._lease_release(key, *lease)
        raise
    if not stored:
        # A delete or another writer's set came first: what it left wins,
        # as with Django's get_or_set (its second get).
        current = c.get(key, _ABSENT)
        if current is not _ABSENT:
            return current
    return value


async def get_or_compute_async(c, key, produce, ttl=None, tags=None, call=None,
                               opts=CACHE_SETTINGS):
    """get_or_compute for coroutines: produce() returns an awaitable; call
    runs a blocking method off the event loop (call(c, fn, *args)). The
    lease is asked for without waiting in C (the event loop must keep
    running the holder, which may be a task of this very loop): a held
    lease is looked at again after 1 ms, doubling to 50 ms, for at most
    opts' lock timeout (by default 5 s, the core's default lock_timeout)."""
    limit = 5.0 if opts.lock_timeout_ms < 0 else opts.lock_timeout_ms / 1000.0
    delay, waited = 0.001, 0.0
    while True:
        status, data, lease = await call(c, c._lease_get, key, 1, *opts.read)
        if status != WAIT:
            break
        if waited >= limit:
            return await produce()  # the holder is stuck: compute, store nothing
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.05)
    if lease is None:
        if status in (OK, STALE):
            return c._loads(data)
        return await produce()
    try:
        value = await produce()
    except BaseException:
        await call(c, c._lease_release, key, *lease)
        if status == OK:
            return c._loads(data)
        raise
    try:
        stored = await call(c, _store, c, key, lease, value, ttl, tags, opts)
    except BaseException:
        await call(c, c._lease_release, key, *lease)
        raise
    if not stored:
        current = await call(c, c.get, key, _ABSENT)
        if current is not _ABSENT:
            return current
    return value
