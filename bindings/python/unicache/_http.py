"""HTTP response caching rules, shared by the WSGI and ASGI middleware.

What is cached: responses with status 200 to GET requests, unless the
request has Authorization, the request says Cache-Control: no-store, or
the response says Cache-Control: no-store, no-cache or private, sets a
cookie, has Vary: *, or has a body larger than max_body. A HEAD request
is answered from the GET entry; it never creates one.

How long: the response's s-maxage, else max-age, else Expires, else the
middleware's ttl. max-age=0 (or an Expires in the past) is not stored.

Requests with Cache-Control: no-cache (or max-age=0, or Pragma: no-cache)
skip the lookup but may refresh the entry. Vary is honoured: each
combination of the named request headers is a separate entry.

Every response the middleware stores or serves carries an ETag (the
application's, else a SHA-256 of the body) and an X-Cache: HIT/MISS
header; hits also carry Age. A request whose If-None-Match names the ETag
gets 304 Not Modified with no body.

Entries are stored as bytes, whatever the cache's serializer, in a format
the Ruby Rack middleware shares (the same cache can serve both).
"""
import collections
import email.utils
import hashlib
import json
import time

from ._cache import Cache, default_cache

METHODS = ("GET", "HEAD")
_MAGIC = b"UCH1\n"
_MAX_KEY = 200
# Hop-by-hop headers belong to one connection, never to a stored response.
_HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate",
                         "proxy-authorization", "te", "trailer", "transfer-encoding",
                         "upgrade"))
# What a 304 carries (RFC 9110, 15.4.5).
_NOT_MODIFIED_HEADERS = frozenset(("cache-control", "content-location", "date", "etag",
                                   "expires", "vary"))


def cache_control(value):
    """{directive: value or None} of a Cache-Control header (lowercase names)."""
    out = {}
    for part in (value or "").split(","):
        name, _, arg = part.strip().partition("=")
        name = name.strip().lower()
        if name:
            out[name] = arg.strip().strip('"') if arg else None
    return out


def _seconds(arg):
    try:
        n = int(arg)
    except (TypeError, ValueError):
        return None
    return n if n >= 0 else None


