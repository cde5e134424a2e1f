"""The C core's stampede protection (cache_lease_*) for Python: one compute
per key across every process and thread sharing the backend, with the
cache's stale_ttl and early_refresh (URI parameters) applied. A compute
that raises releases the lease at once and caches nothing."""

import asyncio

OK, MISS, STALE, WAIT = 0, 1, 2, 3


_ABSENT = object()


def get_or_compute(c, key, produce, ttl=None, tags=None):
    """key's value, or produce()'s, computed by one caller at a time.

    tags: a callable giving the tags to store the value with (tagged stores
    are not lease-checked: the lease is released and the value set)."""
    status, data, lease = c._lease_get(key)
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
    if tags is not None:
        c._lease_release(key, *lease)
        c.set(key, value, ttl, tags=tags())
        return value
    try:
        stored = c._lease_set(key, *lease, c._dumps(value), ttl)
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


async def get_or_compute_async(c, key, produce, ttl=None, tags=None, call=None):
    """get_or_compute for coroutines: produce() returns an awaitable; call
    runs a blocking method off the event loop (call(c, fn, *args)). The
    lease is asked for without waiting in C (the event loop must keep
    running the holder, which may be a task of this very loop): a held
    lease is looked at again after 1 ms, doubling to 50 ms, for at most
    the default lock_timeout (5 s)."""
    delay, waited = 0.001, 0.0
    while True:
        status, data, lease = await call(c, c._lease_get, key, 1)
        if status != WAIT:
            break
        if waited >= 5.0:
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
    if tags is not None:
        await call(c, c._lease_release, key, *lease)
        await call(c, c.set, key, value, ttl, tags=tags())
        return value
    try:
        stored = await call(c, c._lease_set, key, *lease, c._dumps(value), ttl)
    except BaseException:
        await call(c, c._lease_release, key, *lease)
        raise
    if not stored:
        current = await call(c, c.get, key, _ABSENT)
        if current is not _ABSENT:
            return current
    return value
