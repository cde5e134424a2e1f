# frozen_string_literal: true

require "json"

module Unicache
  # A cache on any unicache backend.
  #
  # uri: "memory://?max_items=1000", "sqlite:///path.db",
  # "redis://host:6379/0", "memcached://h1:11211,h2:11211", a JSON object,
  # or nil for $UNICACHE_URL (else "memory://").
  #
  # Keys are Strings (or Symbols). Values go through the serializer (:json
  # by default; see Unicache::Serializers). TTLs are seconds (Integer,
  # Float, or anything with to_f such as ActiveSupport::Duration); nil is
  # the cache's default, Unicache::FOREVER never expires.
  #
  # A Cache may be shared between threads. Network and file backends
  # release the GVL while they wait.
  class Cache
    # Open a cache; with a block, yield it and close it afterwards, returning
    # the block's value.
    def self.open(uri = nil, **options)
      cache = new(uri, **options)
      return cache unless block_given?

      begin
        yield cache
      ensure
        cache.close
      end
    end

    def initialize(uri = nil, serializer: :json, prefix: nil, default_ttl: nil)
      @serializer = Serializers.resolve(serializer)
      @handle = Native::Handle.new(uri, prefix, seconds(default_ttl))
    end

    # The backend's name: "memory", "sqlite", "redis", "memcached".
    def backend = @handle.backend_name

    # The value stored under key, or nil.
    def get(key)
      data = @handle.get(key)
      data.nil? ? nil : @serializer.load(data)
    end
    alias read get
    alias [] get

    # Store value under key. tags: names to invalidate it by later.
    def set(key, value, ttl: nil, expires_in: nil, tags: nil)
      data = @serializer.dump(value)
      ttl = seconds(ttl || expires_in)
      if tags.nil?
        @handle.set(key, data, ttl)
      else
        @handle.set_tagged(key, data, ttl, Array(tags))
      end
    end

    # Rails' spelling: write(key, value, expires_in: 60).
    def write(key, value, expires_in: nil, ttl: nil, tags: nil)
      set(key, value, ttl: ttl || expires_in, tags: tags)
    end

    def []=(key, value)
      set(key, value)
    end

    # Store value only if key is absent; true if it was stored.
    def add(key, value, ttl: nil, expires_in: nil)
      @handle.add(key, @serializer.dump(value), seconds(ttl || expires_in))
    end

    # The stored bytes of key (a binary String), bypassing the serializer.
    def raw_get(key) = @handle.get(key)

    # Store a String as it is, bypassing the serializer.
    def raw_set(key, data, ttl = nil) = @handle.set(key, data, seconds(ttl))

    # Remove key; true if it was there.
    def delete(key) = @handle.delete(key)

    def exist?(key) = @handle.exists(key)
    alias key? exist?
    alias include? exist?

    # Add amount to the integer counter at key and return the new value. A
    # missing key starts at 0 and gets expires_in (ttl), or, with
    # existing: true, stays absent and the call returns nil (atomically).
    def increment(key, amount = 1, expires_in: nil, ttl: nil, existing: false)
      return @handle.incr(key, amount) if !existing && expires_in.nil? && ttl.nil?

      @handle.incr_ext(key, amount, seconds(ttl || expires_in), existing)
    end

    def decrement(key, amount = 1, expires_in: nil, ttl: nil, existing: false)
      return @handle.decr(key, amount) if !existing && expires_in.nil? && ttl.nil?
      raise TypeError, "amount must be an Integer, not #{amount.class}" unless amount.is_a?(Integer)
      raise Unicache::OutOfRangeError, "decrement by -2**63 cannot be negated" if amount == -2**63

      increment(key, -amount, expires_in: expires_in, ttl: ttl, existing: existing)
    end

    # Give an existing key a new TTL; false if it is absent.
    def touch(key, ttl: nil, expires_in: nil) = @handle.touch(key, seconds(ttl || expires_in))

    # Seconds key has left (Float), Unicache::FOREVER if it never expires,
    # nil if it is absent.
    def ttl(key) = @handle.ttl(key)

    # Make key expire at a Time (or Unix seconds); false if it is absent.
    def expire_at(key, time)
      seconds = time.is_a?(Time) ? time.to_r : time
      raise TypeError, "time must be a Time or Unix seconds, not #{time.class}" unless seconds.is_a?(Numeric)

      @handle.expire_at(key, (seconds * 1000).to_i)
    end

    # The cached value of key; on a miss (or with force: true), the block's
    # value, stored for expires_in seconds (unless it is nil and skip_nil).
    # A miss is computed once across every process and thread sharing the
    # backend (the core's leases): the others wait for its value.
    #
    # race_condition_ttl: seconds, Rails' meaning. The value this call
    # stores keeps its old copy for that long past its expiry; the first
    # reader in that window (in any process) gets the lease, extends the old
    # value's life by race_condition_ttl from then, and recomputes, while
    # every other reader keeps getting the old value without waiting.
    # Without it the cache's stale_ttl (given at open) applies.
    # A block that raises caches nothing and lets the next caller compute
    # at once.
    def fetch(key, expires_in: nil, ttl: nil, force: false, skip_nil: false, tags: nil,
              race_condition_ttl: nil)
      stale_ms = stale_window(race_condition_ttl)
      unless force
        data = @handle.get(key)
        return @serializer.load(data) unless data.nil?
      end
      raise ArgumentError, "fetch needs a block to compute missing values" unless block_given?

      ttl ||= expires_in
      if force
        value = yield(key)
        set(key, value, ttl: ttl, tags: tags) unless value.nil? && skip_nil
        return value
      end
      fetch_leased(key, ttl, skip_nil, tags, stale_ms) { yield(key) }
    end

    # race_condition_ttl in ms for the core (-1: the cache's stale_ttl).
    def stale_window(race_condition_ttl)
      return -1 if race_condition_ttl.nil?

      s = seconds(race_condition_ttl)
      unless s.is_a?(Numeric) && s.to_f.finite? && s >= 0 && s <= 1e12
        raise ArgumentError, "race_condition_ttl must be 0 to 10^12 seconds (or nil), not #{race_condition_ttl.inspect}"
      end

      (s * 1000).ceil
    end
    private :stale_window

    # The lease protocol (cache_lease_*) behind fetch's miss.
    def fetch_leased(key, ttl, skip_nil, tags, stale_ms)
      status, data, lease = @handle.lease_get(key, false, -1, -1, -1.0, stale_ms)
      if lease.nil?
        return @serializer.load(data) unless data.nil? # fresh, or stale while another refreshes

        return yield # another caller held the lease for lock_timeout: compute, store nothing
      end
      begin
        value = yield
      rescue Exception # rubocop:disable Lint/RescueException
        @handle.lease_release(key, *lease)
        return @serializer.load(data) if status.zero? && !data.nil? # a failed early refresh

        raise
      end
      if value.nil? && skip_nil
        @handle.lease_release(key, *lease)
        return value
      end
      begin
        # Lease-checked, tags and all: a delete or a newer set since the
        # lease was granted refuses it.
        blob = @serializer.dump(value)
        if tags
          @handle.lease_set_tagged(key, *lease, blob, seconds(ttl), Array(tags), stale_ms)
        else
          @handle.lease_set(key, *lease, blob, seconds(ttl), stale_ms)
        end
      rescue Exception # rubocop:disable Lint/RescueException
        @handle.lease_release(key, *lease) # e.g. a value the serializer refuses
        raise
      end
      value
    end
    private :fetch_leased

    # { key => value } for the keys that are present.
    def read_multi(*keys)
      keys = keys.flatten
      found = {}
      keys.zip(@handle.get_many(keys)) do |key, data|
        found[key] = @serializer.load(data) unless data.nil?
      end
      found
    end

    # The values of keys, computing and storing the missing ones with the block.
    def fetch_multi(*keys, expires_in: nil, ttl: nil)
      raise ArgumentError, "fetch_multi needs a block to compute missing values" unless block_given?

      keys = keys.flatten
      found = read_multi(keys)
      missing = keys.reject { |k| found.key?(k) }
      computed = missing.to_h { |k| [k, yield(k)] }
      write_multi(computed, expires_in: ttl || expires_in) unless computed.empty?
      keys.to_h { |k| [k, found.fetch(k) { computed[k] }] }
    end

    # Store every pair of a Hash: write_multi({ "a" => 1 }, expires_in: 60),
    # or write_multi("a" => 1) (Ruby 3 passes a braceless Hash as keywords).
    def write_multi(hash = nil, expires_in: nil, ttl: nil, **pairs)
      if hash.nil?
        hash = pairs
      elsif !pairs.empty?
        raise ArgumentError, "unknown keywords: #{pairs.keys.map(&:inspect).join(', ')}"
      end
      raise TypeError, "write_multi takes a Hash, not #{hash.class}" unless hash.respond_to?(:each_pair)

      keys = []
      values = []
      hash.each_pair do |key, value|
        keys << key
        values << @serializer.dump(value)
      end
      @handle.set_many(keys, values, seconds(ttl || expires_in))
    end

    # Remove keys; returns how many existed.
    def delete_multi(*keys) = @handle.delete_many(keys.flatten)

    # Keys matching a glob pattern ('*', '?', '[a-z]', '\\' escapes).
    # Unicache::NotSupportedError on memcached.
    def keys(pattern = "*", limit: 0) = @handle.keys(pattern, limit)

    # Remove every key matching a glob pattern; returns how many.
    def delete_matched(pattern) = @handle.delete_pattern(pattern)

    # Make entries carrying any of the tags a miss; returns how many were
    # removed (0 on backends that invalidate lazily).
    def invalidate_tags(*tags) = @handle.invalidate_tags(tags.flatten)

    # Remove every key of this cache (its prefix only).
    def clear
      @handle.clear
      nil
    end

    # Statistics as a Hash ("hits", "misses", "hit_ratio", "size", ...).
    def stats = JSON.parse(@handle.stats_json)

    # The backend's own description (Redis INFO, memcached stats, ...).
    def info = @handle.backend_info

    # The statistics in the Prometheus text exposition format.
    def stats_prometheus = @handle.stats_prometheus

    # true when the backend answers; raises otherwise.
    def ping = @handle.ping

    # Close the cache (idempotent). Other calls raise afterwards.
    def close
      @handle.close
      nil
    end

    def closed? = @handle.closed?

    def inspect
      return "#<Unicache::Cache closed>" if closed?

      "#<Unicache::Cache #{stats['uri']} serializer=#{@serializer.respond_to?(:name_for_inspect) ? @serializer.name_for_inspect : @serializer}>"
    end

    private

    # TTL seconds for the native layer: nil, Numeric, or a duration object
    # answering to_f (ActiveSupport::Duration); anything else is passed on
    # for the native layer to refuse with a TypeError.
    def seconds(ttl)
      return ttl if ttl.nil? || ttl.is_a?(Numeric)
      return ttl.to_f if !ttl.is_a?(String) && ttl.respond_to?(:to_f)

      ttl
    end
  end
end
