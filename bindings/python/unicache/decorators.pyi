# Type stubs for unicache.decorators.
from typing import Any, Awaitable, Callable, Generic, Iterable, Protocol, TypeVar, overload

from . import TTL, Cache, Key

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")

CacheArg = Cache | Callable[[], Cache] | None
# A str.format template over the arguments, a callable(*args, **kwargs)
# returning one or several, or a list of those.
KeySpec = str | bytes | Callable[..., Key | Iterable[Key]] | Iterable[str | bytes | Callable[..., Any]]

class CachedFunction(Protocol):
    # What @cached and @memoize add to the decorated function.
    def cache_key(self, *args: Any, **kwargs: Any) -> Key: ...
    def cache_delete(self, *args: Any, **kwargs: Any) -> bool: ...
    def cache_clear(self) -> None: ...
    cache_tag: str | None

@overload
def cached(ttl: _F) -> _F: ...
@overload
def cached(
    ttl: TTL = None,
    *,
    key: str | None = None,
    key_builder: Callable[..., Key] | None = None,
    unless: Callable[..., bool] | None = None,
    tags: KeySpec | None = None,
    cache: CacheArg = None,
    stale_ttl: TTL = None,
    early_refresh: float | None = None,
    lock: TTL = None,
) -> Callable[[_F], _F]: ...
@overload
def memoize(maxsize: _F) -> _F: ...
@overload
def memoize(maxsize: int | None = 128, ttl: TTL = None) -> Callable[[_F], _F]: ...

class cached_property(Generic[_T]):
    ttl: TTL
    def __init__(
        self,
        func: Callable[[Any], _T] | None = None,
        *,
        ttl: TTL = None,
        key: Callable[[Any], str] | None = None,
        cache: CacheArg = None,
        stale_ttl: TTL = None,
        early_refresh: float | None = None,
        lock: TTL = None,
    ) -> None: ...
    def __call__(self, func: Callable[[Any], _T]) -> cached_property[_T]: ...
    def __set_name__(self, owner: type, name: str) -> None: ...
    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> cached_property[_T]: ...
    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> _T: ...
    def __set__(self, obj: object, value: _T) -> None: ...
    def __delete__(self, obj: object) -> None: ...

def cache_evict(
    key: KeySpec | None = None,
    *,
    pattern: KeySpec | None = None,
    tags: KeySpec | None = None,
    before: bool = False,
    cache: CacheArg = None,
) -> Callable[[_F], _F]: ...
def cache_invalidate(keys: KeySpec, *, cache: CacheArg = None, before: bool = False) -> Callable[[_F], _F]: ...
def cache_invalidate_pattern(pattern: KeySpec, *, cache: CacheArg = None, before: bool = False) -> Callable[[_F], _F]: ...
