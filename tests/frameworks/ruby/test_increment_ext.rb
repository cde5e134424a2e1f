# frozen_string_literal: true

# Unicache::Cache#increment/#decrement with expires_in: and existing: (the
# binding of cache_incr_ext the ActiveSupport store stands on), every backend.
module IncrementExtBehaviors
  def setup
    @dir = Dir.mktmpdir
    @cache = Unicache::Cache.new(TestSupport.uri(self.class::BACKEND, @dir),
                                 prefix: TestSupport.next_prefix)
  end

  def teardown
    @cache.clear
    @cache.close
    FileUtils.rm_rf(@dir)
  end

  def test_existing_only_never_creates
    assert_nil @cache.increment("n", 5, existing: true)
    assert_equal false, @cache.exist?("n")
    @cache.set("n", 40)
    assert_equal 42, @cache.increment("n", 2, existing: true)
    assert_equal 41, @cache.decrement("n", 1, existing: true)
    assert_nil @cache.decrement("gone", 1, existing: true)
  end

  def test_expires_in_applies_to_a_new_counter_only
    assert_equal 1, @cache.increment("c", 1, expires_in: 100)
    assert_operator @cache.ttl("c"), :<=, 100
    assert_equal 2, @cache.increment("c", 1, expires_in: 5000)
    assert_operator @cache.ttl("c"), :<=, 100
    assert_equal(-3, @cache.decrement("d", 3, expires_in: 100))
  end

  def test_wrong_types
    assert_raises(TypeError) { @cache.increment("k", 1.5, existing: true) }
    assert_raises(TypeError) { @cache.increment("k", 1, existing: "yes") }
    assert_raises(TypeError) { @cache.decrement("k", 1.5, expires_in: 10) }
    assert_raises(Unicache::InvalidArgumentError) { @cache.increment("k", 1, expires_in: -3) }
    assert_raises(Unicache::OutOfRangeError) { @cache.decrement("k", -2**63, existing: true) }
    assert_equal false, @cache.exist?("k")
  end
end

TestSupport::BACKENDS.each do |backend|
  Class.new(Minitest::Test) do
    const_set(:BACKEND, backend)
    include IncrementExtBehaviors
    Object.const_set("IncrementExtTest#{backend.capitalize}", self)
  end
end
