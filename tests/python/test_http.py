"""WSGI and ASGI middleware, each behind a real HTTP server from the
standard library, driven with real requests (http.client)."""
import email.utils
import http.client
import threading
import time

import pytest

import unicache
from unicache import _http
from unicache.asgi import CacheMiddleware as AsgiCache
from unicache.wsgi import CacheMiddleware as WsgiCache

from http_servers import AsgiServer, WsgiServer

MAX_BODY = 4096


def _routes():
    future = email.utils.formatdate(time.time() + 120, usegmt=True)
    past = email.utils.formatdate(time.time() - 120, usegmt=True)
    return {
        "/plain": (200, [], None),
        "/maxage": (200, [("Cache-Control", "public, max-age=50")], None),
        "/smaxage": (200, [("Cache-Control", "max-age=5, s-maxage=40")], None),
        "/nostore": (200, [("Cache-Control", "no-store")], None),
        "/private": (200, [("Cache-Control", "private, max-age=60")], None),
        "/nocache": (200, [("Cache-Control", "no-cache")], None),
        "/maxage0": (200, [("Cache-Control", "max-age=0")], None),
        "/notfound": (404, [], None),
        "/redirect": (302, [("Location", "/plain")], None),
        "/cookie": (200, [("Set-Cookie", "session=1")], None),
        "/vary": (200, [("Vary", "Accept-Language")], "accept-language"),
        "/varystar": (200, [("Vary", "*")], None),
        "/etag": (200, [("ETag", '"app-tag"')], None),
        "/expires": (200, [("Expires", future)], None),
        "/expired": (200, [("Expires", past)], None),
        "/big": (200, [], None),
        "/chunks": (200, [], None),
        # Two Vary lines and two Cache-Control lines (issue 10, item 9).
        "/twovary": (200, [("Vary", "Accept-Language"), ("Vary", "X-User")], "x-user"),
        "/twocc": (200, [("Cache-Control", "max-age=60"), ("Cache-Control", "private")], None),
        "/nonascii": (200, [("Vary", "X-Name")], "x-name"),
    }


class Backend:
    """The application behind the middleware: counts calls per path, and
    answers each route with its status and headers; the body names the
    path, the call number and (for /vary) the request header."""

    def __init__(self):
        self.routes = _routes()
        self.calls = {}
        self.lock = threading.Lock()

    def respond(self, method, path, get_header, query=""):
        with self.lock:
            n = self.calls[path] = self.calls.get(path, 0) + 1
        default = (200, [], None) if path.startswith("/any/") else (404, [], None)
        status, headers, echo = self.routes.get(path, default)
        body = "%s %s%s call %d" % (method, path, "?" + query if query else "", n)
        if echo:
            body += " " + str(get_header(echo))
        data = body.encode("latin-1", "replace")
        if path == "/big":
            data = b"x" * (MAX_BODY + 1)
        chunks = [data[:3], data[3:]] if path == "/chunks" else [data]
        headers = [("Content-Type", "text/plain")] + headers
        return status, headers, chunks


def wsgi_app(backend):
    def app(environ, start_response):
        def get_header(name):
            return environ.get("HTTP_" + name.upper().replace("-", "_"))

        status, headers, chunks = backend.respond(environ["REQUEST_METHOD"],
                                                  environ["PATH_INFO"], get_header,
                                                  environ.get("QUERY_STRING", ""))
        if environ["PATH_INFO"] == "/chunks":
            # Lazy start_response, as generator apps do.
            def body():
                start_response("%d X" % status, headers)
                yield from chunks
            return body()
        write = start_response("%d X" % status, headers)
        if environ["PATH_INFO"] == "/big":
            write(chunks[0])  # the legacy write() callable
            return []
        return chunks
    return app


def asgi_app(backend):
    async def app(scope, receive, send):
        assert scope["type"] == "http"
        headers_in = {k.decode(): v.decode("latin-1") for k, v in scope["headers"]}
        status, headers, chunks = backend.respond(scope["method"], scope["path"],
                                                  headers_in.get,
                                                  scope["query_string"].decode("latin-1"))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": i < len(chunks) - 1})
    return app


