# Type stubs for what the WSGI and ASGI middleware share.
from typing import Any

from . import Cache

class Middleware:
    app: Any
    def __init__(
        self,
        app: Any,
        cache: Cache | None = None,
        *,
        ttl: int | float = 60,
        key_prefix: str = "unicache.http:",
        max_body: int = 1048576,
        cache_authorized: bool = False,
        cache_set_cookie: bool = False,
        trust_forwarded_host: bool = False,
    ) -> None: ...
