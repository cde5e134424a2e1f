# frozen_string_literal: true

# Unicache::Cache#fetch over the C core's leases (issue 13): one block call
# per missing key across every thread and process sharing the backend; a
# block that raises caches nothing and frees the key at once.
module StampedeTests
  def test_fetch_computes_once_across_threads
    prefix = TestSupport.next_prefix
    shared = make_cache(prefix: prefix)
    handles = backend == "memory" ? [shared] * 8 : Array.new(8) { make_cache(prefix: prefix) }
    calls = Queue.new
    values = Queue.new
    threads = handles.map do |h|
      Thread.new do
        values << h.fetch("k", expires_in: 60) do
          calls << 1
          sleep 0.15
          "v"
        end
      end
    end
    threads.each { |t| t.join(10) }
    assert_equal ["v"] * 8, Array.new(values.size) { values.pop }
    assert_equal 1, calls.size
  end

  def test_fetch_across_processes_computes_once
    return if backend == "memory" # a memory store is not shared between processes

    prefix = TestSupport.next_prefix
    log = File.join(Dir.mktmpdir, "computes")
    shared = uri # the server starts here, not once in each child
    pids = Array.new(4) do
      fork do
        c = Unicache::Cache.new(shared, prefix: prefix)
        v = c.fetch("k", expires_in: 60, race_condition_ttl: 5) do
          File.open(log, "a") { |f| f.write("x") }
          sleep 0.3
          "v"
        end
        c.close
        exit!(v == "v" ? 0 : 2)
      end
    end
    pids.each do |pid|
      _, status = Process.wait2(pid)
      assert status.success?
    end
    assert_equal "x", File.read(log)
    c = make_cache(prefix: prefix)
    assert_equal "v", c.get("k")
  end

  def test_a_raising_block_caches_nothing
    assert_raises(KeyError) { cache.fetch("k") { raise KeyError, "no" } }
    assert_nil cache.get("k")
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_equal "v", cache.fetch("k") { "v" }
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 2.0
    assert_equal "v", cache.get("k")
  end

  def test_skip_nil_and_tags_still_hold
    assert_nil(cache.fetch("n", skip_nil: true) { nil })
    refute cache.exist?("n")
    assert_equal 1, cache.fetch("t", tags: ["g"]) { 1 }
    cache.invalidate_tags("g")
    assert_nil cache.get("t")
  end

  # Rails' race_condition_ttl, per call: the first reader after expiry
  # recomputes while every other reader keeps getting the old value.
  def test_race_condition_ttl_serves_the_old_value_while_one_recomputes
    prefix = TestSupport.next_prefix
    c = make_cache(prefix: prefix)
    other = backend == "memory" ? c : make_cache(prefix: prefix) # memory: one store per handle
    assert_equal "old", c.fetch("k", expires_in: 0.3, race_condition_ttl: 30) { "old" }
    assert_equal "p", c.fetch("plain", expires_in: 0.3) { "p" }
    sleep 0.45
    calls = Queue.new
    refresher = Thread.new do
      other.fetch("k", expires_in: 60, race_condition_ttl: 30) do
        calls << 1
        sleep 0.4
        "new"
      end
    end
    sleep 0.15 # the refresher holds the lease and computes
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    assert_equal("old", c.fetch("k", expires_in: 60) { flunk "a second compute" })
    assert_operator Process.clock_gettime(Process::CLOCK_MONOTONIC) - started, :<, 0.3
    assert_equal "new", refresher.value
    assert_equal 1, calls.size
    assert_equal "new", c.get("k")
    # Without race_condition_ttl (and no stale_ttl on the cache): a plain miss.
    assert_equal("q", c.fetch("plain", expires_in: 60) { "q" })
  end

  def test_a_tagged_fetch_is_lease_checked
    prefix = TestSupport.next_prefix
    c = make_cache(prefix: prefix)
    other = backend == "memory" ? c : make_cache(prefix: prefix)
    v = c.fetch("k", tags: ["g"]) do
      other.delete("k")
      "outdated"
    end
    assert_equal "outdated", v
    assert_nil c.get("k"), "a delete during the block refuses the tagged store"
    assert_equal(1, c.fetch("k", tags: ["g"]) { 1 })
    c.invalidate_tags("g")
    assert_nil c.get("k")
  end

  def test_a_bad_race_condition_ttl_is_an_argument_error
    [-1, "x", Float::NAN, Float::INFINITY].each do |bad|
      assert_raises(ArgumentError) { cache.fetch("k", race_condition_ttl: bad) { 1 } }
    end
    assert_nil cache.get("k")
  end
end

each_backend("Stampede", StampedeTests)
