# Type stubs for unicache.wsgi.
from typing import Any, Callable, Iterable

from . import Cache

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

class CacheMiddleware:
    app: WSGIApplication
    def __init__(
        self,
        app: WSGIApplication,
        cache: Cache | None = None,
        *,
        ttl: int | float = 60,
        key_prefix: str = "unicache.http:",
        max_body: int = 1048576,
    ) -> None: ...
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]: ...
