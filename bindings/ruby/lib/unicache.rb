# frozen_string_literal: true

# unicache: one cache API over memory, SQLite, Redis and memcached.
#
#   require "unicache"
#
#   Unicache::Cache.open("memory://?max_items=10000") do |cache|
#     cache.set("greeting", { "hello" => "world" }, ttl: 30)
#     cache.get("greeting")                      # => {"hello"=>"world"}
#     cache.fetch("answer", expires_in: 60) { 42 }
#   end
#
# Errors are Unicache::Error subclasses carrying the C library's message
# and #status code. A miss is not an error: get returns nil.
require "unicache/native"
require "unicache/serializers"
require "unicache/cache"
require "unicache/log"

module Unicache
  # The C library's version ("MAJOR.MINOR.PATCH").
  VERSION = Native.version

  # FOREVER (defined by the native extension) is the ttl meaning "never
  # expires": Float::INFINITY, which Cache#ttl returns for such keys.
end
