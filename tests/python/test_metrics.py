"""unicache.metrics: /metrics for one or more caches, parsed with Debian's
python3-prometheus-client, through a real wsgiref server and a direct ASGI
call. Runs once, with the memory run."""
import asyncio
import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from prometheus_client.parser import text_string_to_metric_families

import unicache
from unicache.metrics import AsgiMetricsApp, MetricsApp, metrics_text


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(fams, family, name, **labels):
    for s in fams[family].samples:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise AssertionError("no %s %r in %s" % (name, labels, [s for s in fams[family].samples]))


@pytest.fixture
def two():
    a = unicache.Cache("memory://")
    b = unicache.Cache("memory://?prefix=b:")
    a.set("x", 1)
    a.get("x")
    b.get("missing")
    yield a, b
    a.close()
    b.close()


def test_one_cache(two):
    a, _ = two
    fams = families(a.stats_prometheus())
    assert sample(fams, "unicache_hits", "unicache_hits_total", backend="memory",
                  tier="cache") == 1
    assert fams["unicache_operation_duration_seconds"].type == "histogram"
    assert metrics_text(a) == a.stats_prometheus()


def test_several_caches_get_a_cache_label_and_one_family_each(two):
    a, b = two
    text = metrics_text({"sessions": a, "pages": b})
    assert text.count("# TYPE unicache_hits_total counter") == 1
    fams = families(text)
    assert sample(fams, "unicache_hits", "unicache_hits_total", cache="sessions") == 1
    assert sample(fams, "unicache_misses", "unicache_misses_total", cache="pages") == 1
    assert sample(fams, "unicache_misses", "unicache_misses_total", cache="sessions") == 0
    listed = families(metrics_text([a, b]))
    assert sample(listed, "unicache_misses", "unicache_misses_total", cache="1") == 1


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def test_wsgi_app_through_wsgiref(two):
    a, b = two
    server = make_server("127.0.0.1", 0, MetricsApp({"a": a, "b": b}), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = "http://127.0.0.1:%d" % server.server_port
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            fams = families(r.read().decode())
        assert sample(fams, "unicache_hits", "unicache_hits_total", cache="a") == 1
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/other", timeout=10)
        assert e.value.code == 404
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(base + "/metrics", data=b"x"),
                                   timeout=10)
        assert e.value.code == 405
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def call_asgi(app, path, method="GET"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": [],
             "query_string": b"", "asgi": {"version": "3.0"}}
    asyncio.run(app(scope, receive, send))
    return sent


def test_asgi_app(two):
    a, _ = two
    sent = call_asgi(AsgiMetricsApp(a), "/metrics")
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/plain; version=0.0.4; charset=utf-8") in sent[0]["headers"]
    fams = families(sent[1]["body"].decode())
    assert sample(fams, "unicache_hits", "unicache_hits_total", tier="cache") == 1
    assert call_asgi(AsgiMetricsApp(a), "/nope")[0]["status"] == 404
    assert call_asgi(AsgiMetricsApp(a), "/metrics", "DELETE")[0]["status"] == 405
    head = call_asgi(AsgiMetricsApp(a), "/metrics", "HEAD")
    assert head[0]["status"] == 200 and head[1]["body"] == b""
