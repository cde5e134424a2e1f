# Type stubs for unicache.asgi.
from typing import Any, Awaitable, Callable, MutableMapping

from ._http import Middleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

class CacheMiddleware(Middleware):
    app: ASGIApplication
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...
