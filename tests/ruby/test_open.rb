# frozen_string_literal: true

require "socket"

return unless TestSupport::BACKENDS.include?("memory")

# Opening a cache asks the server nothing it does not need: with
# lazy_connect=true (Redis) and on memcached (which connects on first use),
# Cache.new returns at once even when the server accepts connections and
# never answers. Runs once, with the memory run (it starts no real server).
class TestOpen < Minitest::Test
  TIMEOUT_MS = 3000
  BOUND_S = 0.5 # far below the timeout a read at open would wait

  def setup
    @server = TCPServer.new("127.0.0.1", 0)
    @held = []
    @thread = Thread.new do
      loop { @held << @server.accept }
    rescue IOError, Errno::EBADF
      nil
    end
  end

  def teardown
    @server.close
    @thread.join
    @held.each(&:close)
  end

  def port = @server.addr[1]

  def test_open_does_not_wait_for_a_silent_server
    { "redis" => "redis://127.0.0.1:#{port}/0?lazy_connect=true&timeout_ms=#{TIMEOUT_MS}",
      "memcached" => "memcached://127.0.0.1:#{port}?timeout_ms=#{TIMEOUT_MS}" }.each do |name, uri|
      start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      cache = Unicache::Cache.new(uri)
      elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - start
      begin
        assert_operator elapsed, :<, BOUND_S, "#{name} open took #{elapsed.round(2)} s"
        assert_equal name, cache.backend
      ensure
        cache.close
      end
    end
  end
end
