# frozen_string_literal: true

# The Ruby binding's rates on every backend this build has, with the JSON
# (default) and raw serializers, and a plain Hash beside the memory
# backend for scale (Debian has no Ruby Redis/memcached client to compare
# with). Redis and memcached run as real local servers started here.
#
#   ruby bench/ruby_bench.rb [build-dir]
#
# Each row is the best of several rounds, which filters out time stolen by
# other work on the machine.
require "etc"
require "tmpdir"

root = File.expand_path("..", __dir__)
build = ARGV[0] || File.join(root, "build")
$LOAD_PATH.unshift(File.join(build, "bindings", "ruby", "lib"))
require "unicache"
require_relative "../tests/ruby/servers"

KEYS = 1000
ROUNDS = 5

def best_ns(count)
  keys = Array.new(count) { |i| "key:#{i % KEYS}" }
  yield keys.first(count / 10) # warm up
  ROUNDS.times.map do
    start = Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
    yield keys
    (Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) - start).fdiv(count)
  end.min
end

def row(operation, subject, ns)
  puts format("%-16s %-34s %9.0f ns/op %11.0f ops/s", operation, subject, ns, 1e9 / ns)
end

def open_or_nil(uri, serializer)
  Unicache::Cache.new(uri, serializer: serializer, prefix: "unicache-bench:")
rescue Unicache::NotSupportedError
  nil
end

puts "unicache #{Unicache::VERSION} Ruby binding, ruby #{RUBY_VERSION}, #{Etc.nprocessors} CPUs, " \
     "load average #{File.read('/proc/loadavg').split.first(3).join(' ')}"
Dir.mktmpdir("unicache-bench") do |dir|
  targets = {
    "memory" => [-> { "memory://" }, 200_000],
    "sqlite" => [-> { "sqlite://#{File.join(dir, 'bench.db')}" }, 20_000],
    "redis" => [-> { "redis://127.0.0.1:#{TestServers.server('redis').port}/0" }, 10_000],
    "memcached" => [-> { "memcached://127.0.0.1:#{TestServers.server('memcached').port}" }, 10_000]
  }
  targets.each do |backend, (uri, count)|
    %i[json raw].each do |serializer|
      cache = open_or_nil(uri.call, serializer)
      if cache.nil?
        puts format("%-16s %s", backend, "backend not built into this library")
        break
      end
      KEYS.times { |i| cache.set("key:#{i}", "value for key:#{i}") }
      ns = best_ns(count) { |keys| keys.each { |k| cache.get(k) } }
      row("#{backend} get", "Cache#get (#{serializer})", ns)
      ns = best_ns(count) { |keys| keys.each { |k| cache.set(k, "value for #{k}") } }
      row("#{backend} set", "Cache#set (#{serializer})", ns)
      if backend == "memory" && serializer == :json
        ns = best_ns(count) { |keys| keys.each { |k| cache.fetch(k) { raise } } }
        row("memory fetch", "Cache#fetch hit (json)", ns)
        hash = {}
        KEYS.times { |i| hash["key:#{i}"] = "value for key:#{i}" }
        ns = best_ns(count) { |keys| keys.each { |k| hash[k] } }
        row("memory get", "Hash#[] (for scale)", ns)
      end
      cache.close
    end
  end
ensure
  TestServers.stop_all
end
puts "load average after: #{File.read('/proc/loadavg').split.first(3).join(' ')}"
