"""WSGI middleware that caches whole HTTP responses in a unicache.Cache.

    from unicache.wsgi import CacheMiddleware
    app = CacheMiddleware(app, cache=unicache.Cache("redis://127.0.0.1/0"), ttl=60)

The rules (GET/HEAD, 200 only, Cache-Control, Vary, ETag/If-None-Match)
are described in unicache._http.
"""
from ._http import Middleware, canonical_path, canonical_query

__all__ = ["CacheMiddleware"]

_REASONS = {200: "200 OK", 304: "304 Not Modified"}


def _latin1(text):
    return text.encode("latin-1", "surrogateescape")


def _target(environ):
    """(scheme, fallback host, canonical path, canonical query): from the
    request target as received (RAW_URI, REQUEST_URI) when the server gives
    it, else from the decoded SCRIPT_NAME + PATH_INFO, quoted again."""
    scheme = str(environ.get("wsgi.url_scheme", "http")).lower()
    fallback = environ.get("SERVER_NAME", "")
    port = str(environ.get("SERVER_PORT", ""))
    if port:
        fallback += ":" + port
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        path, _, query = raw.partition("?")
        return scheme, fallback, canonical_path(_latin1(path)), canonical_query(_latin1(query))
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    return (scheme, fallback, canonical_path(_latin1(path), decoded=True),
            canonical_query(_latin1(environ.get("QUERY_STRING", ""))))


def _header_getter(environ):
    # The server has combined repeated request header lines already.
    def get(name):
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        return environ.get(key)
    return get


class CacheMiddleware(Middleware):
    """Cache a WSGI application's responses; see unicache._http.Middleware
    for the arguments."""

    def __call__(self, environ, start_response):
        get_header = _header_getter(environ)
        plan = self.http.plan(environ.get("REQUEST_METHOD", "GET"), _target(environ), get_header)
        if plan is None:
            return self.app(environ, start_response)
        if plan.lookup:
            stored = self.http.lookup(plan, get_header)
            if stored is not None:
                return self._send(stored, get_header, True, plan.head, start_response)
        if not plan.store:
            return self.app(environ, start_response)
        return self._run(environ, start_response, plan, get_header)

    def _send(self, stored, get_header, hit, head, start_response):
        status, headers, with_body = self.http.respond(stored, get_header, hit)
        start_response(_REASONS[status], headers)
        return [stored.body] if with_body and not head else []

    def _run(self, environ, start_response, plan, get_header):
        started = []
        chunks = []

        def capture(status, headers, exc_info=None):
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, list(headers), exc_info]
            return chunks.append  # the legacy write() callable

        result = self.app(environ, capture)
        iterator = iter(result)
        try:
            # WSGI apps may call start_response lazily, on the first chunk.
            while not started:
                chunks.append(next(iterator))
        except StopIteration:
            iterator = iter(())
        except BaseException:
            _close(result)
            raise
        if not started:
            _close(result)
            raise RuntimeError("the WSGI application returned without calling start_response")
        status, headers, exc_info = started
        code = int(status.split(" ", 1)[0]) if status[:3].isdigit() else 0
        lifetime = self.http.lifetime(code, headers)
        if lifetime is not None:
            try:
                size = sum(len(c) for c in chunks)
                while size <= self.http.max_body:
                    chunk = next(iterator)
                    chunks.append(chunk)
                    size += len(chunk)
            except StopIteration:
                _close(result)
                stored = self.http.store(plan, get_header, headers, b"".join(chunks), lifetime)
                return self._send(stored, get_header, False, False, start_response)
            except BaseException:
                _close(result)
                raise
        # Not storable (or too big): pass it through as it comes.
        start_response(status, headers, exc_info)
        return _Passthrough(chunks, iterator, result)


def _close(result):
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _Passthrough:
    """The buffered chunks, then the rest; close() closes the app's result."""

    def __init__(self, chunks, iterator, result):
        self._chunks = chunks
        self._iterator = iterator
        self._result = result

    def __iter__(self):
        yield from self._chunks
        self._chunks = []
        yield from self._iterator

    def close(self):
        _close(self._result)
