# Type stubs for unicache.wsgi.
from typing import Any, Callable, Iterable

from ._http import Middleware

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

class CacheMiddleware(Middleware):
    app: WSGIApplication
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]: ...
