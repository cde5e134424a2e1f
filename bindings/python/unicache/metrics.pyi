# Type stubs for unicache.metrics.
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence

from . import Cache

CONTENT_TYPE: str

Caches = Cache | Sequence[Cache] | Mapping[str, Cache]

def metrics_text(caches: Caches) -> str: ...

class MetricsApp:
    caches: Caches
    path: str
    def __init__(self, caches: Caches, path: str = ...) -> None: ...
    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]: ...

class AsgiMetricsApp:
    caches: Caches
    path: str
    def __init__(self, caches: Caches, path: str = ...) -> None: ...
    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None: ...
