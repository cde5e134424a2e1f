"""ASGI middleware that caches whole HTTP responses in a unicache.Cache.

    from unicache.asgi import CacheMiddleware
    app = CacheMiddleware(app, cache=unicache.Cache("redis://127.0.0.1/0"), ttl=60)

The rules (GET/HEAD, 200 only, Cache-Control, Vary, ETag/If-None-Match)
are described in unicache._http. Cache calls on network and file backends
run in the loop's default executor, so a slow server never stalls the loop.
Non-HTTP scopes (websocket, lifespan) pass straight through.
"""
from ._cache import call_async
from ._http import Middleware, canonical_path, canonical_query, combine

__all__ = ["CacheMiddleware"]


def _header_getter(scope):
    """Request headers by lowercase name, repeated lines combined."""
    lines = {}
    for name, value in scope.get("headers", ()):
        lines.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    headers = {name: combine(values) for name, values in lines.items()}
    return headers.get


def _target(scope):
    """(scheme, fallback host, canonical path, canonical query), from
    raw_path (as received) when the server gives it, else from the decoded
    root_path + path, quoted again."""
    scheme = str(scope.get("scheme", "http")).lower()
    name, port = scope.get("server") or ("", None)
    fallback = name if port is None else "%s:%s" % (name, port)
    raw = scope.get("raw_path")
    if raw:
        path = canonical_path(bytes(raw))
    else:
        path = canonical_path((scope.get("root_path", "") + scope.get("path", "")).encode(
            "utf-8", "surrogateescape"), decoded=True)
    return scheme, fallback, path, canonical_query(bytes(scope.get("query_string", b"")))


def _encode(headers):
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


class CacheMiddleware(Middleware):
    """Cache an ASGI application's responses; see unicache._http.Middleware
    for the arguments."""

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        get_header = _header_getter(scope)
        plan = self.http.plan(scope.get("method", "GET"), _target(scope), get_header)
        if plan is None:
            return await self.app(scope, receive, send)
        cache = self.http.cache
        if plan.lookup:
            stored = await call_async(cache, self.http.lookup, plan, get_header)
            if stored is not None:
                return await self._send(send, stored, get_header, True, plan.head)
        if not plan.store:
            return await self.app(scope, receive, send)
        await self._run(scope, receive, send, plan, get_header, cache)

    async def _send(self, send, stored, get_header, hit, head):
        status, headers, with_body = self.http.respond(stored, get_header, hit)
        await send({"type": "http.response.start", "status": status,
                    "headers": _encode(headers)})
        body = stored.body if with_body and not head else b""
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _run(self, scope, receive, send, plan, get_header, cache):
        state = {"start": None, "lifetime": None, "passing": False}
        chunks = []
        size = 0

        async def flush():
            state["passing"] = True
            await send(state["start"])
            for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            chunks.clear()

        async def capture(message):
            nonlocal size
            kind = message.get("type")
            if state["passing"]:
                return await send(message)
            if kind == "http.response.start":
                state["start"] = message
                headers = [(k.decode("latin-1"), v.decode("latin-1"))
                           for k, v in message.get("headers", ())]
                state["headers"] = headers
                if not message.get("trailers"):
                    state["lifetime"] = self.http.lifetime(message.get("status", 0), headers)
                if state["lifetime"] is None:
                    await flush()
                return None
            if kind != "http.response.body" or state["start"] is None:
                return await send(message)
            body = message.get("body", b"")
            chunks.append(body)
            size += len(body)
            if size > self.http.max_body:
                await flush()
                return await send({"type": "http.response.body", "body": b"",
                                   "more_body": message.get("more_body", False)})
            if not message.get("more_body", False):
                stored = await call_async(cache, self.http.store, plan, get_header,
                                          state["headers"], b"".join(chunks),
                                          state["lifetime"])
                state["passing"] = True
                return await self._send(send, stored, get_header, False, False)
            return None

        await self.app(scope, receive, capture)
