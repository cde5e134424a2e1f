# frozen_string_literal: true

# Every SWIG typemap from Ruby: the types it takes and the ones it refuses
# (exact exception classes), on every backend.
module TypemapTests
  def raw = (@raw ||= make_cache(serializer: :raw))

  def test_string_symbol_and_to_str_keys_are_the_same_key
    raw.set("k-é", "v")
    assert_equal "v", raw.get("k-é".b)
    raw.set(:sym, "s")
    assert_equal "s", raw.get("sym")
    key = Object.new
    def key.to_str = "sym"
    assert_equal "s", raw.get(key)
  end

  def test_wrong_key_types_are_type_errors
    [1, 1.5, nil, ["k"], Object.new, { k: 1 }].each do |bad|
      [-> { raw.get(bad) }, -> { raw.set(bad, "v") }, -> { raw.delete(bad) },
       -> { raw.exist?(bad) }, -> { raw.increment(bad) }, -> { raw.ttl(bad) },
       -> { raw[bad] }, -> { raw.touch(bad) }].each do |call|
        error = assert_raises(TypeError) { call.call }
        assert_equal TypeError, error.class
        assert_match(/key must be a String, not #{bad.class}/, error.message)
      end
    end
  end

  def test_empty_and_too_long_keys
    error = assert_raises(Unicache::InvalidArgumentError) { raw.set("", "v") }
    assert_equal(-1, error.status)
    assert_match(/empty key/, error.message)
    error = assert_raises(Unicache::TooBigError) { raw.set("k" * 65_537, "v") }
    assert_equal(-6, error.status)
  end

  def test_binary_keys_and_values
    key = "\xff\x00 k\r\n".b
    value = (0..255).map(&:chr).join.b * 2048 # 512 KiB (memcached's items stop at 1 MiB)
    raw.set(key, value)
    got = raw.get(key)
    assert_equal value, got
    assert_equal Encoding::ASCII_8BIT, got.encoding
    if can_list_keys?
      listed = raw.keys.find { |k| k.b.start_with?("\xff".b) }
      assert_equal key, listed.b
      assert_equal Encoding::ASCII_8BIT, listed.encoding # not UTF-8: kept binary
      assert_equal value, raw.get(listed)
    end
  end

  def test_wrong_value_types
    [1, nil, 2.5].each do |bad|
      assert_raises(TypeError) { raw.set("k", bad) }
    end
    assert_raises(TypeError) { raw.raw_set("k", 5) }
  end

  def test_frozen_and_mutated_strings
    key = +"mutable"
    raw.set(key, "v")
    key << "-changed"
    assert_equal "v", raw.get("mutable")
    assert_equal "v", raw.get("mutable".freeze)
  end

  def test_out_buffers
    assert_nil raw.get("missing")
    raw.set("empty", "")
    assert_equal "", raw.get("empty")
    assert_kind_of String, cache.info
    assert_kind_of Hash, cache.stats
  end

  def test_arrays_of_keys
    raw.write_multi("a" => "1", "b" => "2")
    assert_equal({ "a" => "1", "b" => "2" }, raw.read_multi("a", "b", "zz"))
    assert_equal({ "a" => "1" }, raw.read_multi(%w[a zz]))
    assert_equal 1, raw.delete_multi("a", "zz")
    error = assert_raises(TypeError) { raw.read_multi("a", 5) }
    assert_match(/keys\[1\] must be a String, not Integer/, error.message)
    assert_raises(TypeError) { raw.invalidate_tags(nil) }
    assert_raises(TypeError) { raw.write_multi([1]) }
  end

  def test_ttl_forms
    [1, 2.5, nil, Unicache::FOREVER, 10**9, Rational(3, 2)].each do |ttl|
      cache.set("k", 1, ttl: ttl)
      remaining = cache.ttl("k")
      if ttl.nil? || ttl == Unicache::FOREVER
        assert_equal Float::INFINITY, remaining
      else
        assert_operator remaining, :>, 0
        assert_operator remaining, :<=, ttl
      end
    end
  end

  def test_duration_like_ttl
    duration = Object.new
    def duration.to_f = 30.0
    cache.set("k", 1, expires_in: duration)
    assert_operator cache.ttl("k"), :<=, 30
    assert_operator cache.ttl("k"), :>, 29
  end

  def test_bad_ttls
    [0, -1, -0.5, Float::NAN, -Float::INFINITY, 1e13].each do |bad|
      error = assert_raises(Unicache::InvalidArgumentError) { cache.set("k", 1, ttl: bad) }
      assert_match(/ttl/, error.message)
    end
    ["5", true, [1]].each do |bad|
      error = assert_raises(TypeError) { cache.set("k", 1, ttl: bad) }
      assert_equal TypeError, error.class
    end
    assert_nil cache.get("k")
  end

  def test_integer_arguments
    assert_equal 1, cache.increment("n")
    assert_equal 42, cache.increment("n", 41)
    assert_equal 40, cache.decrement("n", 2)
    assert_raises(TypeError) { cache.increment("n", 1.5) }
    assert_raises(TypeError) { cache.increment("n", "1") }
    assert_raises(RangeError) { cache.increment("n", 2**64) }
    assert_raises(TypeError) { cache.keys("*", limit: "2") }
  end

  def test_uri_and_prefix_types
    error = assert_raises(TypeError) { Unicache::Cache.new(5) }
    assert_match(/uri must be a String or nil, not Integer/, error.message)
    error = assert_raises(Unicache::InvalidArgumentError) { Unicache::Cache.new("memory://\0") }
    assert_match(/NUL/, error.message)
    error = assert_raises(Unicache::InvalidArgumentError) { Unicache::Cache.new("nosuch://x") }
    assert_match(/nosuch/, error.message)
    assert_raises(TypeError) { Unicache::Cache.new(uri, prefix: 5) }
  end

  def test_error_classes
    {
      Unicache::InvalidArgumentError => -1, Unicache::OutOfMemoryError => -2,
      Unicache::UnavailableError => -3, Unicache::TimeoutError => -4,
      Unicache::NotSupportedError => -5, Unicache::TooBigError => -6,
      Unicache::NotANumberError => -7, Unicache::CacheIOError => -8,
      Unicache::CorruptStoreError => -9, Unicache::StoreVersionError => -10,
      Unicache::AuthenticationError => -11, Unicache::OutOfRangeError => -12,
      Unicache::InternalError => -13
    }.each do |cls, status|
      assert_operator cls, :<, Unicache::Error
      assert_equal status, cls::STATUS
    end
    assert_operator Unicache::Error, :<, StandardError
  end

  def test_status_errors
    cache.set("s", "text")
    error = assert_raises(Unicache::NotANumberError) { cache.increment("s") }
    assert_equal(-7, error.status)
    cache.set("big", 2**63 - 1)
    assert_raises(Unicache::OutOfRangeError) { cache.increment("big") }
  end

  def test_closed_cache
    c = make_cache
    c.close
    c.close
    assert c.closed?
    error = assert_raises(Unicache::InvalidArgumentError) { c.get("k") }
    assert_match(/closed/, error.message)
    assert_equal "#<Unicache::Cache closed>", c.inspect
  end
end

each_backend("Typemaps", TypemapTests)
