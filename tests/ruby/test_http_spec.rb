# frozen_string_literal: true

require "json"
require "unicache/rack"

return unless TestSupport::BACKENDS.include?("memory")

# The Rack middleware's rules against the shared vectors of tests/http_spec
# (the Python middleware passes the same file). Byte strings in the vectors
# are latin-1 text, one code point per byte.
class TestHttpSpec < Minitest::Test
  SPEC = JSON.parse(File.read(File.join(__dir__, "..", "http_spec", "vectors.json")))
  H = Unicache::HttpRules

  def bytes(text) = text.encode(Encoding::ISO_8859_1).b

  def key(request)
    H.base_key("p:", "http", "example.org", H.canonical_path(bytes(request["path"]), decoded: request["decoded"]),
               H.canonical_query(bytes(request["query"])))
  end

  def test_canonical_path
    SPEC["canonical_path"].each do |c|
      assert_equal c["out"], H.canonical_path(bytes(c["raw"]), decoded: c["decoded"]), c.inspect
    end
  end

  def test_canonical_query
    SPEC["canonical_query"].each { |c| assert_equal c["out"], H.canonical_query(bytes(c["raw"])), c.inspect }
  end

  def test_host
    SPEC["host"].each do |c|
      got = H.normalize_host(bytes(c["value"]), c["scheme"])
      c["out"].nil? ? assert_nil(got, c.inspect) : assert_equal(c["out"], got, c.inspect)
    end
  end

  def test_base_key
    SPEC["base_key"].each do |c|
      assert_equal c["out"], H.base_key(c["prefix"], c["scheme"], c["host"], c["path"], c["query"]), c.inspect
    end
  end

  def test_distinct_and_same_keys
    SPEC["distinct_keys"].each { |g| assert_equal g.size, g.map { |r| key(r) }.uniq.size, g.inspect }
    SPEC["same_keys"].each { |g| assert_equal 1, g.map { |r| key(r) }.uniq.size, g.inspect }
  end

  def test_cache_control
    SPEC["cache_control"].each { |c| assert_equal c["directives"], H.directives(c["value"]), c.inspect }
  end

  def test_lifetime
    SPEC["lifetime"].each do |c|
      got = H.response_lifetime(c["status"], c["headers"], c["default_ttl"], c["now"],
                                cache_set_cookie: c["cache_set_cookie"])
      c["out"].nil? ? assert_nil(got, c.inspect) : assert_equal(c["out"], got, c.inspect)
    end
  end

  def test_request
    SPEC["request"].each do |c|
      get = ->(name) { c["headers"][name] }
      options = c["options"].transform_keys(&:to_sym)
      host = H.request_host(c["fallback"], c["scheme"], trust_forwarded_host: options[:trust_forwarded_host], &get)
      c["host"].nil? ? assert_nil(host, c.inspect) : assert_equal(c["host"], host, c.inspect)
      assert_equal c["out"], H.request_decision(c["method"], host, options, &get).to_s, c.inspect
    end
  end

  def test_vary
    SPEC["vary"].each do |c|
      names = H.vary_names(H.combine(c["vary"]))
      assert_equal c["names"], names, c.inspect
      request = c["request"].transform_values { |v| bytes(v) }
      assert_equal c["suffix"], H.variant_suffix(names) { |n| request[n] }, c.inspect
    end
  end

  def test_entry
    middleware = Unicache::RackCache.new(->(_) {}, cache: Unicache::Cache.new("memory://"))
    SPEC["entry"].each do |c|
      stored = { headers: c["headers"].map { |k, v| [bytes(k), bytes(v)] }, body: bytes(c["body"]),
                 stored_at: c["stored_at"], etag: bytes(c["etag"]) }
      assert_equal bytes(c["bytes"]), middleware.send(:encode, stored), c.inspect
      assert_equal stored, middleware.send(:decode, bytes(c["bytes"])), c.inspect
    end
  end
end
