"""cache_evict, cache_invalidate, cache_invalidate_pattern: remove
entries when a function runs."""
import functools
import inspect

from ._cache import call_async
from ._fetch import check_cache_arg, resolve
from ._keys import KeySpec, check_spec
from ._shapes import check_plain_function, split_method_wrapper


def _make_evicting(func, *, keys, patterns, tags, before, cache, decorator):
    func, rewrap = split_method_wrapper(func)
    check_plain_function(func, decorator)
    spec = KeySpec(func)

    def plan(args, kwargs):
        return (spec.expand(keys, args, kwargs), spec.expand(patterns, args, kwargs),
                spec.expand(tags, args, kwargs))

    def evict(c, planned):
        doomed, globs, names = planned
        if doomed:
            c.delete_many(doomed)
        for pattern in globs:
            c.delete_pattern(pattern)
        if names:
            c.invalidate_tags(names)

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            planned = plan(args, kwargs)
            c = resolve(cache)
            if before:
                await call_async(c, evict, c, planned)
            result = await func(*args, **kwargs)
            if not before:
                await call_async(c, evict, c, planned)
            return result
    else:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            planned = plan(args, kwargs)
            c = resolve(cache)
            if before:
                evict(c, planned)
            result = func(*args, **kwargs)
            if not before:
                evict(c, planned)
            return result

    return rewrap(wrapper) if rewrap else wrapper


def cache_evict(key=None, *, pattern=None, tags=None, before=False, cache=None):
    """Remove entries when the function runs: after it returns (not if it
    raises), or before it runs with before=True.

    key, pattern, tags: a str.format template over the arguments, a
    callable(*args, **kwargs) returning one or a list, or a list of those.
    A cached function's cache_key works as a callable:
    ``@cache_evict(key=get_user.cache_key)``. Patterns are globs (not
    supported on memcached: NotSupported).
    """
    for spec, what in ((key, "key"), (pattern, "pattern"), (tags, "tags")):
        check_spec(spec, what)
    if key is None and pattern is None and tags is None:
        raise TypeError("cache_evict needs key=, pattern= or tags=")
    check_cache_arg(cache)

    def decorate(func):
        return _make_evicting(func, keys=key, patterns=pattern, tags=tags, before=before,
                              cache=cache, decorator="cache_evict")

    return decorate


def cache_invalidate(keys, *, cache=None, before=False):
    """Delete keys (templates, callables or a list of them) after the
    function returns; see cache_evict."""
    if keys is None:
        raise TypeError("cache_invalidate needs keys")
    return cache_evict(keys, cache=cache, before=before)


def cache_invalidate_pattern(pattern, *, cache=None, before=False):
    """Delete every key matching a glob pattern (template or callable)
    after the function returns; see cache_evict."""
    if pattern is None:
        raise TypeError("cache_invalidate_pattern needs a pattern")
    return cache_evict(pattern=pattern, cache=cache, before=before)
