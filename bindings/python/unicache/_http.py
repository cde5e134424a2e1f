"""HTTP response caching rules, shared by the WSGI and ASGI middleware.

The rules are written once, for Python and Ruby, in tests/http_spec/README.md,
with test vectors both implementations pass (tests/http_spec/vectors.json).
In short:

What is cached: responses with status 200 to GET requests, unless the
request has Authorization or Cookie (cache_authorized=True allows them), an
invalid Host (or any X-Forwarded-Host unless trust_forwarded_host=True), or
Cache-Control: no-store; or the response says Cache-Control: no-store,
no-cache or private, has an invalid or repeated max-age/s-maxage, sets a
cookie (cache_set_cookie=True allows it), has Vary: *, or has a body larger
than max_body. A HEAD request is answered from the GET entry; it never
creates one. Repeated header lines are combined (RFC 9110, 5.3).

How long: the response's s-maxage, else max-age, else Expires, else the
middleware's ttl. max-age=0 (or an Expires in the past) is not stored.

Requests with Cache-Control: no-cache (or max-age=0, or Pragma: no-cache)
skip the lookup but may refresh the entry. Vary is honoured: each
combination of the named request headers is a separate entry.

Every response the middleware stores or serves carries an ETag (the
application's, else a SHA-256 of the body) and an X-Cache: HIT/MISS
header; hits also carry Age. A request whose If-None-Match names the ETag
gets 304 Not Modified with no body.

Keys are built from length-prefixed parts (scheme, host, path, query) in
a canonical percent-encoding of the undecoded request target, so no two
requests the application can tell apart share an entry. Entries are stored
as bytes, whatever the cache's serializer, in a format the Ruby Rack
middleware shares (the same cache can serve both).
"""
import collections
import calendar
import hashlib
import json
import re
import time

from ._cache import Cache, default_cache

METHODS = ("GET", "HEAD")
_MAGIC = b"UCH1\n"
_MAX_KEY = 200
_MAX_DELTA = 2 ** 31  # RFC 9111, 1.2.2: larger delta-seconds mean this
# Hop-by-hop headers belong to one connection, never to a stored response.
_HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate",
                         "proxy-authorization", "te", "trailer", "transfer-encoding",
                         "upgrade"))
# What a 304 carries (RFC 9110, 15.4.5).
_NOT_MODIFIED_HEADERS = frozenset(("cache-control", "content-location", "date", "etag",
                                   "expires", "vary"))