def _header(headers, name):
    """The first value of a header in a list of (name, value) pairs."""
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def _etag_matches(if_none_match, etag):
    """Weak comparison, as If-None-Match requires."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    mine = etag[2:] if etag.startswith("W/") else etag
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == mine:
            return True
    return False


class Stored(collections.namedtuple("Stored", "headers body stored_at etag")):
    """A cached response (always a 200)."""

    __slots__ = ()

    def encode(self):
        head = json.dumps({"status": 200, "headers": self.headers, "stored_at": self.stored_at,
                           "etag": self.etag}, separators=(",", ":"))
        return _MAGIC + head.encode("utf-8") + b"\n" + self.body

    @classmethod
    def decode(cls, data):
        if not data.startswith(_MAGIC):
            return None
        head, sep, body = data[len(_MAGIC):].partition(b"\n")
        if not sep:
            return None
        try:
            meta = json.loads(head)
            headers = [(str(k), str(v)) for k, v in meta["headers"]]
            return cls(headers, body, float(meta["stored_at"]), str(meta["etag"]))
        except (ValueError, KeyError, TypeError):
            return None  # not ours or damaged: treat as a miss


# What to do with one request: look it up? store the response? HEAD?
Plan = collections.namedtuple("Plan", "key lookup store head")


class HttpCache:
    """The rules, on one cache. Request headers are passed as a callable
    get(lowercase_name) -> str or None; response headers as (name, value)
    pairs of str."""

    def __init__(self, cache=None, *, ttl=60, key_prefix="unicache.http:", max_body=1 << 20):
        if cache is not None and not isinstance(cache, Cache):
            raise TypeError("cache must be a unicache.Cache or None (the default cache), not %s"
                            % type(cache).__name__)
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise ValueError("ttl must be a number of seconds > 0")
        if not isinstance(key_prefix, str):
            raise TypeError("key_prefix must be str")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 0:
            raise ValueError("max_body must be an int >= 0")
        self._cache = cache
        self.ttl = ttl
        self.key_prefix = key_prefix
        self.max_body = max_body

    @property
    def cache(self):
        return self._cache if self._cache is not None else default_cache()

    # -------------------------------------------------------------- request

    def plan(self, method, url, get_header):
        """A Plan, or None when the request must go straight to the app."""
        if method not in METHODS or get_header("authorization") is not None:
            return None
        cc = cache_control(get_header("cache-control"))
        if "no-store" in cc:
            return None
        no_cache = ("no-cache" in cc or cc.get("max-age") == "0"
                    or "no-cache" in (get_header("pragma") or "").lower())
        return Plan(self._base_key(url), not no_cache, method == "GET", method == "HEAD")

    def _base_key(self, url):
        key = self.key_prefix + url
        if len(key) > _MAX_KEY:
            key = self.key_prefix + "#" + hashlib.sha256(url.encode("utf-8", "surrogateescape")
                                                         ).hexdigest()
        return key

    @staticmethod
    def _variant_key(base, vary, get_header):
        if not vary:
            return base
        values = json.dumps([get_header(name) for name in vary], separators=(",", ":"))
        return base + "|" + hashlib.sha256(values.encode("utf-8")).hexdigest()[:32]

    def lookup(self, plan, get_header):
        """The Stored response for this request, or None."""
        cache = self.cache
        meta = cache._get_raw(plan.key + "|vary")
        if meta is None:
            return None
        try:
            vary = [str(v) for v in json.loads(meta)]
        except ValueError:
            return None
        data = cache._get_raw(self._variant_key(plan.key, vary, get_header))
        return None if data is None else Stored.decode(data)

    # ------------------------------------------------------------- response

    def lifetime(self, status, headers, now=None):
        """Seconds to keep a response for, or None when it must not be stored."""
        if status != 200 or _header(headers, "set-cookie") is not None:
            return None
        cc = cache_control(_header(headers, "cache-control"))
        if "no-store" in cc or "private" in cc or "no-cache" in cc:
            return None
        vary = _header(headers, "vary")
        if vary is not None and vary.strip() == "*":
            return None
        for directive in ("s-maxage", "max-age"):
            if directive in cc:
                seconds = _seconds(cc[directive])
                return seconds if seconds else None
        expires = _header(headers, "expires")
        if expires is not None:
            try:
                when = email.utils.parsedate_to_datetime(expires).timestamp()
            except (TypeError, ValueError):
                return None  # an invalid Expires means "already expired"
            seconds = when - (now if now is not None else time.time())
            return seconds if seconds >= 1 else None
        return self.ttl

    def store(self, plan, get_header, headers, body, lifetime):
        """Store a 200 response; returns the Stored (with its ETag) that
        the caller should now send."""
        kept = [(k, v) for k, v in headers
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"]
        kept.append(("Content-Length", str(len(body))))
        etag = _header(kept, "etag")
        if etag is None:
            etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
            kept.append(("ETag", etag))
        vary = sorted({v.strip().lower() for v in (_header(kept, "vary") or "").split(",")
                       if v.strip()})
        stored = Stored(kept, body, time.time(), etag)
        cache = self.cache
        # The vary list lives a little longer than any one variant.
        cache._set(plan.key + "|vary", json.dumps(vary).encode(), lifetime + 1)
        cache._set(self._variant_key(plan.key, vary, get_header), stored.encode(), lifetime)
        return stored

    @staticmethod
    def respond(stored, get_header, hit, now=None):
        """(status, headers, send_body) for a stored response."""
        extra = [("X-Cache", "HIT" if hit else "MISS")]
        if hit:
            age = max(0, int((now if now is not None else time.time()) - stored.stored_at))
            extra.insert(0, ("Age", str(age)))
        if _etag_matches(get_header("if-none-match"), stored.etag):
            headers = [(k, v) for k, v in stored.headers
                       if k.lower() in _NOT_MODIFIED_HEADERS]
            return 304, headers + extra, False
        return 200, stored.headers + extra, True


class Middleware:
    """What the WSGI and ASGI middleware share: the wrapped app and the rules.

    cache: a unicache.Cache (None: unicache.default_cache()).
    ttl: seconds for responses that do not say (default 60).
    key_prefix: prepended to every key (default "unicache.http:").
    max_body: larger bodies are passed through, not stored (default 1 MiB).
    """

    def __init__(self, app, cache=None, *, ttl=60, key_prefix="unicache.http:",
                 max_body=1 << 20):
        self.app = app
        self.http = HttpCache(cache, ttl=ttl, key_prefix=key_prefix, max_body=max_body)
