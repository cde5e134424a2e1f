"""Python and Ruby share one store: JSON values (the default serializer
on both sides) and HTTP entries (the WSGI and Rack middleware use one
format) written by one language are read by the other. Runs on the
backends other processes can see (not memory://) when both bindings are
built."""
import json
import os
import subprocess

from unicache.wsgi import CacheMiddleware

RUBY_LIB = os.environ["UNICACHE_RUBY_LIB"]

RUBY = r'''
require "json"
require "unicache"
require "unicache/rack"
require "rack/mock"
uri, prefix = ARGV
Unicache::Cache.open(uri, prefix: prefix) do |c|
  seen = { "value" => c.get("from_python"), "counter" => c.increment("counter") }
  c.set("from_ruby", { "x" => "ü", "n" => [1, 2.5, nil] })
  app = ->(_env) { raise "the Rack app must not run: the entry comes from Python" }
  res = Rack::MockRequest.new(Unicache::RackCache.new(app, cache: c))
                         .get("http://example.org/page?q=1")
  seen["http"] = { "status" => res.status, "body" => res.body, "etag" => res["ETag"],
                   "x-cache" => res["X-Cache"] }
  puts JSON.generate(seen)
end
'''


def run_ruby(uri, prefix):
    out = subprocess.run(["ruby", "-I", RUBY_LIB, "-e", RUBY, uri, prefix], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


def test_python_and_ruby_share_values_and_http_entries(uri, make_cache):
    prefix = "interop-%d:" % os.getpid()
    cache = make_cache(prefix=prefix)
    cache.set("from_python", {"a": [1, "é"], "b": None})
    cache.incr("counter", 41)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"rendered by python"]

    environ = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http", "HTTP_HOST": "example.org",
               "PATH_INFO": "/page", "QUERY_STRING": "q=1", "SERVER_NAME": "example.org",
               "SERVER_PORT": "80"}
    started = []
    body = b"".join(CacheMiddleware(app, cache)(environ, lambda s, h: started.append((s, h))))
    assert body == b"rendered by python"
    etag = dict(started[0][1])["ETag"]

    seen = run_ruby(uri, prefix)
    assert seen["value"] == {"a": [1, "é"], "b": None}
    assert seen["counter"] == 42
    assert seen["http"] == {"status": 200, "body": "rendered by python", "etag": etag,
                            "x-cache": "HIT"}
    assert cache.get("from_ruby") == {"x": "ü", "n": [1, 2.5, None]}
    assert cache.incr("counter") == 43
