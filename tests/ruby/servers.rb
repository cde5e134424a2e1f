# frozen_string_literal: true

# Real redis-server and memcached processes on 127.0.0.1:<free port>, for
# the binding tests and the Ruby benchmark. A missing binary is an error,
# never a reason to run less.
require "fileutils"
require "socket"
require "tmpdir"

module TestServers
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

      @port = TestServers.free_port
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

  # The server for name ("redis" or "memcached"), started on first use.
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
end
