# frozen_string_literal: true

# Unicache::Cache: the Ruby API on every backend.
module CacheTests
  def test_get_set_delete_exist
    assert_nil cache.get("k")
    assert_equal true, cache.set("k", { "a" => [1, 2.5, nil, true, "é"] })
    assert_equal({ "a" => [1, 2.5, nil, true, "é"] }, cache.get("k"))
    assert cache.exist?("k")
    assert_equal true, cache.delete("k")
    assert_equal false, cache.delete("k")
    refute cache.exist?("k")
  end

  def test_brackets_and_rails_spellings
    cache["k"] = [1, 2]
    assert_equal [1, 2], cache["k"]
    assert cache.key?("k") && cache.include?("k")
    cache.write("w", "v", expires_in: 50)
    assert_equal "v", cache.read("w")
    assert_operator cache.ttl("w"), :<=, 50
  end

  def test_open_with_block_closes
    kept = nil
    result = Unicache::Cache.open(uri) do |c|
      kept = c
      refute c.closed?
      assert_includes %w[memory sqlite redis memcached tiered], c.backend
      :value
    end
    assert_equal :value, result
    assert kept.closed?
    assert_raises(RuntimeError) { Unicache::Cache.open(uri) { |c| kept = c; raise "boom" } }
    assert kept.closed?
    c = Unicache::Cache.open(uri)
    refute c.closed?
    c.close
  end

  def test_fetch
    calls = 0
    assert_equal "v1", cache.fetch("f", expires_in: 60) { |key| calls += 1; "v#{calls}" }
    assert_equal "v1", cache.fetch("f") { calls += 1; "v#{calls}" }
    assert_equal 1, calls
    assert_operator cache.ttl("f"), :<=, 60
    assert_equal "v2", cache.fetch("f", force: true) { calls += 1; "v#{calls}" }
    assert_nil cache.fetch("nil") { nil }
    assert_nil cache.fetch("nil") { raise "cached nil must not recompute" }
    assert_nil cache.fetch("skip", skip_nil: true) { nil }
    refute cache.exist?("skip")
    assert_raises(ArgumentError) { cache.fetch("absent") }
    assert_equal "v2", cache.fetch("f")
  end

  def test_multi
    assert_equal true, cache.write_multi({ "a" => 1, "b" => "two" }, expires_in: 60)
    assert_equal({ "a" => 1, "b" => "two" }, cache.read_multi("a", "b", "c"))
    result = cache.fetch_multi("a", "c") { |k| "computed #{k}" }
    assert_equal({ "a" => 1, "c" => "computed c" }, result)
    assert_equal "computed c", cache.get("c")
    assert_equal 2, cache.delete_multi(%w[a b zz])
  end

  def test_counters_and_add
    assert_equal 1, cache.increment("c")
    assert_equal 11, cache.increment("c", 10)
    assert_equal 10, cache.decrement("c")
    cache.set("j", 41)
    assert_equal 42, cache.increment("j")
    assert_equal 42, cache.get("j")
    assert_equal true, cache.add("new", 1)
    assert_equal false, cache.add("new", 2)
    assert_equal 1, cache.get("new")
  end

  def test_touch_ttl_expire_at
    assert_equal false, cache.touch("missing", ttl: 5)
    assert_nil cache.ttl("missing")
    cache.set("k", 1, ttl: 100)
    assert_equal true, cache.touch("k", ttl: 200)
    assert_operator cache.ttl("k"), :>, 199
    assert_equal true, cache.expire_at("k", Time.now + 300)
    assert_operator cache.ttl("k"), :>, 298
    assert_equal true, cache.expire_at("k", Time.now.to_f - 10)
    assert_nil cache.get("k")
    assert_raises(TypeError) { cache.expire_at("k", "tomorrow") }
  end

  def test_expiry_happens
    cache.set("k", 1, ttl: backend == "memcached" ? 1 : 0.2)
    sleep(backend == "memcached" ? 2.1 : 0.3)
    assert_nil cache.get("k")
  end

  def test_keys_and_delete_matched
    %w[user:1 user:2 user:10 post:1].each { |k| cache.set(k, 1) }
    unless can_list_keys?
      error = assert_raises(Unicache::NotSupportedError) { cache.keys }
      assert_equal(-5, error.status)
      assert_raises(Unicache::NotSupportedError) { cache.delete_matched("user:*") }
      return
    end
    assert_equal %w[post:1 user:1 user:10 user:2], cache.keys.sort
    assert_equal %w[user:1 user:2], cache.keys("user:?").sort
    assert_equal 2, cache.keys("*", limit: 2).size
    assert_raises(Unicache::InvalidArgumentError) { cache.keys("[unclosed") }
    assert_equal 3, cache.delete_matched("user:*")
    assert_equal %w[post:1], cache.keys
  end

  def test_tags
    cache.set("a", 1, tags: ["t1"])
    cache.set("b", 2, tags: %w[t1 t2])
    cache.set("c", 3, tags: "t2")
    cache.invalidate_tags("t1")
    assert_nil cache.get("a")
    assert_nil cache.get("b")
    assert_equal 3, cache.get("c")
    cache.invalidate_tags(["t2"])
    assert_nil cache.get("c")
  end

  def test_clear_only_own_prefix
    a = make_cache
    b = make_cache
    a.set("k", 1)
    b.set("k", 2)
    assert_nil a.clear
    assert_nil a.get("k")
    assert_equal 2, b.get("k")
  end

  def test_stats_and_ping
    cache.set("k", 1)
    cache.get("k")
    cache.get("missing")
    s = cache.stats
    assert_equal backend, s["backend"]
    assert_operator s["hits"], :>=, 1
    assert_operator s["misses"], :>=, 1
    assert_equal true, cache.ping
    assert_match(/\A#<Unicache::Cache .* serializer=json>\z/, cache.inspect)
  end

  def test_serializers
    value = { "s" => "é", "i" => -5, "f" => 1.5, "l" => [1, nil, true] }
    %i[json marshal msgpack].each do |name|
      c = make_cache(serializer: name)
      c.set("k", value)
      assert_equal value, c.get("k"), name
    end
    m = make_cache(serializer: :marshal)
    m.set("sym", { a: :b, t: Time.at(0) })
    assert_equal({ a: :b, t: Time.at(0) }, m.get("sym"))
    j = make_cache
    j.set("sym", { a: :b })
    assert_equal({ "a" => "b" }, j.get("sym")) # JSON has no symbols
    assert_equal '{"a":"b"}', j.raw_get("sym")
    assert_raises(JSON::GeneratorError) { j.set("nan", Float::NAN) }
    r = make_cache(serializer: :raw)
    assert_raises(TypeError) { r.set("k", 5) }
    assert_raises(Unicache::InvalidArgumentError) { make_cache(serializer: :yaml) }
    assert_raises(TypeError) { make_cache(serializer: 5) }
  end

  JSON_VALUES = [nil, true, false, 0, -5, 2**40, 2**62, -2**63, 2**70, "", "abc", "é ü 漢字 🎉",
                 "a\"b", "back\\slash", "x\ny\t\u0001", "\u2028", "\x7f", "0", "01", 1.5, -0.0,
                 1e300, [], {}, [1, "a"], { "k" => { "n" => nil } }].freeze

  # The native fast paths write exactly what JSON.generate writes and read
  # back what JSON.parse reads.
  def test_json_fast_paths_match_the_json_library
    JSON_VALUES.each do |value|
      text = Unicache::Native.json_dump(value)
      assert_equal JSON.generate(value), text, value.inspect
      back = Unicache::Native.json_load(text.b)
      assert_equal JSON.parse(text), back, value.inspect
      assert_equal back.encoding, Encoding::UTF_8 if back.is_a?(String)
    end
    assert_raises(JSON::GeneratorError) { Unicache::Native.json_dump("\xff".b) }
    assert_raises(JSON::GeneratorError) { Unicache::Native.json_dump(Float::NAN) }
    ["01", "-", "1.", "tru", '"a', "\"\x01\"", "", "1 2"].each do |bad|
      assert_raises(JSON::ParserError, bad.inspect) { Unicache::Native.json_load(bad.b) }
    end
    assert_equal 5, Unicache::Native.json_load(" 5 ")
  end

  def test_custom_serializer
    upper = Object.new
    def upper.dump(v) = v.upcase
    def upper.load(s) = s.downcase
    c = make_cache(serializer: upper)
    c.set("k", "abc")
    assert_equal "ABC", c.raw_get("k")
    assert_equal "abc", c.get("k")
  end

  def test_threads
    errors = Queue.new
    c = cache
    threads = 8.times.map do |n|
      Thread.new do
        100.times do |i|
          c.set("t#{n}-#{i % 10}", i)
          c.increment("shared")
        end
      rescue StandardError => e
        errors << e
      end
    end
    threads.each(&:join)
    assert errors.empty?
    assert_equal 800, cache.get("shared")
  end

  # Runs the block while a call on the cache waits in another thread (on a
  # paused server, or on SQLite's write lock held by the sqlite3 shell).
  def while_a_call_waits(c)
    c.set("k", "v")
    if backend == "sqlite"
      shell = IO.popen(["sqlite3", uri.delete_prefix("sqlite://")], "r+")
      shell.puts "BEGIN IMMEDIATE;"
      shell.puts "SELECT 'locked';"
      shell.flush
      assert_equal "locked", shell.gets.chomp
      release = -> { shell.puts "COMMIT;"; shell.close }
      call = -> { c.set("k", "v") && "v" }
    else
      server = TestSupport.server(backend == "tiered" ? "redis" : backend) # a write left no L1 copy
      server.pause
      release = -> { server.resume }
      call = -> { c.get("k") }
    end
    begin
      t = Thread.new { call.call }
      sleep 0.05
      assert t.alive? # it is waiting
      yield
    ensure
      release.call
    end
    assert_equal "v", t.value
  end

  def test_blocked_call_releases_the_gvl
    return if backend == "memory" # nothing to wait for: it keeps the GVL

    while_a_call_waits(make_cache) do
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      counted = 0
      counted += 1 while Process.clock_gettime(Process::CLOCK_MONOTONIC) - started < 0.05
      assert_operator counted, :>, 1000 # this thread ran while the other waited
    end
  end

  def test_close_while_another_thread_waits
    return if backend == "memory"

    c = make_cache
    while_a_call_waits(c) do
      c.close # must not free the handle under the waiting thread
      assert c.closed?
      assert_raises(Unicache::InvalidArgumentError) { c.get("k") }
    end
  end
end

each_backend("Cache", CacheTests)
