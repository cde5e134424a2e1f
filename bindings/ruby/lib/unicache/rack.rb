# frozen_string_literal: true

require "digest"
require "json"
require "time"
require "unicache"

module Unicache
  # Rack middleware caching whole responses in a Unicache::Cache, with the
  # same rules as the Python WSGI/ASGI middleware (and the same stored
  # format, so both can share one cache):
  #
  # - only GET requests create entries; HEAD is answered from the GET entry;
  # - only 200 responses are stored, and not when the response says
  #   Cache-Control no-store, no-cache or private, sets a cookie, has
  #   Vary: *, or a body larger than max_body; requests with Authorization
  #   or Cache-Control: no-store bypass the cache;
  # - lifetime: s-maxage, else max-age, else Expires, else ttl;
  # - requests with Cache-Control: no-cache (or max-age=0, Pragma: no-cache)
  #   skip the lookup but refresh the entry;
  # - Vary is honoured (one entry per combination of the named headers);
  # - stored and served responses carry an ETag (the app's, else a SHA-256
  #   of the body), X-Cache: HIT/MISS, and Age on hits; If-None-Match
  #   naming the ETag gets 304 Not Modified.
  #
  #   use Unicache::RackCache, cache: Unicache::Cache.new("redis://127.0.0.1/0"), ttl: 60
  class RackCache
    MAGIC = "UCH1\n".b.freeze
    MAX_KEY = 200
    HOP_BY_HOP = %w[connection keep-alive proxy-authenticate proxy-authorization te trailer
                    transfer-encoding upgrade].freeze
    NOT_MODIFIED_HEADERS = %w[cache-control content-location date etag expires vary].freeze

    # cache: a Unicache::Cache; ttl: seconds for responses that do not say;
    # key_prefix: prepended to every key; max_body: larger bodies pass
    # through unstored.
    def initialize(app, cache:, ttl: 60, key_prefix: "unicache.http:", max_body: 1 << 20)
      raise TypeError, "cache must be a Unicache::Cache, not #{cache.class}" unless cache.is_a?(Cache)
      raise ArgumentError, "ttl must be a number of seconds > 0" unless ttl.is_a?(Numeric) && ttl.positive?
      raise ArgumentError, "max_body must be an Integer >= 0" unless max_body.is_a?(Integer) && max_body >= 0

      @app = app
      @cache = cache
      @ttl = ttl
      @key_prefix = key_prefix.to_s
      @max_body = max_body
    end

    def call(env)
      method = env["REQUEST_METHOD"]
      return @app.call(env) unless %w[GET HEAD].include?(method) && !env.key?("HTTP_AUTHORIZATION")

      request_cc = self.class.cache_control(env["HTTP_CACHE_CONTROL"])
      return @app.call(env) if request_cc.key?("no-store")

      no_cache = request_cc.key?("no-cache") || request_cc["max-age"] == "0" ||
                 env["HTTP_PRAGMA"].to_s.downcase.include?("no-cache")
      base = base_key(env)
      unless no_cache
        stored = lookup(base, env)
        return respond(stored, env, true, method == "HEAD") if stored
      end
      return @app.call(env) if method == "HEAD"

      miss(env, base)
    end

    # { directive => value or nil } of a Cache-Control header.
    def self.cache_control(value)
      value.to_s.split(",").each_with_object({}) do |part, out|
        name, arg = part.strip.split("=", 2)
        next if name.nil? || name.empty?

        out[name.strip.downcase] = arg&.strip&.delete_prefix('"')&.delete_suffix('"')
      end
    end

    private

    def base_key(env)
      query = env["QUERY_STRING"].to_s
      scheme = env["rack.url_scheme"] || "http"
      host = env["HTTP_HOST"] || begin
        port = env["SERVER_PORT"].to_s
        default = { "http" => "80", "https" => "443" }[scheme] == port
        default || port.empty? ? env["SERVER_NAME"].to_s : "#{env['SERVER_NAME']}:#{port}"
      end
      url = "#{scheme}://#{host.downcase}#{env['SCRIPT_NAME']}#{env['PATH_INFO']}"
      url += "?#{query}" unless query.empty?
      key = @key_prefix + url
      key.bytesize > MAX_KEY ? "#{@key_prefix}##{Digest::SHA256.hexdigest(url)}" : key
    end

    def request_header(env, name)
      key = name.upcase.tr("-", "_")
      env[%w[CONTENT_TYPE CONTENT_LENGTH].include?(key) ? key : "HTTP_#{key}"]
    end

    def variant_key(base, vary, env)
      return base if vary.empty?

      values = JSON.generate(vary.map { |name| request_header(env, name) })
      "#{base}|#{Digest::SHA256.hexdigest(values)[0, 32]}"
    end

    def lookup(base, env)
      meta = @cache.raw_get("#{base}|vary")
      return nil if meta.nil?

      vary = JSON.parse(meta)
      data = @cache.raw_get(variant_key(base, vary, env))
      data && decode(data)
    rescue JSON::ParserError
      nil
    end

    def decode(data)
      return nil unless data.start_with?(MAGIC)

      head, body = data.byteslice(MAGIC.bytesize..).split("\n".b, 2)
      return nil if body.nil?

      meta = JSON.parse(head)
      { headers: meta.fetch("headers").map { |k, v| [k.to_s, v.to_s] }, body: body,
        stored_at: Float(meta.fetch("stored_at")), etag: meta.fetch("etag").to_s }
    rescue JSON::ParserError, KeyError, TypeError, ArgumentError
      nil
    end

    def encode(stored)
      head = JSON.generate("status" => 200, "headers" => stored[:headers],
                           "stored_at" => stored[:stored_at], "etag" => stored[:etag])
      MAGIC + head.b + "\n".b + stored[:body].b
    end

    def header(pairs, name)
      pairs.each { |k, v| return v if k.downcase == name }
      nil
    end

    # Seconds to keep a response for, or nil when it must not be stored.
    def lifetime(status, pairs)
      return nil if status.to_i != 200 || header(pairs, "set-cookie")

      cc = self.class.cache_control(header(pairs, "cache-control"))
      return nil if cc.key?("no-store") || cc.key?("private") || cc.key?("no-cache")
      return nil if header(pairs, "vary")&.strip == "*"

      %w[s-maxage max-age].each do |directive|
        next unless cc.key?(directive)

        seconds = Integer(cc[directive], exception: false)
        return seconds&.positive? ? seconds : nil
      end
      expires = header(pairs, "expires")
      if expires
        seconds = (Time.httpdate(expires) - Time.now rescue -1)
        return seconds >= 1 ? seconds : nil
      end
      @ttl
    end

    # Rack 2 headers may hold several values joined by "\n"; keep pairs.
    def header_pairs(headers)
      headers.flat_map do |k, v|
        Array(v).flat_map { |value| value.to_s.split("\n") }.map { |value| [k.to_s, value] }
      end
    end

    def miss(env, base)
      status, headers, body = @app.call(env)
      pairs = header_pairs(headers)
      seconds = lifetime(status, pairs)
      return [status, headers, body] if seconds.nil?

      chunks = []
      size = 0
      too_big = false
      begin
        body.each do |chunk|
          chunks << chunk.to_s
          size += chunk.bytesize
          too_big ||= size > @max_body
        end
      ensure
        body.close if body.respond_to?(:close)
      end
      return [status, headers, chunks] if too_big

      stored = store(base, env, pairs, chunks.join.b, seconds)
      respond(stored, env, false, false)
    end

    def store(base, env, pairs, body, seconds)
      kept = pairs.reject { |k, _| HOP_BY_HOP.include?(k.downcase) || k.casecmp?("content-length") }
      kept << ["Content-Length", body.bytesize.to_s]
      etag = header(kept, "etag")
      unless etag
        etag = %("#{Digest::SHA256.hexdigest(body)[0, 32]}")
        kept << %W[ETag #{etag}]
      end
      vary = header(kept, "vary").to_s.split(",").map { |v| v.strip.downcase }.reject(&:empty?).uniq.sort
      stored = { headers: kept, body: body, stored_at: Time.now.to_f, etag: etag }
      @cache.raw_set("#{base}|vary", JSON.generate(vary), seconds + 1)
      @cache.raw_set(variant_key(base, vary, env), encode(stored), seconds)
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
