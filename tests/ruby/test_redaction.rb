# frozen_string_literal: true

require "json"

return unless TestSupport::BACKENDS.include?("memory")

# The password stays out of everything Ruby shows of a cache (inspect, to_s,
# stats, info) and of exception text, however the URI spells it:
# percent-encoded parameter names (pass%77ord, %70assword) reach the server
# as the password, so they must be redacted too. Runs once, with the memory
# run; it starts its own password-protected redis-server.
class TestRedaction < Minitest::Test
  SECRET = "S3cret-rb-70c3"
  SPELLINGS = %w[pass%77ord %70assword %70%61%73%73%77%6F%72%64 password].freeze

  def self.redis
    @redis ||= TestServers::Server.new(%w[redis-server --port {port} --bind 127.0.0.1 --save] +
                                       [""] + %w[--appendonly no --requirepass] + [SECRET]).start
  end

  Minitest.after_run { @redis&.stop }

  def redis_port = self.class.redis.port
  def memcached_port = TestServers.server("memcached").port

  def assert_hidden(text, context)
    refute_nil text
    refute_includes text, "S3cret", context
    refute_includes text, "70c3", context
  end

  def test_inspect_stats_and_info_hide_the_password
    base = "redis://127.0.0.1:#{redis_port}/0"
    forms = SPELLINGS.flat_map do |name|
      ["#{base}?#{name}=#{SECRET}", JSON.generate("uri" => "#{base}?#{name}=#{SECRET}")]
    end
    forms << JSON.generate("backend" => "redis", "port" => redis_port, "password" => SECRET)
    forms.each do |uri|
      Unicache::Cache.open(uri) do |cache|
        cache.set("k", 1) # the server took the password
        [cache.inspect, cache.to_s, JSON.generate(cache.stats), cache.info].each do |shown|
          assert_hidden(shown, uri)
        end
        assert_includes cache.inspect, "***"
      end
    end
  end

  def test_exceptions_hide_the_password
    redis = "redis://127.0.0.1:#{redis_port}/0"
    mc = "memcached://127.0.0.1:#{memcached_port}"
    bad = SPELLINGS.flat_map do |name|
      p = "#{name}=#{SECRET}"
      ["#{redis}?#{p}&=x", "#{redis}?=x&#{p}", "#{redis}?#{p}&bogus=1",
       JSON.generate("uri" => "#{redis}?#{p}&=x"), "#{mc}?#{p}",
       "#{mc},127.0.0.1:#{memcached_port}?#{p}"]
    end
    bad << "memcached://user:#{SECRET}@127.0.0.1:#{memcached_port}?bogus=1" # a login is valid
    bad << JSON.generate("backend" => "memcached", "port" => memcached_port, "password" => SECRET)
    bad << "redis://#{SECRET}@127.0.0.1:#{redis_port}/0"
    bad.each do |uri|
      error = assert_raises(Unicache::InvalidArgumentError, uri) { Unicache::Cache.new(uri) }
      [error.message, error.inspect, error.full_message(highlight: false)].each do |shown|
        assert_hidden(shown, uri)
      end
    end
  end

  def test_a_wrong_password_is_refused_without_being_shown
    error = assert_raises(Unicache::Error) do
      Unicache::Cache.new("redis://127.0.0.1:#{redis_port}/0?pass%77ord=#{SECRET}-wrong")
    end
    assert_hidden(error.message, "wrong password")
  end
end
