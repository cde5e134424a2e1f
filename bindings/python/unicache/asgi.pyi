# Type stubs for unicache.asgi.
from typing import Any, Awaitable, Callable, MutableMapping

from . import Cache

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

class CacheMiddleware:
    app: ASGIApplication
    def __init__(
        self,
        app: ASGIApplication,
        cache: Cache | None = None,
        *,
        ttl: int | float = 60,
        key_prefix: str = "unicache.http:",
        max_body: int = 1048576,
    ) -> None: ...
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...
