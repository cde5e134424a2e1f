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


RUBY_HTTP = r"""
require "json"
require "unicache"
require "unicache/rack"
require "rack/mock"
uri, prefix, phase = ARGV
out = {}
Unicache::Cache.open(uri, prefix: prefix) do |c|
  calls = Hash.new(0)
  app = lambda do |env|
    calls[env["PATH_INFO"]] += 1
    headers = { "Content-Type" => "text/plain", "X-Name" => "caf\u00e9" }
    headers["Vary"] = "X-Name" if env["PATH_INFO"].include?("vary")
    headers["Cache-Control"] = "max-age=0x10" if env["PATH_INFO"].include?("hex")
    [200, headers, ["rendered by ruby"]]
  end
  mw = Rack::MockRequest.new(Unicache::RackCache.new(app, cache: c))
  %w[/caf%C3%A9 /vary/caf%C3%A9 /hex /ruby/caf%C3%A9 /ruby/vary /ruby/hex].each do |path|
    res = mw.get("http://example.org#{path}?q=%C3%A9", "HTTP_X_NAME" => "caf\u00e9")
    out[path] = { "status" => res.status, "body" => res.body, "x-cache" => res["X-Cache"],
                  "x-name" => res["X-Name"].to_s.b.unpack1("H*"), "calls" => calls[path] }
  end
end
puts JSON.generate(out)
"""


def test_http_rules_agree_across_languages(uri, make_cache):
    """Python stores and Ruby serves, and back: a non-ASCII path, a
    non-ASCII Vary value and header, and max-age=0x10 (stored by neither)."""
    prefix = "interop-http-%d:" % os.getpid()
    cache = make_cache(prefix=prefix)
    calls = []

    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        headers = [("Content-Type", "text/plain"), ("X-Name", "caf\xc3\xa9")]
        if "vary" in environ["PATH_INFO"]:
            headers.append(("Vary", "X-Name"))
        if "hex" in environ["PATH_INFO"]:
            headers.append(("Cache-Control", "max-age=0x10"))
        start_response("200 OK", headers)
        return [b"rendered by python"]

    middleware = CacheMiddleware(app, cache)

    def get(path):
        # What a WSGI server makes of GET <path>?q=%C3%A9: PATH_INFO decoded,
        # as latin-1 text of the UTF-8 bytes.
        environ = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": "http",
                   "PATH_INFO": path.encode("utf-8").decode("latin-1"), "QUERY_STRING": "q=%C3%A9",
                   "SERVER_NAME": "example.org", "SERVER_PORT": "80",
                   "HTTP_X_NAME": "caf\xc3\xa9"}
        started = []
        body = b"".join(middleware(environ, lambda s, h, e=None: started.append((s, h))))
        return dict(started[0][1]), body

    for path in ("/café", "/vary/café", "/hex"):
        assert get(path)[0].get("X-Cache") in ("MISS", None)
    out = subprocess.run(["ruby", "-I", RUBY_LIB, "-e", RUBY_HTTP, uri, prefix, "serve"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    seen = json.loads(out)
    for path in ("/caf%C3%A9", "/vary/caf%C3%A9"):
        assert seen[path] == {"status": 200, "body": "rendered by python", "x-cache": "HIT",
                              "x-name": "636166c3a9", "calls": 0}, path
    assert seen["/hex"]["body"] == "rendered by ruby" and seen["/hex"]["x-cache"] is None
    # Back: what Ruby stored, Python serves.
    for path in ("/ruby/café", "/ruby/vary"):
        headers, body = get(path)
        assert body == b"rendered by ruby" and headers["X-Cache"] == "HIT", path
        assert headers["X-Name"] == "caf\xc3\xa9"
    headers, body = get("/ruby/hex")
    assert body == b"rendered by python" and "X-Cache" not in headers
    assert sorted(set(calls)) == sorted({"/caf\xc3\xa9", "/vary/caf\xc3\xa9", "/hex",
                                         "/ruby/hex"})
