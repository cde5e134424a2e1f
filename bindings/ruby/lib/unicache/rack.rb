# frozen_string_literal: true

require "digest"
require "json"
require "unicache"
require "unicache/http_rules"

module Unicache
  # Rack middleware caching whole responses in a Unicache::Cache, with the
  # same rules as the Python WSGI/ASGI middleware and the same stored
  # format, so both can share one cache. The rules are written once in
  # tests/http_spec/README.md (Unicache::HttpRules implements them):
  #
  # - only GET requests create entries; HEAD is answered from the GET entry;
  # - requests with Authorization or Cookie (unless cache_authorized: true),
  #   an invalid Host, X-Forwarded-Host (unless trust_forwarded_host: true)
  #   or Cache-Control: no-store bypass the cache;
  # - only 200 responses are stored, and not when the response says
  #   Cache-Control no-store, no-cache or private, has an invalid or
  #   repeated max-age, sets a cookie (unless cache_set_cookie: true), has
  #   Vary: *, or a body larger than max_body (which then streams through);
  # - lifetime: s-maxage, else max-age, else Expires, else ttl;
  # - requests with Cache-Control: no-cache (or max-age=0, Pragma: no-cache)
  #   skip the lookup but refresh the entry;
  # - Vary is honoured (one entry per combination of the named headers);
  #   repeated header lines are combined (RFC 9110, 5.3);
  # - stored and served responses carry an ETag (the app's, else a SHA-256
  #   of the body), X-Cache: HIT/MISS, and Age on hits; If-None-Match
  #   naming the ETag gets 304 Not Modified.
  #
  #   use Unicache::RackCache, cache: Unicache::Cache.new("redis://127.0.0.1/0"), ttl: 60
  class RackCache
    MAGIC = "UCH1\n".b.freeze
    HOP_BY_HOP = %w[connection keep-alive proxy-authenticate proxy-authorization te trailer
                    transfer-encoding upgrade].freeze
    NOT_MODIFIED_HEADERS = %w[cache-control content-location date etag expires vary].freeze

    # cache: a Unicache::Cache; ttl: seconds for responses that do not say;
    # key_prefix: prepended to every key; max_body: larger bodies pass
    # through unstored; cache_authorized: also cache requests with
    # Authorization or Cookie; cache_set_cookie: also store responses that
    # set a cookie (replayed to everyone); trust_forwarded_host: key on
    # X-Forwarded-Host (its last element) instead of refusing to cache.
    def initialize(app, cache:, ttl: 60, key_prefix: "unicache.http:", max_body: 1 << 20,
                   cache_authorized: false, cache_set_cookie: false, trust_forwarded_host: false)
      raise TypeError, "cache must be a Unicache::Cache, not #{cache.class}" unless cache.is_a?(Cache)
      raise ArgumentError, "ttl must be a number of seconds > 0" unless ttl.is_a?(Numeric) && ttl.positive?
      raise ArgumentError, "max_body must be an Integer >= 0" unless max_body.is_a?(Integer) && max_body >= 0

      @app = app
      @cache = cache
      @ttl = ttl
      @key_prefix = key_prefix.to_s
      @max_body = max_body
      @options = { cache_authorized: cache_authorized ? true : false,
                   cache_set_cookie: cache_set_cookie ? true : false,
                   trust_forwarded_host: trust_forwarded_host ? true : false }
    end

    def call(env)
      method = env["REQUEST_METHOD"]
      get = header_getter(env)
      scheme = (env["rack.url_scheme"] || "http").to_s.downcase
      fallback = env["SERVER_PORT"].to_s.empty? ? env["SERVER_NAME"].to_s : "#{env['SERVER_NAME']}:#{env['SERVER_PORT']}"
      host = HttpRules.request_host(fallback, scheme, trust_forwarded_host: @options[:trust_forwarded_host], &get)
      decision = HttpRules.request_decision(method, host, @options, &get)
      return @app.call(env) if decision == :bypass

      base = HttpRules.base_key(@key_prefix, scheme, host,
                                HttpRules.canonical_path("#{env['SCRIPT_NAME']}#{env['PATH_INFO']}"),
                                HttpRules.canonical_query(env["QUERY_STRING"].to_s))
      if decision == :lookup
        stored = lookup(base, get)
        return respond(stored, env, true, method == "HEAD") if stored
      end
      return @app.call(env) if method == "HEAD"

      miss(env, base, get)
    end

    # { directive => value or nil } of a Cache-Control header.
    def self.cache_control(value) = HttpRules.cache_control(value)

    private

    # Request headers by lowercase name (the server combined repeated lines).
    def header_getter(env)
      lambda do |name|
        key = name.upcase.tr("-", "_")
        env[%w[CONTENT_TYPE CONTENT_LENGTH].include?(key) ? key : "HTTP_#{key}"]
      end
    end

    def variant_key(base, vary, get)
      vary.empty? ? base : "#{base}/#{HttpRules.variant_suffix(vary, &get)}"
    end

    def lookup(base, get)
      meta = @cache.raw_get("#{base}/vary")
      return nil if meta.nil?

      vary = JSON.parse(meta)
      return nil unless vary.is_a?(Array)

      data = @cache.raw_get(variant_key(base, vary.map(&:to_s), get))
      data && decode(data)
    rescue JSON::ParserError
      nil
    end

    # Stored header values are the latin-1 text of their bytes, JSON with
    # \u escapes (what Python writes), so the bytes survive both languages.
    def self.to_text(value) = value.to_s.b.force_encoding(Encoding::ISO_8859_1).encode(Encoding::UTF_8)

    def self.to_bytes(text) = text.to_s.encode(Encoding::ISO_8859_1).b

    def decode(data)
      return nil unless data.start_with?(MAGIC)

      head, body = data.byteslice(MAGIC.bytesize..).split("\n".b, 2)
      return nil if body.nil?

      meta = JSON.parse(head)
      { headers: meta.fetch("headers").map { |k, v| [self.class.to_bytes(k), self.class.to_bytes(v)] },
        body: body, stored_at: Float(meta.fetch("stored_at")), etag: self.class.to_bytes(meta.fetch("etag")) }
    rescue JSON::ParserError, KeyError, TypeError, ArgumentError, EncodingError
      nil
    end

    def encode(stored)
      headers = stored[:headers].map { |k, v| [self.class.to_text(k), self.class.to_text(v)] }
      head = JSON.generate({ "status" => 200, "headers" => headers, "stored_at" => stored[:stored_at],
                             "etag" => self.class.to_text(stored[:etag]) }, ascii_only: true)
      MAGIC + head.b + "\n".b + stored[:body].b
    end

    # Rack 2 headers may hold several values joined by "\n"; keep pairs.
    def header_pairs(headers)
      headers.flat_map do |k, v|
        Array(v).flat_map { |value| value.to_s.split("\n") }.map { |value| [k.to_s, value] }
      end
    end

    def miss(env, base, get)
      status, headers, body = @app.call(env)
      pairs = header_pairs(headers)
      seconds = HttpRules.response_lifetime(status, pairs, @ttl, Time.now.to_f,
                                            cache_set_cookie: @options[:cache_set_cookie])
      return [status, headers, body] if seconds.nil?

      chunks = []
      size = 0
      rest = nil
      begin
        # Stop reading at max_body: a bigger body streams on as it comes.
        enum = body.to_enum(:each)
        loop do
          chunk = enum.next.to_s
          chunks << chunk
          size += chunk.bytesize
          next unless size > @max_body

          rest = enum
          break
        end
      ensure
        body.close if rest.nil? && body.respond_to?(:close)
      end
      return [status, headers, Passthrough.new(chunks, rest, body)] if rest

      stored = store(base, get, pairs, chunks.join.b, seconds)
      respond(stored, env, false, false)
    end

    # The chunks read so far, then the rest of the app's body; close closes it.
    class Passthrough
      def initialize(chunks, rest, body)
        @chunks = chunks
        @rest = rest
        @body = body
      end

      def each(&block)
        @chunks.each(&block)
        loop { yield @rest.next }
      end

      def close
        @body.close if @body.respond_to?(:close)
      end
    end

    def store(base, get, pairs, body, seconds)
      kept = pairs.reject { |k, _| HOP_BY_HOP.include?(k.downcase) || k.casecmp?("content-length") }
      kept << ["Content-Length", body.bytesize.to_s]
      etag = HttpRules.header(kept, "etag")
      unless etag
        etag = %("#{Digest::SHA256.hexdigest(body)[0, 32]}")
        kept << %W[ETag #{etag}]
      end
      vary = HttpRules.vary_names(HttpRules.header(kept, "vary"))
      stored = { headers: kept, body: body, stored_at: Time.now.to_f, etag: etag }
      @cache.raw_set("#{base}/vary", JSON.generate(vary), seconds + 1)
      @cache.raw_set(variant_key(base, vary, get), encode(stored), seconds)
      stored
    end

    def etag_matches?(if_none_match, etag)
      return false if if_none_match.nil? || etag.nil?
      return true if if_none_match.strip == "*"

      mine = etag.delete_prefix("W/")
      if_none_match.split(",").any? { |candidate| candidate.strip.delete_prefix("W/") == mine }
    end

    def respond(stored, env, hit, head)
      extra = [["X-Cache", hit ? "HIT" : "MISS"]]
      extra.unshift(["Age", [0, (Time.now.to_f - stored[:stored_at]).to_i].max.to_s]) if hit
      if etag_matches?(env["HTTP_IF_NONE_MATCH"], stored[:etag])
        pairs = stored[:headers].select { |k, _| NOT_MODIFIED_HEADERS.include?(k.downcase) }
        return [304, to_headers(pairs + extra), []]
      end
      [200, to_headers(stored[:headers] + extra), head ? [] : [stored[:body]]]
    end

    # Pairs as a Rack headers Hash (repeated names joined with "\n", which
    # Rack 2 servers split back into separate header lines).
    def to_headers(pairs)
      pairs.each_with_object({}) do |(k, v), out|
        out[k] = out.key?(k) ? "#{out[k]}\n#{v}" : v
      end
    end
  end
end
