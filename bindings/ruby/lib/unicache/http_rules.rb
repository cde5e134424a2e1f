# frozen_string_literal: true

require "digest"

module Unicache
  # The HTTP caching rules that the Rack middleware shares with the Python
  # WSGI/ASGI middleware, written once in tests/http_spec/README.md and
  # checked against the same vectors (tests/http_spec/vectors.json). Every
  # function works on Strings as bytes (header values are the bytes of the
  # wire, shown as ISO-8859-1 where text is needed).
  module HttpRules
    MAX_KEY = 200
    MAX_DELTA = 2**31 # RFC 9111, 1.2.2: larger delta-seconds mean this
    UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".bytes.freeze
    PATH_OK = (UNRESERVED + "!$&'()*+,;=:@/".bytes).freeze
    QUERY_OK = (PATH_OK + "?".bytes).freeze
    HEXDIGITS = "0123456789abcdefABCDEF".bytes.freeze
    DEFAULT_PORTS = { "http" => "80", "https" => "443" }.freeze
    REG_NAME = /\A[a-z0-9._~-]+\z/
    IP_LITERAL = /\A\[[0-9a-f:.]+\]\z/
    DIGITS = /\A[0-9]+\z/
    LIST_SPACE = " \t"

    module_function

    # data in canonical percent-encoding. Raw input keeps its escapes (hex
    # in upper case, unreserved ones decoded); decoded input has no escapes,
    # so every '%' is a literal and is quoted.
    def encode(data, allowed, decoded)
      bytes = data.to_s.b.bytes
      out = +""
      i = 0
      while i < bytes.size
        b = bytes[i]
        if !decoded && b == 0x25 && i + 2 < bytes.size && HEXDIGITS.include?(bytes[i + 1]) &&
           HEXDIGITS.include?(bytes[i + 2])
          b = bytes[i + 1, 2].pack("C*").to_i(16)
          i += 3
          out << (UNRESERVED.include?(b) ? b.chr : format("%%%02X", b))
          next
        end
        out << (allowed.include?(b) ? b.chr : format("%%%02X", b))
        i += 1
      end
      out
    end

    # The key's path part: raw (Rack's PATH_INFO, as servers pass it) or
    # decoded (a server that decoded it).
    def canonical_path(data, decoded: false) = encode(data, PATH_OK, decoded)

    # The key's query part from the raw query string.
    def canonical_query(data) = encode(data, QUERY_OK, false)

    # host[:port] (RFC 9110, 7.2) lowercased, without the scheme's default
    # port; nil when value is not a valid Host (a path, userinfo, spaces, a
    # bad port, ...).
    def normalize_host(value, scheme)
      return nil if value.nil?

      host = strip_ows(value.to_s.b).downcase
      return nil unless host.ascii_only?

      port = ""
      if host.start_with?("[")
        close = host.index("]")
        return nil if close.nil?

        rest = host[(close + 1)..]
        host = host[0..close]
        return nil unless IP_LITERAL.match?(host)
        unless rest.empty?
          return nil unless rest.start_with?(":")

          port = rest[1..]
        end
      else
        host, port = host.split(":", 2)
        port ||= ""
        return nil unless REG_NAME.match?(host.to_s)
      end
      return host if port.empty?
      return nil unless DIGITS.match?(port) && port.size <= 5 && port.to_i <= 65_535

      port = port.to_i.to_s
      port == DEFAULT_PORTS[scheme] ? host : "#{host}:#{port}"
    end

    # The entry key of a URL: the parts length-prefixed, so that no part can
    # run into the next (hashed when long).
    def base_key(prefix, scheme, host, path, query)
      enc = [scheme, host, path, query].map { |part| "#{part.bytesize}:#{part}" }.join
      key = "#{prefix}u2/#{enc}"
      key.bytesize > MAX_KEY ? "#{prefix}u2##{Digest::SHA256.hexdigest(enc)}" : key
    end

    # Repeated field lines as one value (RFC 9110, 5.3), nil if none.
    def combine(values)
      values = values.compact
      values.empty? ? nil : values.join(", ")
    end

    # A request header's value as the Vary key sees it: list elements
    # trimmed, so "a,b" and "a, b" are one value.
    def normalize_value(value)
      return nil if value.nil?

      value.to_s.b.split(",", -1).map { |part| strip_ows(part) }.join(",")
    end

    def strip_ows(text) = text.gsub(/\A[ \t]+|[ \t]+\z/, "")

    # The sorted, lowercase, distinct names of a (combined) Vary value.
    def vary_names(value)
      value.to_s.split(",").map { |v| strip_ows(v).downcase }.reject(&:empty?).uniq.sort
    end

    # A hash of the length-prefixed names and normalized values ('-' for an
    # absent header); get: name -> value or nil.
    def variant_suffix(names, &get)
      digest = Digest::SHA256.new
      names.each do |name|
        digest << "#{name.bytesize}:#{name}"
        value = normalize_value(get.call(name))
        digest << (value.nil? ? "-" : "#{value.bytesize}:".b + value)
      end
      digest.hexdigest[0, 32]
    end

    # The elements of a comma-separated list; commas inside quoted strings
    # do not split.
    def split_list(value)
      parts = []
      current = +""
      quoted = escaped = false
      value.to_s.each_char do |ch|
        if escaped
          escaped = false
        elsif quoted && ch == "\\"
          escaped = true
        elsif ch == '"'
          quoted = !quoted
        elsif ch == "," && !quoted
          parts << current
          current = +""
          next
        end
        current << ch
      end
      parts << current
    end

    # [[name, argument or nil]] of a Cache-Control value, in order, names
    # lowercase, quoted arguments unquoted.
    def directives(value)
      split_list(value).filter_map do |part|
        name, sep, arg = part.partition("=")
        name = strip_ows(name).downcase
        next if name.empty?

        arg = strip_ows(arg)
        arg = arg[1..-2].gsub(/\\(.)/, '\1') if arg.size >= 2 && arg.start_with?('"') && arg.end_with?('"')
        [name, sep.empty? ? nil : arg]
      end
    end

    # { directive => value or nil } (the first of repeated directives).
    def cache_control(value)
      directives(value).each_with_object({}) { |(name, arg), out| out[name] = arg unless out.key?(name) }
    end

    # delta-seconds (RFC 9111, 1.2.2): digits only, capped at 2^31; nil
    # when invalid (max-age=0x10, -1, 1.5, "").
    def delta_seconds(arg)
      return nil if arg.nil? || !DIGITS.match?(arg)

      [arg.to_i, MAX_DELTA].min
    end

    MONTHS = %w[Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec].freeze
    M = "(#{MONTHS.join('|')})"
    HTTP_DATES = [ # RFC 9110, 5.6.7: IMF-fixdate, then the two obsolete forms
      [/\A(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) #{M} (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT\z/, "dmyHMS"],
      [/\A(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-#{M}-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT\z/,
       "dmyHMS"],
      [/\A(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) #{M} ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})\z/, "mdHMSy"]
    ].freeze

    # Unix seconds of an HTTP-date, nil when it is not one.
    def http_date(value)
      text = strip_ows(value.to_s)
      HTTP_DATES.each do |pattern, order|
        m = pattern.match(text)
        next unless m

        f = order.chars.zip(m.captures).to_h
        year = f["y"].to_i
        year += year < 50 ? 2000 : 1900 if f["y"].size == 2
        day, hour, minute, second = %w[d H M S].map { |k| f[k].to_i }
        return nil unless (1..31).cover?(day) && hour <= 23 && minute <= 59 && second <= 60

        return Time.utc(year, MONTHS.index(f["m"]) + 1, 1, hour, minute).to_i + (day - 1) * 86_400 + second
      end
      nil
    end

    # All values of a header in [name, value] pairs, combined.
    def header(pairs, name)
      combine(pairs.select { |k, _| k.to_s.downcase == name }.map { |_, v| v })
    end

    # Seconds to keep a response for, or nil when it must not be stored.
    def response_lifetime(status, pairs, default_ttl, now, cache_set_cookie: false)
      return nil if status.to_i != 200
      return nil if !cache_set_cookie && header(pairs, "set-cookie")

      found = directives(header(pairs, "cache-control"))
      names = found.map(&:first)
      return nil if names.intersect?(%w[no-store private no-cache])
      return nil if vary_names(header(pairs, "vary")).include?("*")

      %w[s-maxage max-age].each do |directive|
        next unless names.include?(directive)
        return nil if names.count(directive) > 1 # RFC 9111, 4.2.1: treat as stale

        seconds = delta_seconds(found.assoc(directive)[1])
        return seconds&.positive? ? seconds : nil
      end
      expires = header(pairs, "expires")
      if expires
        when_ = http_date(expires)
        return nil if when_.nil? # an invalid Expires means "already expired"

        seconds = (when_ - now).to_i
        return seconds >= 1 ? seconds : nil
      end
      default_ttl
    end

    # :bypass, :store (no lookup) or :lookup for a request; host is the
    # normalized host or nil if invalid; get: name -> value or nil.
    def request_decision(method, host, options, &get)
      return :bypass unless %w[GET HEAD].include?(method) && host
      return :bypass if !options[:cache_authorized] && (get.call("authorization") || get.call("cookie"))
      # The app may build links from it, and the key does not have it.
      return :bypass if !options[:trust_forwarded_host] && get.call("x-forwarded-host")

      cc = cache_control(get.call("cache-control"))
      return :bypass if cc.key?("no-store")
      return :store if cc.key?("no-cache") || delta_seconds(cc["max-age"])&.zero? ||
                       get.call("pragma").to_s.downcase.include?("no-cache")

      :lookup
    end

    # The normalized host of a request (X-Forwarded-Host's last element when
    # trusted, else Host, else the server's own name), nil if invalid.
    def request_host(fallback, scheme, trust_forwarded_host: false, &get)
      if trust_forwarded_host
        forwarded = get.call("x-forwarded-host")
        return normalize_host(forwarded.split(",", -1).last.to_s, scheme) if forwarded
      end
      host = get.call("host")
      normalize_host(host.nil? ? fallback : host, scheme)
    end
  end
end
