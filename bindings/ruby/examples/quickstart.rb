require "unicache"

# Any backend: "sqlite:///tmp/app-cache.db", "redis://127.0.0.1:6379/0",
# "memcached://127.0.0.1:11211", ... or nil to use $UNICACHE_URL.
Unicache::Cache.open("memory://?max_items=10000") do |cache|
  cache.set("user:1", { "name" => "Ada", "langs" => %w[en fr] }, ttl: 60)
  p cache.get("user:1")                              # {"name"=>"Ada", "langs"=>["en", "fr"]}
  p cache.get("user:2")                              # nil: a miss is not an error
  p cache.fetch("answer", expires_in: 300) { 6 * 7 } # 42, computed once
  cache["visits"] = 0
  p cache.increment("visits")                        # 1
  p cache.read_multi("user:1", "visits")             # both, as a Hash

  begin
    cache.set("", "empty keys are refused")
  rescue Unicache::InvalidArgumentError => e
    puts e.message                                   # invalid argument: empty key: ...
  end
end
