# frozen_string_literal: true

# ActiveSupport::Cache::UnicacheStore with ActiveSupport 6.1 loaded for real,
# on every backend: the Store behaviours of Rails' own
# activesupport/test/cache/behaviors (ported: same calls, same results),
# plus lookup_store, delete_matched's Regexp translation and the local cache.
require "securerandom"
require "zlib"
require "active_support"
require "active_support/cache"
require "active_support/notifications"
require "active_support/core_ext/numeric/time"
require "active_support/cache/unicache_store"

module UnicacheStoreBehaviors
  def setup
    @dir = Dir.mktmpdir
    @cache = store
  end

  def teardown
    @cache.clear
    @cache.unicache.close
    FileUtils.rm_rf(@dir)
  end

  def uri_for(backend)
    prefix = TestSupport.next_prefix
    case backend
    when "memory" then "memory://?name=#{prefix.delete(':')}"
    when "sqlite" then "sqlite://#{File.join(@dir, 'cache.db')}?prefix=#{prefix}"
    else "#{TestSupport.uri(backend, @dir)}?prefix=#{prefix}"
    end
  end

  def store(**options)
    @uri ||= uri_for(self.class::BACKEND)
    ActiveSupport::Cache.lookup_store(:unicache_store, @uri, expires_in: 60, **options)
  end

  def slack = self.class::BACKEND == "memcached" ? 1.1 : 0.2

  # -------------------------------------------------- cache_store_behavior

  def test_should_read_and_write_strings
    assert @cache.write("foo", "bar")
    assert_equal "bar", @cache.read("foo")
  end

  def test_should_overwrite
    @cache.write("foo", "bar")
    @cache.write("foo", "baz")
    assert_equal "baz", @cache.read("foo")
  end

  def test_fetch_without_cache_miss
    @cache.write("foo", "bar")
    assert_equal "bar", @cache.fetch("foo") { "baz" }
  end

  def test_fetch_with_cache_miss
    assert_equal "baz", @cache.fetch("foo") { "baz" }
    assert_equal "baz", @cache.read("foo")
  end

  def test_fetch_with_forced_cache_miss
    @cache.write("foo", "bar")
    assert_equal "qux", @cache.fetch("foo", force: true) { "qux" }
  end

  def test_fetch_with_cached_nil
    @cache.write("foo", nil)
    assert_nil(@cache.fetch("foo") { "baz" })
  end

  def test_fetch_cache_miss_with_skip_nil
    assert_nil(@cache.fetch("foo", skip_nil: true) { nil })
    assert_equal false, @cache.exist?("foo")
  end

  def test_should_read_and_write_hash
    assert @cache.write("foo", a: "b")
    assert_equal({ a: "b" }, @cache.read("foo"))
  end

  def test_should_read_and_write_integer
    assert @cache.write("foo", 1)
    assert_equal 1, @cache.read("foo")
  end

  def test_should_read_and_write_nil
    assert @cache.write("foo", nil)
    assert_nil @cache.read("foo")
  end

  def test_should_read_and_write_false
    assert @cache.write("foo", false)
    assert_equal false, @cache.read("foo")
  end

  def test_read_multi
    @cache.write("foo", "bar")
    @cache.write("fu", "baz")
    @cache.write("fud", "biz")
    assert_equal({ "foo" => "bar", "fu" => "baz" }, @cache.read_multi("foo", "fu"))
  end

  def test_read_multi_with_expires
    time = Time.now
    @cache.write("foo", "bar", expires_in: 10)
    @cache.write("fu", "baz")
    @cache.write("fud", "biz")
    Time.stub(:now, time + 11) do
      assert_equal({ "fu" => "baz" }, @cache.read_multi("foo", "fu"))
    end
  end

  def test_fetch_multi
    @cache.write("foo", "bar")
    @cache.write("fud", "biz")
    values = @cache.fetch_multi("foo", "fu", "fud") { |value| value * 2 }
    assert_equal({ "foo" => "bar", "fu" => "fufu", "fud" => "biz" }, values)
    assert_equal("fufu", @cache.read("fu"))
  end

  def test_write_multi_and_delete_multi
    @cache.write_multi("a" => 1, "b" => "two", "c" => [3])
    assert_equal({ "a" => 1, "b" => "two", "c" => [3] }, @cache.read_multi("a", "b", "c"))
    assert_equal 2, @cache.delete_multi(%w[a b zz])
    assert_equal({ "c" => [3] }, @cache.read_multi("a", "b", "c"))
  end

  def test_multi_forms_are_one_round_trip_each
    calls = Hash.new(0)
    handle = @cache.unicache.instance_variable_get(:@handle)
    %i[get get_many set set_many delete delete_many].each do |m|
      handle.singleton_class.send(:define_method, m) do |*a|
        calls[m] += 1
        super(*a)
      end
    end
    @cache.write_multi({ "a" => 1, "b" => 2, "c" => 3 }, expires_in: 30)
    @cache.read_multi("a", "b", "c", "d")
    @cache.delete_multi(%w[a b c])
    assert_equal({ set_many: 1, get_many: 1, delete_many: 1 }, calls.select { |_, v| v.positive? })
  end

  def test_cache_key_and_namespace
    obj = Object.new
    def obj.cache_key = :foo
    @cache.write(obj, "bar")
    assert_equal "bar", @cache.read("foo")
    ns = store(namespace: "ns")
    ns.write("k", 1)
    assert_nil @cache.read("k")
    assert_equal 1, @cache.read("ns:k")
    assert_equal 1, store(namespace: -> { "ns" }).read("k")
  end

  def test_hash_and_array_keys
    @cache.write([:foo, "bar"], "baz")
    assert_equal "baz", @cache.read("foo/bar")
    @cache.write({ foo: 1, bar: 2 }, "baz")
    assert_equal "baz", @cache.read("bar=2/foo=1")
  end

  def test_exist_and_delete
    @cache.write("foo", "bar")
    assert @cache.exist?("foo")
    assert @cache.delete("foo")
    assert_not_exist("foo")
    assert_equal false, @cache.delete("foo")
  end

  def assert_not_exist(key) = assert_equal(false, @cache.exist?(key))

  def test_expires_in
    @cache.write("foo", "bar", expires_in: 1)
    assert_equal "bar", @cache.read("foo")
    sleep 1 + slack
    assert_nil @cache.read("foo")
    # Entries live their expires_in on the backend too (not only in Entry).
    @cache.write("bar", "baz", expires_in: 100)
    assert_operator @cache.unicache.ttl("bar"), :<=, 100
  end

  def test_race_condition_protection
    time = Time.now
    @cache.write("foo", "bar", expires_in: 60)
    Time.stub(:now, time + 61) do
      result = @cache.fetch("foo", race_condition_ttl: 10) do
        assert_equal "bar", @cache.read("foo")
        "baz"
      end
      assert_equal "baz", result
    end
  end

  def test_race_condition_protection_skipped_if_not_defined
    @cache.write("foo", "bar")
    time = @cache.send(:read_entry, @cache.send(:normalize_key, "foo", {}), **{}).expires_at
    Time.stub(:now, Time.at(time)) do
      result = @cache.fetch("foo") do
        assert_nil @cache.read("foo")
        "baz"
      end
      assert_equal "baz", result
    end
  end

  # Rails' meaning with real clocks and threads: after expiry the first
  # reader extends the entry by race_condition_ttl and recomputes, and the
  # others keep getting the old value meanwhile.
  def test_race_condition_ttl_with_threads
    @cache.write("foo", "bar", expires_in: 0.3, race_condition_ttl: 10)
    sleep 0.45
    refresher = Thread.new do
      @cache.fetch("foo", expires_in: 60, race_condition_ttl: 10) do
        sleep 0.4
        "baz"
      end
    end
    sleep 0.15
    assert_equal("bar", @cache.fetch("foo", race_condition_ttl: 10) { flunk "a second compute" })
    assert_equal "baz", refresher.value
    assert_equal "baz", @cache.read("foo")
  end

  def test_race_condition_ttl_keeps_the_stale_entry_on_the_backend
    @cache.write("foo", "bar", expires_in: 1, race_condition_ttl: 5)
    assert_operator @cache.unicache.ttl("foo"), :>, 200
  end

  def test_unless_exist
    assert_equal true, @cache.write("foo", "bar", unless_exist: true)
    assert_equal false, @cache.write("foo", "baz", unless_exist: true)
    assert_equal "bar", @cache.read("foo")
  end

  def test_versions
    @cache.write("foo", "bar", version: 1)
    assert_equal "bar", @cache.read("foo", version: 1)
    assert_nil @cache.read("foo", version: 2)
    assert_equal "baz", @cache.fetch("foo", version: 2) { "baz" }
    assert_equal "baz", @cache.read("foo", version: 2)
    rec = Struct.new(:cache_key, :cache_version).new("rec", "v7")
    @cache.write(rec, "x")
    assert_equal "x", @cache.read(rec)
    assert_nil @cache.read(Struct.new(:cache_key, :cache_version).new("rec", "v8"))
    assert_equal({}, @cache.read_multi(Struct.new(:cache_key, :cache_version).new("rec", "v8")))
  end

  def test_compression
    big = "x" * 10_000
    @cache.write("big", big, compress: true, compress_threshold: 100)
    assert_equal big, @cache.read("big")
    stored = @cache.unicache.raw_get("big")
    assert_operator stored.bytesize, :<, 1000
    @cache.write("plain", big, compress: false)
    assert_operator @cache.unicache.raw_get("plain").bytesize, :>, 10_000
  end

  module UpcaseCoder
    def self.dump(entry) = Marshal.dump(entry).reverse
    def self.load(data) = Marshal.load(data.reverse) # rubocop:disable Security/MarshalLoad
  end

  def test_coder
    c = store(coder: UpcaseCoder)
    c.write("k", { "a" => 1 })
    assert_equal({ "a" => 1 }, c.read("k"))
    assert_equal Marshal.dump(c.send(:read_entry, "k", **{})).reverse, @cache.unicache.raw_get("k")
  end

  def test_binary_and_utf8
    bin = "\xFF\x00abc".b
    @cache.write("bin", bin)
    assert_equal bin, @cache.read("bin")
    @cache.write("ключ", "значение")
    assert_equal "значение", @cache.read("ключ")
  end

  # ------------------------------------ cache_increment_decrement_behavior

  def test_increment
    key = SecureRandom.uuid
    @cache.write(key, 1, raw: true)
    assert_equal 1, @cache.read(key, raw: true).to_i
    assert_equal 2, @cache.increment(key)
    assert_equal 2, @cache.read(key, raw: true).to_i
    assert_equal 3, @cache.increment(key)
    assert_equal 3, @cache.read(key, raw: true).to_i
    assert_equal 3, @cache.read(key) # a counter reads as an Integer
    assert_equal 1, @cache.increment(SecureRandom.alphanumeric)
    assert_equal 100, @cache.increment(SecureRandom.alphanumeric, 100)
  end

  def test_decrement
    key = SecureRandom.uuid
    @cache.write(key, 3, raw: true)
    assert_equal 2, @cache.decrement(key)
    assert_equal 1, @cache.decrement(key)
    assert_equal 1, @cache.read(key, raw: true).to_i
    assert_equal(-1, @cache.decrement(SecureRandom.alphanumeric))
    assert_equal(-100, @cache.decrement(SecureRandom.alphanumeric, 100))
  end

  def test_ttl_isnt_updated
    key = SecureRandom.uuid
    assert_equal 1, @cache.increment(key, 1, expires_in: 1)
    assert_equal 2, @cache.increment(key, 1, expires_in: 5000)
    sleep 1 + slack
    assert_nil @cache.read(key, raw: true)
  end

  def test_increment_is_atomic_across_threads
    threads = 4.times.map { Thread.new { 100.times { @cache.increment("ctr") } } }
    threads.each(&:join)
    assert_equal 400, @cache.read("ctr", raw: true).to_i
  end

  # ---------------------------------------- cache_delete_matched_behavior

  def test_delete_matched
    if self.class::BACKEND == "memcached"
      assert_raises(NotImplementedError) { @cache.delete_matched(/oo/) }
      assert_raises(NotImplementedError) { @cache.delete_matched("f*") }
      return
    end
    @cache.write("foo", "bar")
    @cache.write("fu", "baz")
    @cache.write("foo/bar", "baz")
    @cache.write("fu/baz", "bar")
    @cache.delete_matched(/oo/)
    assert_not_exist("foo")
    assert @cache.exist?("fu")
    assert_not_exist("foo/bar")
    assert @cache.exist?("fu/baz")
  end

  def test_delete_matched_with_namespace_anchors_and_globs
    return if self.class::BACKEND == "memcached"

    ns = store(namespace: "ns")
    %w[a1 a2 b1 a.x].each { |k| ns.write(k, k) }
    @cache.write("a1", "outside the namespace")
    assert_equal 2, ns.delete_matched(/^a\d/)
    assert_equal %w[b1 a.x], %w[a1 a2 b1 a.x].select { |k| ns.exist?(k) }
    assert_equal 1, ns.delete_matched(/^a\.x$/)
    assert_equal 1, ns.delete_matched("b*")
    assert_equal "outside the namespace", @cache.read("a1")
    # Case-insensitive and alternations are matched on the client.
    %w[Ab ab cd].each { |k| @cache.write(k, 1) }
    assert_equal 2, @cache.delete_matched(/^ab$/i)
    assert_equal 1, @cache.delete_matched(/^(cd|zz)$/)
  end

  # --------------------------------------------- instrumentation, cleanup

  def test_instrumentation_events
    events = []
    callback = ->(name, *, payload) { events << [name, payload[:key]] }
    ActiveSupport::Notifications.subscribed(callback, /cache_.*\.active_support/) do
      @cache.write("foo", "bar")
      @cache.read("foo")
      @cache.fetch("foo") { "x" }
      @cache.read_multi("foo", "zz")
      @cache.increment("n")
      @cache.delete("foo")
      @cache.exist?("foo")
    end
    names = events.map(&:first)
    %w[cache_write cache_read cache_fetch_hit cache_read_multi cache_increment cache_delete
       cache_exist?].each do |n|
      assert_includes names, "#{n}.active_support"
    end
    assert_includes events, ["cache_write.active_support", "foo"]
  end

  def test_cleanup_and_clear
    @cache.write("foo", "bar")
    assert_equal 0, @cache.cleanup
    assert_equal "bar", @cache.read("foo")
    @cache.clear
    assert_nil @cache.read("foo")
  end

  # ---------------------------------------------------------- local cache

  def test_local_cache_serves_reads_inside_the_block
    @cache.with_local_cache do
      @cache.write("foo", "bar")
      # Written behind the local cache's back: the local copy still answers.
      @cache.unicache.delete("foo")
      assert_equal "bar", @cache.read("foo")
      assert_equal 1, @cache.increment("n")
      assert_equal "1", @cache.read("n", raw: true).to_s
    end
    assert_nil @cache.read("foo")
  end

  def test_local_cache_middleware_clears_after_the_request
    app = ->(_env) { @cache.write("k", "v"); [200, {}, ["ok"]] }
    middleware = @cache.middleware.new(app)
    status, _headers, body = middleware.call({})
    assert_equal 200, status
    body.close # Rack: the local cache lives until the body is closed
    assert_nil @cache.send(:local_cache)
  end

  # -------------------------------------------------------- configuration

  def test_lookup_store_builds_this_class
    s = ActiveSupport::Cache.lookup_store(:unicache_store, @uri)
    assert_instance_of ActiveSupport::Cache::UnicacheStore, s
    assert_equal self.class::BACKEND, s.unicache.backend
  end

  def test_bad_uri_raises_unicache_error
    assert_raises(Unicache::InvalidArgumentError) do
      ActiveSupport::Cache.lookup_store(:unicache_store, "memory://?max_items=-1")
    end
  end
