# frozen_string_literal: true

# minitest harness for the Ruby binding. UNICACHE_TEST_BACKENDS (set by
# CMake from the UNICACHE_WITH_* options) lists the backends to run
# against. Redis and memcached are real servers started here on a free
# 127.0.0.1 port and stopped at exit; a missing server binary fails the run.
# SQLite uses a fresh file per test.
require "fileutils"
require "socket"
require "tmpdir"
require "unicache"

module TestSupport
  BACKENDS = ENV.fetch("UNICACHE_TEST_BACKENDS", "memory").split(",").reject(&:empty?)
  KNOWN = %w[memory sqlite redis memcached].freeze
  unless !BACKENDS.empty? && (BACKENDS - KNOWN).empty?
    abort "UNICACHE_TEST_BACKENDS must list some of #{KNOWN.join(', ')}, got #{BACKENDS.inspect}"
  end

  def self.free_port
    server = TCPServer.new("127.0.0.1", 0)
    server.addr[1]
  ensure
    server&.close
  end

  # A real redis-server or memcached on 127.0.0.1:<free port>.
  class Server
    attr_reader :port

    def initialize(argv)
      found = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).any? do |dir|
        File.executable?(File.join(dir, argv[0]))
      end
      raise "#{argv[0]} is not installed (Debian: apt-get install #{argv[0]}); " \
            "the binding tests need a real server" unless found

      @port = TestSupport.free_port
      @argv = argv.map { |a| a.gsub("{port}", @port.to_s) }
      @log = File.join(Dir.tmpdir, "unicache-#{argv[0]}-#{@port}.log")
    end

    def start
      @pid = Process.spawn(*@argv, out: @log, err: @log)
      deadline = Time.now + 10
      while Time.now < deadline
        begin
          TCPSocket.new("127.0.0.1", @port).close
          return self
        rescue SystemCallError
          raise "#{@argv[0]} exited: #{File.read(@log)}" if Process.wait(@pid, Process::WNOHANG)

          sleep 0.02
        end
      end
      raise "#{@argv[0]} did not start: #{File.read(@log)}"
    end

    def pause = Process.kill("STOP", @pid)
    def resume = Process.kill("CONT", @pid)

    def stop
      return unless @pid

      resume
      Process.kill("TERM", @pid)
      Process.wait(@pid)
      @pid = nil
      FileUtils.rm_f(@log)
    end
  end

  SERVERS = {}
  MUTEX = Mutex.new

  def self.server(name)
    MUTEX.synchronize do
      SERVERS[name] ||= case name
                        when "redis"
                          Server.new(%w[redis-server --port {port} --bind 127.0.0.1 --save] + [""] +
                                     %w[--appendonly no --loglevel warning]).start
                        when "memcached"
                          argv = %w[memcached -l 127.0.0.1 -p {port} -U 0 -m 128]
                          argv += %w[-u root] if Process.euid.zero?
                          Server.new(argv).start
                        end
    end
  end

  def self.stop_all
    SERVERS.each_value(&:stop)
  end

  def self.uri(backend, dir)
    case backend
    when "memory" then "memory://"
    when "sqlite" then "sqlite://#{File.join(dir, 'cache.db')}"
    when "redis" then "redis://127.0.0.1:#{server('redis').port}/0"
    when "memcached" then "memcached://127.0.0.1:#{server('memcached').port}"
    end
  end

  @counter = 0
  def self.next_prefix
    MUTEX.synchronize { "t#{Process.pid}-#{@counter += 1}:" }
  end
end

# Stop the servers after minitest's own at_exit hook has run the tests.
at_exit { TestSupport.stop_all }
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
