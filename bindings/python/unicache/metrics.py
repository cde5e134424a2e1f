"""/metrics for one or more caches: the Prometheus text exposition format.

    from unicache.metrics import MetricsApp, AsgiMetricsApp, metrics_text

    app = MetricsApp({"sessions": sessions, "pages": pages})   # WSGI
    app = AsgiMetricsApp(cache)                                # ASGI

Each cache's statistics come from cache_stats_prometheus(); with several
caches, every sample gets a cache="name" label (the dict's keys, or the
position in a list) and each metric family is written once. Any other path
is a 404, any method but GET and HEAD a 405.
"""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _named(caches):
    if isinstance(caches, dict):
        return [(str(name), cache) for name, cache in caches.items()]
    if isinstance(caches, (list, tuple)):
        return [(str(i), cache) for i, cache in enumerate(caches)]
    return [(None, caches)]


def _label(sample, name):
    """sample with cache="name" as its first label."""
    value = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    brace = sample.index("{")
    rest = sample[brace + 1:]
    extra = 'cache="%s"' % value + ("," if not rest.startswith("}") else "")
    return sample[:brace + 1] + extra + rest


def metrics_text(caches):
    """The exposition text for a Cache, a list of them, or a dict of name: Cache."""
    named = _named(caches)
    if len(named) == 1 and named[0][0] is None:
        return named[0][1].stats_prometheus()
    order = []
    families = {}
    for name, cache in named:
        current = None
        for line in cache.stats_prometheus().splitlines():
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                family = line.split(" ", 3)[2]
                if family not in families:
                    families[family] = ([], [])
                    order.append(family)
                headers = families[family][0]
                if line not in headers:
                    headers.append(line)
                current = family
            elif line and current is not None:
                families[current][1].append(_label(line, name))
    out = []
    for family in order:
        headers, samples = families[family]
        out.extend(headers)
        out.extend(samples)
    return "\n".join(out) + "\n" if out else ""


class MetricsApp:
    """A WSGI application serving metrics_text(caches) at path."""

    def __init__(self, caches, path="/metrics"):
        self.caches = caches
        self.path = path

    def __call__(self, environ, start_response):
        status, headers, body = _respond(self.caches, self.path, environ.get("PATH_INFO", ""),
                                         environ.get("REQUEST_METHOD", "GET"))
        start_response(status, headers)
        return [body]


class AsgiMetricsApp:
    """An ASGI application serving metrics_text(caches) at path. The
    statistics are read in a worker thread: a network backend's may wait on
    its server."""

    def __init__(self, caches, path="/metrics"):
        self.caches = caches
        self.path = path

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            raise ValueError("AsgiMetricsApp serves http, not %r" % scope["type"])
        import asyncio

        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(
            None, _respond, self.caches, self.path, scope.get("path", ""),
            scope.get("method", "GET"))
        await send({"type": "http.response.start", "status": int(status.split()[0]),
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers]})
        await send({"type": "http.response.body",
                    "body": b"" if scope.get("method") == "HEAD" else body})


def _respond(caches, path, request_path, method):
    if request_path != path:
        return "404 Not Found", [("Content-Type", "text/plain")], b"not found\n"
    if method not in ("GET", "HEAD"):
        return ("405 Method Not Allowed", [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")],
                b"method not allowed\n")
    body = metrics_text(caches).encode("utf-8")
    return "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))], body
