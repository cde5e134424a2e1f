# frozen_string_literal: true

# minitest harness for the Ruby binding. UNICACHE_TEST_BACKENDS (set by
# CMake from the UNICACHE_WITH_* options) lists the backends to run
# against. Redis and memcached are real servers started here on a free
# 127.0.0.1 port and stopped at exit; a missing server binary fails the run.
# SQLite uses a fresh file per test.
require "fileutils"
require "tmpdir"
require "unicache"
require_relative "servers"

module TestSupport
  BACKENDS = ENV.fetch("UNICACHE_TEST_BACKENDS", "memory").split(",").reject(&:empty?)
  # "tiered": a memory:// L1 in front of a Redis L2, the one-line form.
  KNOWN = %w[memory sqlite redis memcached tiered].freeze
  unless !BACKENDS.empty? && (BACKENDS - KNOWN).empty?
    abort "UNICACHE_TEST_BACKENDS must list some of #{KNOWN.join(', ')}, got #{BACKENDS.inspect}"
  end

  def self.server(name) = TestServers.server(name)

  def self.uri(backend, dir)
    case backend
    when "memory" then "memory://"
    when "sqlite" then "sqlite://#{File.join(dir, 'cache.db')}"
    when "redis" then "redis://127.0.0.1:#{server('redis').port}/0"
    when "memcached" then "memcached://127.0.0.1:#{server('memcached').port}"
    when "tiered" then "tiered+redis://127.0.0.1:#{server('redis').port}/1?l1_max_items=10000"
    end
  end

  @counter = 0
  @mutex = Mutex.new
  def self.next_prefix
    @mutex.synchronize { "t#{Process.pid}-#{@counter += 1}:" }
  end
end

# Stop the servers after minitest's own at_exit hook has run the tests.
at_exit { TestServers.stop_all }
require "minitest/autorun"

# Included in every per-backend test class; the class defines #backend.
module BackendCase
  def setup
    @dir = Dir.mktmpdir("unicache-test")
    @opened = []
  end

  def teardown
    @opened.each do |c|
      next if c.closed?

      c.clear
      c.close
    end
    FileUtils.rm_rf(@dir)
  end

  def uri = TestSupport.uri(backend, @dir)

  # A cache with a prefix of its own, so tests sharing a server never
  # see each other's keys.
  def make_cache(**options)
    options[:prefix] ||= TestSupport.next_prefix
    c = Unicache::Cache.new(uri, **options)
    @opened << c
    c
  end

  def cache = (@cache ||= make_cache)

  # memcached cannot enumerate keys: keys/delete_matched raise NotSupportedError.
  def can_list_keys? = backend != "memcached"
end

# Defines <Name>_<Backend> < Minitest::Test for each backend under test,
# running the tests of `tests` (a module).
def each_backend(name, tests)
  TestSupport::BACKENDS.each do |b|
    klass = Class.new(Minitest::Test) do
      include BackendCase
      include tests
      define_method(:backend) { b }
    end
    Object.const_set("#{name}#{b.capitalize}", klass)
  end
end
