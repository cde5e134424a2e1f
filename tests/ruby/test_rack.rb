# frozen_string_literal: true

require "rack"
require "rack/lint"
require "rack/mock"
require "time"
require "unicache/rack"

# Unicache::RackCache through Rack::MockRequest (with Rack::Lint on both
# sides, so the middleware and the app speak valid Rack), on every backend.
module RackTests
  MAX_BODY = 4096

  ROUTES = {
    "/plain" => [200, {}],
    "/maxage" => [200, { "Cache-Control" => "public, max-age=50" }],
    "/smaxage" => [200, { "Cache-Control" => "max-age=5, s-maxage=40" }],
    "/nostore" => [200, { "Cache-Control" => "no-store" }],
    "/private" => [200, { "Cache-Control" => "private, max-age=60" }],
    "/nocache" => [200, { "Cache-Control" => "no-cache" }],
    "/maxage0" => [200, { "Cache-Control" => "max-age=0" }],
    "/notfound" => [404, {}],
    "/redirect" => [302, { "Location" => "/plain" }],
    "/cookie" => [200, { "Set-Cookie" => "session=1" }],
    "/vary" => [200, { "Vary" => "Accept-Language" }],
    "/varystar" => [200, { "Vary" => "*" }],
    "/etag" => [200, { "ETag" => '"app-tag"' }],
    "/expires" => [200, { "Expires" => (Time.now + 120).httpdate }],
    "/expired" => [200, { "Expires" => (Time.now - 120).httpdate }],
    "/big" => [200, {}],
    "/chunks" => [200, {}]
  }.freeze

  def setup
    super
    @calls = Hash.new(0)
    calls = @calls
    inner = lambda do |env|
      path = env["PATH_INFO"]
      n = calls[path] += 1
      status, headers = ROUTES.fetch(path, [404, {}])
      body = "#{env['REQUEST_METHOD']} #{path} call #{n}"
      body += " #{env['HTTP_ACCEPT_LANGUAGE'].inspect}" if path == "/vary"
      body = "x" * (MAX_BODY + 1) if path == "/big"
      chunks = path == "/chunks" ? [body[0, 3], body[3..]] : [body]
      chunks = [] if env["REQUEST_METHOD"] == "HEAD"
      [status, { "Content-Type" => "text/plain" }.merge(headers), chunks]
    end
    middleware = Unicache::RackCache.new(Rack::Lint.new(inner), cache: cache, ttl: 30,
                                                                 max_body: MAX_BODY)
    @request = Rack::MockRequest.new(Rack::Lint.new(middleware))
  end

  def get(path, method: "GET", **env)
    @request.request(method, "http://example.org#{path}", env)
  end

  def key(path)
    path, query = path.split("?", 2)
    Unicache::HttpRules.base_key("unicache.http:", "http", "example.org",
                                 Unicache::HttpRules.canonical_path(path),
                                 Unicache::HttpRules.canonical_query(query.to_s))
  end

  def test_get_is_cached_with_etag_and_age
    first = get("/plain")
    assert_equal 200, first.status
    assert_equal "GET /plain call 1", first.body
    assert_equal "MISS", first["X-Cache"]
    assert_match(/\A"\h{32}"\z/, first["ETag"])
    assert_equal first.body.bytesize.to_s, first["Content-Length"]
    again = get("/plain")
    assert_equal first.body, again.body
    assert_equal "HIT", again["X-Cache"]
    assert_operator again["Age"].to_i, :>=, 0
    assert_equal first["ETag"], again["ETag"]
    assert_equal "text/plain", again["Content-Type"]
    assert_equal 1, @calls["/plain"]
    assert_operator cache.ttl(key("/plain")), :<=, 30
    assert_operator cache.ttl(key("/plain")), :>, 28
  end

  def test_query_strings_are_separate_entries
    assert_equal "GET /plain call 1", get("/plain?a=1").body
    assert_equal "GET /plain call 2", get("/plain?a=2").body
    assert_equal "GET /plain call 1", get("/plain?a=1").body
  end

  def test_head_served_from_the_get_entry
    assert_equal "", get("/plain", method: "HEAD").body
    assert_equal 1, @calls["/plain"]
    assert_equal "GET /plain call 2", get("/plain").body
    head = get("/plain", method: "HEAD")
    assert_equal "", head.body
    assert_equal "HIT", head["X-Cache"]
    assert_equal "GET /plain call 2".bytesize.to_s, head["Content-Length"]
    assert_equal 2, @calls["/plain"]
  end

  def test_if_none_match_gets_304
    etag = get("/plain")["ETag"]
    [etag, "W/#{etag}", %("other", #{etag}), "*"].each do |tag|
      res = get("/plain", "HTTP_IF_NONE_MATCH" => tag)
      assert_equal 304, res.status
      assert_equal "", res.body
      assert_equal etag, res["ETag"]
      assert_nil res["Content-Type"]
    end
    assert_equal 200, get("/plain", "HTTP_IF_NONE_MATCH" => '"other"').status
    assert_equal 1, @calls["/plain"]
  end

  def test_apps_etag_and_304_on_a_miss
    assert_equal '"app-tag"', get("/etag")["ETag"]
    cache.clear
    res = get("/etag", "HTTP_IF_NONE_MATCH" => '"app-tag"')
    assert_equal 304, res.status
    assert_equal "MISS", res["X-Cache"]
  end

  def test_lifetimes
    get("/maxage")
    assert_operator cache.ttl(key("/maxage")), :>, 48
    assert_operator cache.ttl(key("/maxage")), :<=, 50
    get("/smaxage")
    assert_operator cache.ttl(key("/smaxage")), :>, 38
    assert_operator cache.ttl(key("/smaxage")), :<=, 40
    get("/expires")
    assert_operator cache.ttl(key("/expires")), :>, 100
  end

  def test_not_stored
    %w[/nostore /private /nocache /maxage0 /notfound /redirect /cookie /varystar /expired].each do |path|
      first = get(path)
      second = get(path)
      assert_equal 2, @calls[path], path
      assert_equal first.status, second.status
      assert_nil second["X-Cache"], path
      assert_nil cache.raw_get("#{key(path)}/vary"), path
    end
  end

  def test_post_is_not_cached
    get("/plain", method: "POST")
    get("/plain", method: "POST")
    assert_equal 2, @calls["/plain"]
  end

  def test_request_cache_control
    get("/plain")
    res = get("/plain", "HTTP_CACHE_CONTROL" => "no-cache")
    assert_equal "GET /plain call 2", res.body
    assert_equal "MISS", res["X-Cache"]
    assert_equal "GET /plain call 2", get("/plain").body
    get("/plain", "HTTP_PRAGMA" => "no-cache")
    get("/plain", "HTTP_CACHE_CONTROL" => "max-age=0")
    assert_equal 4, @calls["/plain"]
    assert_nil get("/maxage", "HTTP_CACHE_CONTROL" => "no-store")["X-Cache"]
    assert_equal "MISS", get("/maxage")["X-Cache"]
  end

  def test_authorization_bypasses
    get("/plain")
    res = get("/plain", "HTTP_AUTHORIZATION" => "Bearer x")
    assert_equal "GET /plain call 2", res.body
    assert_nil res["X-Cache"]
  end

  def test_vary
    fr = get("/vary", "HTTP_ACCEPT_LANGUAGE" => "fr").body
    de = get("/vary", "HTTP_ACCEPT_LANGUAGE" => "de").body
    assert_equal 'GET /vary call 1 "fr"', fr
    assert_equal 'GET /vary call 2 "de"', de
    assert_equal fr, get("/vary", "HTTP_ACCEPT_LANGUAGE" => "fr").body
    assert_equal "HIT", get("/vary", "HTTP_ACCEPT_LANGUAGE" => "de")["X-Cache"]
    assert_equal "GET /vary call 3 nil", get("/vary").body
  end

  def test_big_and_streamed_bodies
    2.times { assert_equal "x" * (MAX_BODY + 1), get("/big").body }
    assert_equal 2, @calls["/big"]
    first = get("/chunks")
    second = get("/chunks")
    assert_equal "GET /chunks call 1", first.body
    assert_equal first.body, second.body
    assert_equal "HIT", second["X-Cache"]
  end

  def test_damaged_entry_is_a_miss
    get("/plain")
    cache.raw_set(key("/plain"), "garbage")
    assert_equal "GET /plain call 2", get("/plain").body
  end

  def test_arguments
    app = ->(_env) { [200, {}, []] }
    assert_raises(TypeError) { Unicache::RackCache.new(app, cache: "memory://") }
    assert_raises(ArgumentError) { Unicache::RackCache.new(app, cache: cache, ttl: 0) }
    assert_raises(ArgumentError) { Unicache::RackCache.new(app, cache: cache, max_body: -1) }
  end

  def test_cache_control_parsing
    assert_equal({ "max-age" => "5", "no-cache" => "set-cookie", "private" => nil },
                 Unicache::RackCache.cache_control('Max-Age=5, no-cache="set-cookie", private'))
  end
end

each_backend("Rack", RackTests)
