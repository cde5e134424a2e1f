# frozen_string_literal: true

require "rack"
require "rack/handler/webrick"
require "socket"
require "webrick"
require "unicache/rack"

return unless TestSupport::BACKENDS.include?("memory")

# Unicache::RackCache behind a real WEBrick server, driven over real
# sockets with hand-written requests (a Host carrying a path, repeated
# header lines), and its body handling at max_body. The poisoning cases of
# issue 10 (items 7, 8, 9). Runs once, with the memory run.
class TestRackServer < Minitest::Test
  MAX_BODY = 4096

  def setup
    @calls = Hash.new(0)
    calls = @calls
    app = lambda do |env|
      path = env["PATH_INFO"]
      n = calls[path] += 1
      headers = { "Content-Type" => "text/plain" }
      case path
      when "/twovary" then headers["Vary"] = "Accept-Language\nX-User"
      when "/twocc" then headers["Cache-Control"] = "max-age=60\nprivate"
      when "/vary" then headers["Vary"] = "Accept-Language"
      end
      query = env["QUERY_STRING"].to_s.empty? ? "" : "?#{env['QUERY_STRING']}"
      body = "GET #{path}#{query} call #{n} #{env['HTTP_X_USER']} #{env['HTTP_ACCEPT_LANGUAGE']}".rstrip
      [200, headers, [body]]
    end
    @cache = Unicache::Cache.new("memory://")
    middleware = Unicache::RackCache.new(app, cache: @cache, ttl: 30, max_body: MAX_BODY)
    @server = nil
    @thread = Thread.new do
      Rack::Handler::WEBrick.run(middleware, Host: "127.0.0.1", Port: 0, Logger: WEBrick::Log.new(nil, 0),
                                             AccessLog: []) { |s| @server = s }
    end
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
    sleep 0.01 until (@server && @server.status == :Running) || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    @port = @server.listeners[0].addr[1]
  end

  def teardown
    @server.shutdown
    @thread.join(10)
    @cache.close
  end

  # [status, {lowercase name => value}, body] of a request written as is.
  def request(target, lines = [["Host", "site.example"]])
    socket = TCPSocket.new("127.0.0.1", @port)
    socket.write("GET #{target} HTTP/1.1\r\n#{lines.map { |k, v| "#{k}: #{v}\r\n" }.join}Connection: close\r\n\r\n")
    head, body = socket.read.split("\r\n\r\n", 2)
    status_line, *header_lines = head.split("\r\n")
    headers = header_lines.to_h { |l| k, v = l.split(": ", 2); [k.downcase, v] }
    [status_line.split(" ")[1].to_i, headers, body]
  ensure
    socket&.close
  end

  def test_a_host_with_a_path_is_not_cached
    _, headers, = request("/", [["Host", "site.example/admin"]])
    assert_nil headers["x-cache"]
    _, headers, body = request("/admin/")
    assert_equal "MISS", headers["x-cache"]
    assert_equal "GET /admin/ call 1", body
    ["a@site.example", "site.example:99999", "site.example?x"].each do |host|
      assert_nil request("/plain", [["Host", host]])[1]["x-cache"], host
    end
    assert_equal "MISS", request("/plain", [["Host", "Site.Example:80"]])[1]["x-cache"]
    assert_equal "HIT", request("/plain")[1]["x-cache"]
  end

  def test_an_encoded_query_is_not_the_query
    assert_equal "GET /a%3Fb=1 call 1", request("/a%3Fb=1")[2]
    _, headers, body = request("/a?b=1")
    assert_equal "MISS", headers["x-cache"]
    assert_equal "GET /a?b=1 call 1", body
  end

  def test_an_encoded_bar_is_not_a_key_separator
    first = request("/w")[2]
    assert_equal "HIT", request("/w")[1]["x-cache"]
    request("/w%7Cvary")
    _, headers, body = request("/w")
    assert_equal "HIT", headers["x-cache"]
    assert_equal first, body
  end

  def test_repeated_vary_lines_all_count
    alice = request("/twovary", [%w[Host site.example], %w[Accept-Language fr], %w[X-User alice]])[2]
    bob = request("/twovary", [%w[Host site.example], %w[Accept-Language fr], %w[X-User bob]])[2]
    assert_equal "GET /twovary call 1 alice fr", alice
    assert_equal "GET /twovary call 2 bob fr", bob
    _, headers, body = request("/twovary", [%w[Host site.example], %w[Accept-Language fr], %w[X-User alice]])
    assert_equal "HIT", headers["x-cache"]
    assert_equal alice, body
  end

  def test_a_second_cache_control_line_counts
    request("/twocc")
    assert_nil request("/twocc")[1]["x-cache"]
    assert_equal 2, @calls["/twocc"]
  end

  def test_repeated_request_lines_are_one_vary_value
    first = request("/vary", [%w[Host site.example], %w[Accept-Language fr], %w[Accept-Language de]])[2]
    _, headers, body = request("/vary", [%w[Host site.example], ["Accept-Language", "fr,de"]])
    assert_equal "HIT", headers["x-cache"]
    assert_equal first, body
  end

  def test_cookies_and_forwarded_hosts_bypass
    request("/plain")
    assert_nil request("/plain", [%w[Host site.example], ["Cookie", "a=1"]])[1]["x-cache"]
    assert_nil request("/plain", [%w[Host site.example], ["X-Forwarded-Host", "evil.example"]])[1]["x-cache"]
  end

  def test_options_allow_cookies_set_cookie_and_forwarded_hosts
    app = ->(env) { [200, { "Set-Cookie" => "s=1", "X-Host" => env["HTTP_X_FORWARDED_HOST"].to_s }, ["ok"]] }
    middleware = Unicache::RackCache.new(app, cache: @cache, cache_authorized: true, cache_set_cookie: true,
                                              trust_forwarded_host: true)
    mock = Rack::MockRequest.new(middleware)
    mock.get("http://example.org/o", "HTTP_COOKIE" => "a=1", "HTTP_X_FORWARDED_HOST" => "a.example")
    res = mock.get("http://example.org/o", "HTTP_COOKIE" => "a=1", "HTTP_X_FORWARDED_HOST" => "a.example")
    assert_equal "HIT", res["X-Cache"]
    assert_equal "s=1", res["Set-Cookie"]
    other = mock.get("http://example.org/o", "HTTP_X_FORWARDED_HOST" => "b.example")
    assert_equal "MISS", other["X-Cache"]
    assert_equal "b.example", other["X-Host"]
    assert_nil mock.get("http://example.org/o", "HTTP_X_FORWARDED_HOST" => "b.example/x")["X-Cache"]
  end

  # The body is read only up to max_body: a bigger one streams through
  # as it comes, never read whole first (issue 14).
  def test_a_big_body_is_not_read_before_it_streams
    pulled = 0
    closed = false
    body = Object.new
    body.define_singleton_method(:each) do |&block|
      100.times do
        pulled += 1
        block.call("x" * 1000)
      end
    end
    body.define_singleton_method(:close) { closed = true }
    app = ->(_env) { [200, { "Content-Type" => "text/plain" }, body] }
    middleware = Unicache::RackCache.new(app, cache: @cache, max_body: MAX_BODY)
    env = Rack::MockRequest.env_for("http://example.org/big")
    status, _, out = middleware.call(env)
    assert_equal 200, status
    assert_operator pulled, :<=, MAX_BODY / 1000 + 1
    refute closed
    total = 0
    out.each { |chunk| total += chunk.bytesize }
    out.close
    assert_equal 100_000, total
    assert closed
    assert_equal 100, pulled
  end
end
