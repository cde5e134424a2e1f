# frozen_string_literal: true

require "logger"
require "stringio"

return unless TestSupport::BACKENDS.include?("memory")

# The C library's log lines reach Unicache.logger (a Logger at WARN by
# default) through the binding's queue and logger thread; the logger's
# level decides what the library formats; no line holds the password or a
# value. Runs once, with the memory run; it starts its own redis-server.
class TestLog < Minitest::Test
  SECRET = "Pw-rb-3d71"
  VALUE = "VALUE-rb-c04e"

  def setup
    @saved = Unicache.logger
    @out = StringIO.new
    @server = TestServers::Server.new(%w[redis-server --port {port} --bind 127.0.0.1 --save] +
                                      [""] + %w[--appendonly no --requirepass] + [SECRET]).start
  end

  def teardown
    @server.stop
    Unicache.logger = @saved
  end

  def uri(params = "") = "redis://:#{SECRET}@127.0.0.1:#{@server.port}/0?#{params}"

  # Waits (at most 10 s) for the logger thread to write text.
  def wait_for(text)
    200.times do
      return true if @out.string.include?(text)

      sleep 0.05
    end
    false
  end

  def assert_clean
    refute_includes @out.string, SECRET
    refute_includes @out.string, "3d71"
    refute_includes @out.string, VALUE
  end

  def test_default_logger_is_at_warn
    assert_kind_of Logger, @saved
    assert_equal Logger::WARN, @saved.level
  end

  def test_lost_and_restored_reach_the_logger
    Unicache.logger = Logger.new(@out, level: :warn)
    cache = Unicache::Cache.new(uri("max_retries=1&retry_delay_ms=5"))
    cache.set("k", VALUE)
    @server.stop
    assert_raises(Unicache::UnavailableError) { cache.get("k") }
    assert wait_for("connection lost"), @out.string
    assert_match(/WARN -- unicache: redis 127\.0\.0\.1:#{@server.port}/, @out.string)
    refute_includes @out.string, "retrying" # INFO, below the logger's level
    @server.start
    cache.set("k", VALUE)
    assert wait_for("connection restored"), @out.string
    cache.close
    assert_clean
  end

  def test_info_logger_gets_retries
    Unicache.logger = Logger.new(@out, level: :info)
    cache = Unicache::Cache.new(uri("max_retries=2&retry_delay_ms=5"))
    @server.stop
    assert_raises(Unicache::UnavailableError) { cache.get("k") }
    assert wait_for("retry 2 of 2"), @out.string
    assert_includes @out.string, "INFO -- unicache:"
    cache.close
    assert_clean
  end

  def test_nil_logger_turns_logging_off
    Unicache.logger = nil
    assert_nil Unicache.logger
    cache = Unicache::Cache.new(uri("max_retries=0"))
    @server.stop
    assert_raises(Unicache::UnavailableError) { cache.get("k") }
    sleep 0.2
    assert_equal "", @out.string
    cache.close
  end

  def test_bad_arguments_raise
    assert_raises(Unicache::InvalidArgumentError) { Unicache::Native.log_enable(9) }
    assert_raises(Unicache::InvalidArgumentError) { Unicache::Native.log_take(-1.0) }
  end
end