@pytest.fixture(params=["wsgi", "asgi"])
def site(request, cache):
    backend = Backend()
    if request.param == "wsgi":
        server = WsgiServer(WsgiCache(wsgi_app(backend), cache, ttl=30, max_body=MAX_BODY))
    else:
        server = AsgiServer(AsgiCache(asgi_app(backend), cache, ttl=30, max_body=MAX_BODY))
    site = Site(server.port, backend, cache)
    yield site
    server.stop()


class Site:
    def __init__(self, port, backend, cache):
        self.port = port
        self.backend = backend
        self.cache = cache

    def request(self, path, method="GET", headers=None, lines=()):
        """headers: a dict; lines: (name, value) pairs sent as they are,
        repeated names as separate lines."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            if lines:
                conn.putrequest(method, path, skip_accept_encoding=True)
                for name, value in lines:
                    conn.putheader(name, value)
                conn.endheaders()
            else:
                conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()

    def calls(self, path):
        return self.backend.calls.get(path, 0)

    def key(self, path):
        path, _, query = path.partition("?")
        return _http.base_key("unicache.http:", "http", "127.0.0.1:%d" % self.port,
                              _http.canonical_path(path.encode()),
                              _http.canonical_query(query.encode()))


def test_get_is_cached_with_etag_and_age(site):
    status, headers, body = site.request("/plain")
    assert status == 200 and body == b"GET /plain call 1"
    assert headers["x-cache"] == "MISS"
    assert headers["etag"].startswith('"') and headers["content-length"] == str(len(body))
    status, again, body2 = site.request("/plain")
    assert status == 200 and body2 == body
    assert again["x-cache"] == "HIT" and int(again["age"]) >= 0
    assert again["etag"] == headers["etag"]
    assert again["content-type"] == "text/plain"
    assert site.calls("/plain") == 1
    assert 28 < site.cache.ttl(site.key("/plain")) <= 30  # the middleware's ttl


def test_query_strings_are_separate_entries(site):
    assert site.request("/plain?a=1")[2] == b"GET /plain?a=1 call 1"
    assert site.request("/plain?a=2")[2] == b"GET /plain?a=2 call 2"
    assert site.request("/plain?a=1")[2] == b"GET /plain?a=1 call 1"


def test_head_served_from_the_get_entry(site):
    status, headers, body = site.request("/plain", "HEAD")
    assert status == 200 and body == b""
    assert site.calls("/plain") == 1  # passed through, nothing stored
    assert site.request("/plain")[2] == b"GET /plain call 2"
    status, headers, body = site.request("/plain", "HEAD")
    assert status == 200 and body == b""
    assert headers["x-cache"] == "HIT"
    assert headers["content-length"] == str(len(b"GET /plain call 2"))
    assert site.calls("/plain") == 2


def test_if_none_match_gets_304(site):
    etag = site.request("/plain")[1]["etag"]
    for tag in (etag, "W/" + etag, '"other", ' + etag, "*"):
        status, headers, body = site.request("/plain", headers={"If-None-Match": tag})
        assert status == 304 and body == b""
        assert headers["etag"] == etag and headers["x-cache"] == "HIT"
        assert "content-type" not in headers
    status, _, body = site.request("/plain", headers={"If-None-Match": '"other"'})
    assert status == 200 and body == b"GET /plain call 1"
    assert site.calls("/plain") == 1


def test_if_none_match_on_a_miss(site):
    etag = site.request("/etag")[1]["etag"]
    assert etag == '"app-tag"'  # the application's ETag is kept
    site.cache.clear()
    status, headers, body = site.request("/etag", headers={"If-None-Match": '"app-tag"'})
    assert status == 304 and body == b"" and headers["x-cache"] == "MISS"


def test_response_max_age_and_s_maxage(site):
    site.request("/maxage")
    assert 48 < site.cache.ttl(site.key("/maxage")) <= 50
    site.request("/smaxage")
    assert 38 < site.cache.ttl(site.key("/smaxage")) <= 40
    site.request("/expires")
    assert 100 < site.cache.ttl(site.key("/expires")) <= 120


@pytest.mark.parametrize("path", ["/nostore", "/private", "/nocache", "/maxage0", "/notfound",
                                  "/redirect", "/cookie", "/varystar", "/expired"])
def test_not_stored(site, path):
    first = site.request(path)
    second = site.request(path)
    assert site.calls(path) == 2
    assert first[0] == second[0]
    assert "x-cache" not in second[1]
    assert site.cache.get(site.key(path) + "/vary") is None


def test_post_is_not_cached(site):
    site.request("/plain", "POST")
    site.request("/plain", "POST")
    assert site.calls("/plain") == 2


def test_request_cache_control(site):
    site.request("/plain")
    status, headers, body = site.request("/plain", headers={"Cache-Control": "no-cache"})
    assert body == b"GET /plain call 2" and headers["x-cache"] == "MISS"
    assert site.request("/plain")[2] == b"GET /plain call 2"  # refreshed
    site.request("/plain", headers={"Pragma": "no-cache"})
    site.request("/plain", headers={"Cache-Control": "max-age=0"})
    assert site.calls("/plain") == 4
    status, headers, body = site.request("/maxage", headers={"Cache-Control": "no-store"})
    assert "x-cache" not in headers
    assert site.request("/maxage")[1]["x-cache"] == "MISS"  # no-store stored nothing


def test_authorization_bypasses(site):
    site.request("/plain")
    status, headers, body = site.request("/plain", headers={"Authorization": "Bearer x"})
    assert body == b"GET /plain call 2" and "x-cache" not in headers


def test_vary(site):
    fr = site.request("/vary", headers={"Accept-Language": "fr"})
    de = site.request("/vary", headers={"Accept-Language": "de"})
    assert fr[2] == b"GET /vary call 1 fr" and de[2] == b"GET /vary call 2 de"
    assert site.request("/vary", headers={"Accept-Language": "fr"})[2] == fr[2]
    assert site.request("/vary", headers={"Accept-Language": "de"})[1]["x-cache"] == "HIT"
    none = site.request("/vary")
    assert none[2] == b"GET /vary call 3 None"
    assert site.calls("/vary") == 3


def test_big_bodies_pass_through(site):
    for _ in range(2):
        status, headers, body = site.request("/big")
        assert status == 200 and body == b"x" * (MAX_BODY + 1)
    assert site.calls("/big") == 2


def test_streamed_bodies_are_stored_whole(site):
    first = site.request("/chunks")
    second = site.request("/chunks")
    assert first[2] == second[2] == b"GET /chunks call 1"
    assert second[1]["x-cache"] == "HIT"


def test_entries_are_shared_format(site):
    site.request("/plain")
    data = site.cache._get_raw(site.key("/plain"))
    stored = _http.Stored.decode(data)
    assert stored.body == b"GET /plain call 1"
    assert data.startswith(b"UCH1\n")


def test_damaged_entry_is_a_miss(site):
    site.request("/plain")
    site.cache._set(site.key("/plain"), b"garbage")
    assert site.request("/plain")[2] == b"GET /plain call 2"


def test_middleware_arguments():
    app = wsgi_app(Backend())
    with pytest.raises(TypeError):
        WsgiCache(app, cache="memory://")
    with pytest.raises(ValueError):
        WsgiCache(app, ttl=0)
    with pytest.raises(ValueError):
        AsgiCache(app, max_body=-1)


def test_cache_control_parsing():
    assert _http.cache_control('Max-Age=5, no-cache="set-cookie", private') == {
        "max-age": "5", "no-cache": "set-cookie", "private": None}
    assert _http.cache_control(None) == {}


def test_asgi_passes_other_scopes():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    import asyncio
    asyncio.run(AsgiCache(inner, unicache.Cache("memory://"))({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]


# ------------------------------------- poisoning (issue 10, items 7, 8, 9)

def test_an_encoded_query_is_not_the_query(site):
    attacker = site.request("/any/a%3Fb=1")
    assert attacker[2] == b"GET /any/a?b=1 call 1"  # PATH_INFO "/any/a?b=1"
    victim = site.request("/any/a?b=1")
    assert victim[1]["x-cache"] == "MISS" and victim[2] == b"GET /any/a?b=1 call 1"
    assert site.calls("/any/a") == 1 and site.calls("/any/a?b=1") == 1


def test_an_encoded_bar_is_not_a_key_separator(site):
    first = site.request("/any/w")
    assert site.request("/any/w")[1]["x-cache"] == "HIT"
    # Under the old scheme this entry's key was /any/w's "|vary" list.
    assert site.request("/any/w%7Cvary")[2] == b"GET /any/w|vary call 1"
    again = site.request("/any/w")
    assert again[1]["x-cache"] == "HIT" and again[2] == first[2]
    assert site.calls("/any/w") == 1


def test_a_host_with_a_path_is_not_cached(site):
    attacker = site.request("/", headers={"Host": "site.example/admin"})
    assert "x-cache" not in attacker[1]
    victim = site.request("/admin/", headers={"Host": "site.example"})
    assert victim[0] == 404 or victim[1].get("x-cache") != "HIT"
    for host in ("site.example/admin", "a@site.example", "site.example:99999", "site example"):
        status, headers, _ = site.request("/plain", headers={"Host": host})
        assert "x-cache" not in headers, host
    assert site.request("/plain", headers={"Host": "Site.Example:80"})[1]["x-cache"] == "MISS"
    assert site.request("/plain", headers={"Host": "site.example"})[1]["x-cache"] == "HIT"


def test_an_untrusted_forwarded_host_is_not_cached(site):
    site.request("/plain")
    status, headers, body = site.request("/plain", headers={"X-Forwarded-Host": "evil.example"})
    assert "x-cache" not in headers and body == b"GET /plain call 2"


def test_repeated_vary_lines_all_count(site):
    alice = site.request("/twovary", lines=[("Accept-Language", "fr"), ("X-User", "alice")])
    bob = site.request("/twovary", lines=[("Accept-Language", "fr"), ("X-User", "bob")])
    assert alice[2] == b"GET /twovary call 1 alice" and bob[2] == b"GET /twovary call 2 bob"
    again = site.request("/twovary", lines=[("Accept-Language", "fr"), ("X-User", "alice")])
    assert again[1]["x-cache"] == "HIT" and again[2] == alice[2]


def test_a_second_cache_control_line_counts(site):
    site.request("/twocc")
    second = site.request("/twocc")
    assert "x-cache" not in second[1] and site.calls("/twocc") == 2


def test_repeated_request_lines_are_one_vary_value(site):
    first = site.request("/vary", lines=[("Accept-Language", "fr"), ("Accept-Language", "de")])
    again = site.request("/vary", lines=[("Accept-Language", "fr, de")])
    assert again[1]["x-cache"] == "HIT" and again[2] == first[2]
    other = site.request("/vary", lines=[("Accept-Language", "fr")])
    assert other[1]["x-cache"] == "MISS"


def test_cookies_and_authorization_bypass_unless_configured(site):
    site.request("/plain")
    for headers in ({"Cookie": "session=alice"}, {"Authorization": "Bearer x"}):
        status, got, body = site.request("/plain", headers=headers)
        assert "x-cache" not in got
    assert site.calls("/plain") == 3


def test_options_allow_cookies_and_set_cookie(cache):
    backend = Backend()
    app = WsgiCache(wsgi_app(backend), cache, cache_authorized=True, cache_set_cookie=True)
    server = WsgiServer(app)
    try:
        s = Site(server.port, backend, cache)
        s.request("/cookie", headers={"Cookie": "a=1"})
        status, headers, body = s.request("/cookie", headers={"Cookie": "a=1"})
        assert headers["x-cache"] == "HIT" and headers["set-cookie"] == "session=1"
    finally:
        server.stop()


def test_a_trusted_forwarded_host_is_its_own_key_part(cache):
    backend = Backend()
    server = WsgiServer(WsgiCache(wsgi_app(backend), cache, trust_forwarded_host=True))
    try:
        s = Site(server.port, backend, cache)
        a = s.request("/plain", headers={"X-Forwarded-Host": "a.example"})
        b = s.request("/plain", headers={"X-Forwarded-Host": "proxy.example, b.example"})
        assert a[1]["x-cache"] == "MISS" and b[1]["x-cache"] == "MISS"
        assert s.request("/plain", headers={"X-Forwarded-Host": "b.example"})[2] == b[2]
        bad = s.request("/plain", headers={"X-Forwarded-Host": "a.example/admin"})
        assert "x-cache" not in bad[1]
        assert backend.calls["/plain"] == 3
    finally:
        server.stop()
