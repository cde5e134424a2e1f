# frozen_string_literal: true

require "active_support"
require "active_support/cache"
require "unicache"

module ActiveSupport
  module Cache
    # An ActiveSupport cache store on any unicache store.
    #
    #   config.cache_store = :unicache_store, "redis://127.0.0.1:6379/0"
    #   config.cache_store = :unicache_store, "memory://?max_items=100000",
    #                        namespace: "app", expires_in: 1.hour
    #
    # The Store contract as the built-in stores give it: entries (with
    # versions, expiry, race_condition_ttl, compression, the :coder option)
    # are serialized by ActiveSupport and stored as bytes; read_multi,
    # write_multi and delete_multi are one round trip each; increment and
    # decrement are atomic, start a missing counter from 0 and give it
    # :expires_in; ActiveSupport::Notifications events are the usual
    # cache_*.active_support ones; the local cache strategy
    # (with_local_cache, Rails' per-request middleware) is on.
    #
    # delete_matched takes a Regexp (namespaced like the built-in stores) or
    # a glob String. A Regexp that a glob expresses exactly (literal text,
    # .* and . under /m, \A or ^ and \z or $) is deleted by the backend in
    # one pattern delete. Any other Regexp is matched here, on the client:
    # the keys under its longest literal prefix are listed (a SCAN on Redis,
    # a range scan on SQLite) and each is tested with the Regexp, so its
    # cost grows with the keys under that prefix, not with the matches.
    # (^ and $ are taken as the key's start and end.) memcached cannot list
    # keys: delete_matched raises NotImplementedError there, as Rails
    # expects of a store that cannot.
    #
    # Two stores on one "memory://?name=..." share entries, as all stores on
    # one Redis database do; a plain "memory://" is this store's own.
    class UnicacheStore < Store
      def self.supports_cache_versioning? = true

      prepend Strategy::LocalCache

      # uri: any unicache URI or JSON (nil: $UNICACHE_URL, else memory://).
      # options: the Store's own (namespace, expires_in, compress, coder,
      # race_condition_ttl, ...).
      def initialize(uri = nil, **options)
        super(options)
        @uri = uri
        @unicache = Unicache::Cache.new(uri, serializer: :raw)
      end

      # The Unicache::Cache underneath.
      attr_reader :unicache

      def inspect
        "#<#{self.class} options=#{options.inspect} unicache=#{@unicache.inspect}>"
      end

      # Atomic; a missing counter starts from 0 and gets options[:expires_in].
      def increment(name, amount = 1, options = nil)
        options = merged_options(options)
        instrument(:increment, name, amount: amount) do
          @unicache.increment(normalize_key(name, options), amount,
                              expires_in: options[:expires_in])
        end
      end

      def decrement(name, amount = 1, options = nil)
        options = merged_options(options)
        instrument(:decrement, name, amount: amount) do
          @unicache.decrement(normalize_key(name, options), amount,
                              expires_in: options[:expires_in])
        end
      end

      # Deletes the entries whose names match (a Regexp, or a glob String);
      # returns how many. See the class comment for the cost.
      def delete_matched(matcher, options = nil)
        options = merged_options(options)
        instrument(:delete_matched, matcher.inspect) do
          if matcher.is_a?(Regexp)
            delete_regexp(key_matcher(matcher, options))
          else
            glob = options[:namespace] ? "#{glob_escape(namespace_key('', options))}#{matcher}" : matcher.to_s
            enumerating { @unicache.delete_matched(glob) }
          end
        end
      end

      # Every backend drops expired entries itself (on access and in the
      # background), so there is nothing to sweep.
      def cleanup(options = nil)
        instrument(:cleanup, size: nil) { 0 }
      end

      # Removes every entry of this store (its unicache prefix only).
      def clear(options = nil)
        instrument(:clear, nil) { @unicache.clear }
        nil
      end

      private

      def read_entry(key, **options)
        deserialize_entry(@unicache.raw_get(key), raw: options[:raw])
      end

      def write_entry(key, entry, unless_exist: false, raw: false, expires_in: nil,
                      race_condition_ttl: nil, **_options)
        data = serialize_entry(entry, raw: raw)
        # As the Redis store: a stale entry must outlive its expiry a while
        # for race_condition_ttl to serve it during the recomputation.
        expires_in += 300 if race_condition_ttl && expires_in && expires_in.to_f.positive? && !raw
        ttl = expires_in && expires_in.to_f.positive? ? [expires_in.to_f, 0.001].max : nil
        if unless_exist
          @unicache.add(key, data, ttl: ttl || Unicache::FOREVER)
        else
          @unicache.raw_set(key, data, ttl || Unicache::FOREVER)
          true
        end
      end

      def delete_entry(key, **_options)
        @unicache.delete(key)
      end

      # One round trip for the whole batch.
      def read_multi_entries(names, **options)
        keys = names.map { |name| normalize_key(name, options) }
        found = @unicache.read_multi(keys)
        names.zip(keys).each_with_object({}) do |(name, key), results|
          entry = deserialize_entry(found[key], raw: options[:raw])
          next if entry.nil?

          if entry.expired?
            delete_entry(key, **options)
          elsif !entry.mismatched?(normalize_version(name, options))
            results[name] = entry.value
          end
        end
      end

      # One round trip when the entries share one lifetime (the usual case:
      # write_multi gives them one options hash).
      def write_multi_entries(entries, expires_in: nil, race_condition_ttl: nil, **options)
        return if entries.empty?

        expires_in += 300 if race_condition_ttl && expires_in && expires_in.to_f.positive? && !options[:raw]
        ttl = expires_in && expires_in.to_f.positive? ? [expires_in.to_f, 0.001].max : Unicache::FOREVER
        data = entries.transform_values { |entry| serialize_entry(entry, raw: options[:raw]) }
        @unicache.write_multi(data, ttl: ttl)
      end

      def delete_multi_entries(entries, **_options)
        @unicache.delete_multi(entries)
      end

      def serialize_entry(entry, raw: false)
        raw ? entry.value.to_s : super(entry)
      end

      # Counters (increment) are decimal text: read them as Integers (or as
      # the String, with raw: true), whatever the coder.
      def deserialize_entry(payload, raw: false)
        return nil if payload.nil?
        return Entry.new(payload) if raw
        return Entry.new(payload.to_i) if payload.match?(/\A-?\d{1,19}\z/)

        super(payload)
      end

      def delete_regexp(regexp)
        glob, exact = RegexpGlob.convert(regexp)
        enumerating do
          if exact
            @unicache.delete_matched(glob)
          else
            matched = @unicache.keys(glob).select { |k| regexp.match?(k) }
            matched.empty? ? 0 : @unicache.delete_multi(matched)
          end
        end
      end

      def enumerating
        yield
      rescue Unicache::NotSupportedError => e
        raise NotImplementedError, "#{self.class}#delete_matched: #{e.message}"
      end

      def glob_escape(text) = text.gsub(/[\\*?\[\]]/) { |c| "\\#{c}" }
    end

    # Turns a Regexp into a unicache glob: [glob, exact]. exact: the glob
    # matches the same keys. Otherwise the glob matches a superset (the keys
    # under the Regexp's literal prefix, or every key), which the caller
    # filters with the Regexp.
    module RegexpGlob
      SPECIAL = "\\*?[]"
      SIMPLE_ESCAPES = "\\/.*?+()[]{}|^$-:#&~ ".chars.freeze

      def self.convert(regexp)
        source = regexp.source
        flags = regexp.options
        return ["*", false] if (flags & (Regexp::IGNORECASE | Regexp::EXTENDED)) != 0 || source.include?("|")

        dot_all = (flags & Regexp::MULTILINE) != 0
        glob = +""
        exact = true
        i = 0
        if source.start_with?("\\A")
          i = 2
        elsif source.start_with?("^")
          i = 1
        else
          glob << "*"
        end
        anchored_end = false
        while i < source.length
          c = source[i]
          nxt = source[i + 1]
          if c == "\\" && nxt
            if %w[z Z].include?(nxt) && i + 2 == source.length
              anchored_end = nxt == "z"
              exact &&= nxt == "z"
              i += 2
              break
            end
            return [glob << "*", false] unless SIMPLE_ESCAPES.include?(nxt)

            literal = nxt
            i += 2
          elsif c == "$" && i + 1 == source.length
            anchored_end = true
            i += 1
            break
          elsif c == "."
            if nxt == "*"
              glob << "*"
              i += 2
            elsif nxt == "+"
              glob << "?*"
              i += 2
            else
              glob << "?"
              i += 1
            end
            exact &&= dot_all # without /m, '.' never matches a newline
            next
          elsif "()[]{}*+?^$".include?(c)
            return [glob << "*", false] # a construct no glob expresses
          else
            literal = c
            i += 1
          end
          # A quantifier after a literal makes it optional or repeated.
          q = source[i]
          if q && "*?{".include?(q)
            return [glob << "*", false]
          elsif q == "+"
            glob << escape(literal) << "*"
            return [glob, false]
          end
          glob << escape(literal)
        end
        glob << "*" unless anchored_end
        [glob, exact]
      end

      def self.escape(ch) = SPECIAL.include?(ch) ? "\\#{ch}" : ch
    end
  end
end