# ------------------------------------------------------ the spec's functions

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_OK = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/")
_QUERY_OK = _PATH_OK | frozenset(b"?")
_HEXDIGITS = frozenset(b"0123456789abcdefABCDEF")
_DIGITS = re.compile(r"[0-9]+\Z")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
_REG_NAME = re.compile(r"[a-z0-9._~-]+\Z")
_IP_LITERAL = re.compile(r"\[[0-9a-f:.]+\]\Z")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _encode(data, allowed, decoded):
    """data (bytes) in canonical percent-encoding. Raw input keeps its
    escapes (hex in upper case, unreserved ones decoded); decoded input has
    no escapes, so every '%' is a literal and is quoted."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if (not decoded and b == 0x25 and i + 2 < n and data[i + 1] in _HEXDIGITS
                and data[i + 2] in _HEXDIGITS):
            b = int(data[i + 1:i + 3], 16)
            i += 3
            if b in _UNRESERVED:
                out.append(b)
            else:
                out += b"%%%02X" % b
            continue
        if b in allowed:
            out.append(b)
        else:
            out += b"%%%02X" % b
        i += 1
    return out.decode("ascii")


def canonical_path(data, decoded=False):
    """The key's path part from the path's bytes: raw (as received, e.g.
    RAW_URI, raw_path, Rack's PATH_INFO) or decoded (WSGI PATH_INFO as
    latin-1 bytes, ASGI path as UTF-8)."""
    return _encode(data, _PATH_OK, decoded)


def canonical_query(data):
    """The key's query part from the raw query string's bytes."""
    return _encode(data, _QUERY_OK, False)


def normalize_host(value, scheme):
    """host[:port] (RFC 9110, 7.2) lowercased, without the scheme's default
    port; None when value is not a valid Host (a path, userinfo, spaces,
    a bad port, ...)."""
    if value is None:
        return None
    host = value.strip(" \t").lower()
    port = ""
    if host.startswith("["):
        close = host.find("]")
        if close < 0:
            return None
        host, rest = host[:close + 1], host[close + 1:]
        if not _IP_LITERAL.match(host):
            return None
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    else:
        host, sep, port = host.partition(":")
        if not _REG_NAME.match(host):
            return None
    if not port:
        return host
    if not _DIGITS.match(port) or len(port) > 5 or int(port) > 65535:
        return None
    port = str(int(port))
    return host if port == _DEFAULT_PORTS.get(scheme) else host + ":" + port


def base_key(prefix, scheme, host, path, query):
    """The entry key of a URL: the parts length-prefixed, so that no part
    can run into the next (hashed when long)."""
    enc = "".join("%d:%s" % (len(part), part) for part in (scheme, host, path, query))
    key = prefix + "u2/" + enc
    if len(key.encode("utf-8", "surrogateescape")) > _MAX_KEY:
        key = prefix + "u2#" + hashlib.sha256(enc.encode("ascii")).hexdigest()
    return key


def combine(values):
    """Repeated field lines as one value (RFC 9110, 5.3), None if none."""
    values = [v for v in values if v is not None]
    return ", ".join(values) if values else None


def normalize_value(value):
    """A request header's value as the Vary key sees it: list elements
    trimmed, so "a,b" (wsgiref) and "a, b" (WEBrick) are one value."""
    if value is None:
        return None
    return ",".join(part.strip(" \t") for part in value.split(","))


def vary_names(value):
    """The sorted, lowercase, distinct names of a (combined) Vary value."""
    return sorted({v.strip(" \t").lower() for v in (value or "").split(",") if v.strip(" \t")})


def variant_suffix(names, get_header):
    """What tells one Vary combination from another: a hash of the
    length-prefixed names and normalized values ('-' for an absent header)."""
    h = hashlib.sha256()
    for name in names:
        h.update(b"%d:%s" % (len(name), name.encode("latin-1")))
        value = normalize_value(get_header(name))
        if value is None:
            h.update(b"-")
        else:
            data = value.encode("latin-1", "replace")
            h.update(b"%d:%s" % (len(data), data))
    return h.hexdigest()[:32]


def _split_list(value):
    """The elements of a comma-separated list; commas inside quoted strings
    do not split."""
    parts, current, quoted, escaped = [], [], False, False
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def directives(value):
    """[(name, argument or None)] of a Cache-Control value, in order, names
    lowercase, quoted arguments unquoted."""
    out = []
    for part in _split_list(value or ""):
        name, sep, arg = part.partition("=")
        name = name.strip(" \t").lower()
        if not name:
            continue
        arg = arg.strip(" \t")
        if len(arg) >= 2 and arg[0] == '"' and arg[-1] == '"':
            arg = re.sub(r"\\(.)", r"\1", arg[1:-1])
        out.append((name, arg if sep else None))
    return out


def cache_control(value):
    """{directive: value or None} of a Cache-Control header (lowercase
    names; the first of repeated directives)."""
    out = {}
    for name, arg in directives(value):
        out.setdefault(name, arg)
    return out


def delta_seconds(arg):
    """delta-seconds (RFC 9111, 1.2.2): digits only, capped at 2^31; None
    when invalid (max-age=0x10, -1, 1.5, "")."""
    if arg is None or not _DIGITS.match(arg):
        return None
    return min(int(arg), _MAX_DELTA)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_M = "(%s)" % "|".join(_MONTHS)
_HTTP_DATES = (  # RFC 9110, 5.6.7: IMF-fixdate, then the two obsolete forms
    (re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) %s (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT\Z"
                % _M), "dmyHMS"),
    (re.compile(r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
                r"(\d{2})-%s-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT\Z" % _M), "dmyHMS"),
    (re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) %s ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\Z"
                % _M), "mdHMSy"),
)


def http_date(value):
    """Unix seconds of an HTTP-date, None when it is not one."""
    text = (value or "").strip(" \t")
    for pattern, order in _HTTP_DATES:
        m = pattern.match(text)
        if m:
            f = dict(zip(order, m.groups()))
            year = int(f["y"])
            if len(f["y"]) == 2:
                year += 2000 if year < 50 else 1900
            day, hour, minute, second = (int(f[k]) for k in "dHMS")
            if not (1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
                return None
            return calendar.timegm((year, _MONTHS.index(f["m"]) + 1, day, hour, minute,
                                    second, 0, 0, 0))
    return None


def _header(headers, name):
    """All values of a header in a list of (name, value) pairs, combined."""
    return combine([v for k, v in headers if k.lower() == name])


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


def response_lifetime(status, headers, default_ttl, now, cache_set_cookie=False):
    """Seconds to keep a response for, or None when it must not be stored.
    headers: (name, value) pairs, repeated names allowed."""
    if status != 200:
        return None
    if not cache_set_cookie and _header(headers, "set-cookie") is not None:
        return None
    found = directives(_header(headers, "cache-control"))
    names = [name for name, _ in found]
    if {"no-store", "private", "no-cache"} & set(names):
        return None
    if "*" in vary_names(_header(headers, "vary")):
        return None
    for directive in ("s-maxage", "max-age"):
        if directive in names:
            if names.count(directive) > 1:
                return None  # RFC 9111, 4.2.1: treat as stale
            seconds = delta_seconds(dict(found)[directive])
            return seconds if seconds else None
    expires = _header(headers, "expires")
    if expires is not None:
        when = http_date(expires)
        if when is None:
            return None  # an invalid Expires means "already expired"
        seconds = int(when - now)
        return seconds if seconds >= 1 else None
    return default_ttl


def request_decision(method, get_header, host, options):
    """'bypass', 'store' (no lookup) or 'lookup' (then store on a GET
    miss) for a request; host is the normalized host or None if invalid."""
    if method not in METHODS or host is None:
        return "bypass"
    if not options.get("cache_authorized") and (get_header("authorization") is not None
                                                or get_header("cookie") is not None):
        return "bypass"
    if not options.get("trust_forwarded_host") and get_header("x-forwarded-host") is not None:
        return "bypass"  # the app may build links from it; the key does not have it
    cc = cache_control(get_header("cache-control"))
    if "no-store" in cc:
        return "bypass"
    if ("no-cache" in cc or delta_seconds(cc.get("max-age")) == 0
            or "no-cache" in (get_header("pragma") or "").lower()):
        return "store"
    return "lookup"


def request_host(get_header, fallback, scheme, trust_forwarded_host=False):
    """The normalized host of a request (X-Forwarded-Host's last element when
    trusted, else Host, else the server's own name), None if invalid."""
    if trust_forwarded_host:
        forwarded = get_header("x-forwarded-host")
        if forwarded is not None:
            return normalize_host(forwarded.split(",")[-1], scheme)
    host = get_header("host")
    return normalize_host(fallback if host is None else host, scheme)


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
    get(lowercase_name) -> str or None (repeated lines already combined);
    response headers as (name, value) pairs of str (latin-1 for non-ASCII
    bytes), repeated names allowed."""

    def __init__(self, cache=None, *, ttl=60, key_prefix="unicache.http:", max_body=1 << 20,
                 cache_authorized=False, cache_set_cookie=False, trust_forwarded_host=False):
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
        self.options = {"cache_authorized": bool(cache_authorized),
                        "cache_set_cookie": bool(cache_set_cookie),
                        "trust_forwarded_host": bool(trust_forwarded_host)}

    @property
    def cache(self):
        return self._cache if self._cache is not None else default_cache()

    # -------------------------------------------------------------- request

    def plan(self, method, target, get_header):
        """A Plan, or None when the request must go straight to the app.
        target: (scheme, fallback host, canonical path, canonical query);
        the fallback host is the server's name, used without a Host."""
        scheme, fallback, path, query = target
        host = request_host(get_header, fallback, scheme, self.options["trust_forwarded_host"])
        decision = request_decision(method, get_header, host, self.options)
        if decision == "bypass":
            return None
        return Plan(base_key(self.key_prefix, scheme, host, path, query),
                    decision == "lookup", method == "GET", method == "HEAD")

    def lookup(self, plan, get_header):
        """The Stored response for this request, or None."""
        cache = self.cache
        meta = cache._get_raw(plan.key + "/vary")
        if meta is None:
            return None
        try:
            vary = [str(v) for v in json.loads(meta)]
        except (ValueError, TypeError):
            return None
        data = cache._get_raw(self._variant_key(plan.key, vary, get_header))
        return None if data is None else Stored.decode(data)

    @staticmethod
    def _variant_key(base, vary, get_header):
        return base + "/" + variant_suffix(vary, get_header) if vary else base

    # ------------------------------------------------------------- response

    def lifetime(self, status, headers, now=None):
        """Seconds to keep a response for, or None when it must not be stored."""
        return response_lifetime(status, headers, self.ttl,
                                 now if now is not None else time.time(),
                                 self.options["cache_set_cookie"])

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
        vary = vary_names(_header(kept, "vary"))
        stored = Stored(kept, body, time.time(), etag)
        cache = self.cache
        # The vary list lives a little longer than any one variant.
        cache._set(plan.key + "/vary", json.dumps(vary).encode(), lifetime + 1)
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
    cache_authorized: also cache requests with Authorization or Cookie
        (only for apps whose responses do not depend on them, or Vary on them).
    cache_set_cookie: also store responses that set a cookie (the cookie is
        then replayed to everyone).
    trust_forwarded_host: key on X-Forwarded-Host (its last element), for
        apps behind a proxy that sets it; without this, requests carrying
        it are not cached.
    """

    def __init__(self, app, cache=None, *, ttl=60, key_prefix="unicache.http:",
                 max_body=1 << 20, cache_authorized=False, cache_set_cookie=False,
                 trust_forwarded_host=False):
        self.app = app
        self.http = HttpCache(cache, ttl=ttl, key_prefix=key_prefix, max_body=max_body,
                              cache_authorized=cache_authorized,
                              cache_set_cookie=cache_set_cookie,
                              trust_forwarded_host=trust_forwarded_host)