end

TestSupport::BACKENDS.each do |backend|
  Class.new(Minitest::Test) do
    const_set(:BACKEND, backend)
    include UnicacheStoreBehaviors
    Object.const_set("UnicacheStoreTest#{backend.capitalize}", self)
  end
end

# Named memory stores shared by two stores, as two stores on one Redis
# database share it.
class UnicacheStoreSharingTest < Minitest::Test
  def test_two_stores_on_one_memory_name_share_entries
    uri = "memory://?name=rails-share-#{Process.pid}"
    a = ActiveSupport::Cache.lookup_store(:unicache_store, uri)
    b = ActiveSupport::Cache.lookup_store(:unicache_store, uri)
    a.write("k", "v")
    assert_equal "v", b.read("k")
    assert_nil ActiveSupport::Cache.lookup_store(:unicache_store, "memory://").read("k")
  end
end

module UnicacheRegexpGlobTest
  class Cases < Minitest::Test
    G = ActiveSupport::Cache::RegexpGlob

    def test_exact_translations
      assert_equal ["foo*", true], G.convert(/\Afoo/)
      assert_equal ["foo", true], G.convert(/^foo$/)
      assert_equal ["*oo*", true], G.convert(/oo/)
      assert_equal ["a.b/*c", true], G.convert(%r{\Aa\.b/.*c\z}m)
      assert_equal ["ns:x?y*", true], G.convert(/^ns\:x.y/m)
      assert_equal ["\\*lit\\?", true], G.convert(/\A\*lit\?\z/)
    end

    def test_supersets_for_the_client_to_filter
      assert_equal ["a?b*", false], G.convert(/^a.b/)      # '.' and newlines
      assert_equal ["a*", false], G.convert(/^ab?c/)       # optional b
      assert_equal ["ab*", false], G.convert(/^ab+c/)
      assert_equal ["a*", false], G.convert(/^a[bc]/)
      assert_equal ["*", false], G.convert(/^a|b/)
      assert_equal ["*", false], G.convert(/^abc/i)
      assert_equal ["a*", false], G.convert(/^a\d/)
      assert_equal ["a*", false], G.convert(/^a\Z/)
    end
  end
end
