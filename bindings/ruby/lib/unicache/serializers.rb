# frozen_string_literal: true

require "json"

module Unicache
  # How values become bytes. Each serializer has dump(value) -> String and
  # load(String) -> value. :json is the default because every language can
  # read it. :marshal is never the default: Marshal.load can instantiate any
  # class and run its hooks, so whoever can write to a shared cache could run
  # code in every reader. Use it only for caches nobody else writes.
  module Serializers
    # JSON (UTF-8, strict: NaN/Infinity refused). Symbols come back as
    # Strings, as with any JSON store. Strings, Integers, true, false and nil
    # are written and read by the native extension itself (what
    # JSON.generate writes, byte for byte); the rest goes through JSON.
    module Json
      def self.name_for_inspect = "json"
      def self.dump(value) = Native.json_dump(value)
      def self.load(data) = Native.json_load(data)
    end

    # Strings stored as they are, read back as binary (ASCII-8BIT) Strings.
    module Raw
      def self.name_for_inspect = "raw"

      def self.dump(value)
        return value if value.is_a?(String)

        raise TypeError, "the :raw serializer stores Strings, not #{value.class}"
      end

      def self.load(data) = data
    end

    # Ruby's Marshal: any Ruby object, Ruby readers only. See above.
    module Marshal
      def self.name_for_inspect = "marshal"
      def self.dump(value) = ::Marshal.dump(value)
      def self.load(data) = ::Marshal.load(data) # rubocop:disable Security/MarshalLoad
    end

    # MessagePack (Debian: ruby-msgpack): compact, readable from Python too.
    module Msgpack
      def self.name_for_inspect = "msgpack"

      def self.dump(value)
        require "msgpack"
        ::MessagePack.pack(value)
      end

      def self.load(data)
        require "msgpack"
        ::MessagePack.unpack(data)
      end
    end

    NAMED = { json: Json, raw: Raw, marshal: Marshal, msgpack: Msgpack }.freeze

    # A serializer from a name (:json, :raw, :marshal, :msgpack) or any
    # object answering dump and load.
    def self.resolve(serializer)
      if serializer.is_a?(Symbol) || serializer.is_a?(String)
        found = NAMED[serializer.to_sym]
        return found if found

        raise InvalidArgumentError, "invalid argument: unknown serializer #{serializer.inspect}; " \
                                    "use :json, :marshal, :msgpack, :raw or an object with dump and load"
      end
      return serializer if serializer.respond_to?(:dump) && serializer.respond_to?(:load)

      raise TypeError, "serializer must be :json, :marshal, :msgpack, :raw or an object with " \
                       "dump and load, not #{serializer.class}"
    end
  end
end
