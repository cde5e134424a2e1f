# frozen_string_literal: true

# The fork and close matrix from Ruby, on every backend: a Cache opened
# before fork and used after it (fork idle, fork while other threads are
# inside calls, close in the child, close in the parent first, exit without
# close, a child that opens caches of its own), and close while other
# threads are inside calls. Each scenario is a fresh interpreter that forks
# its own children (which leave through a normal exit); every interpreter
# and every child is bounded in time, and a hang is a failure.
require "rbconfig"

module ForkTests
  PRELUDE = <<~'RUBY'
    require "unicache"
    URI = ARGV.fetch(0)

    def wait_child(pid, limit = 10.0)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + limit
      loop do
        done, status = Process.wait2(pid, Process::WNOHANG)
        if done
          abort "child #{pid} died of signal #{status.termsig}" if status.signaled?
          return status.exitstatus
        end
        if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
          Process.kill(:KILL, pid)
          Process.wait(pid)
          abort "child #{pid} hung (killed after #{limit} s)"
        end
        sleep 0.005
      end
    end

    def round_trips(c, who, n)
      n.times do |i|
        k = "#{who}:#{i}"
        c.set(k, "v-#{k}", ttl: 60)
        got = c.get(k)
        raise "#{k}: got #{got.inspect}" unless got == "v-#{k}"
      end
    end

    # Runs the block in a child that leaves through a normal exit.
    def child(&body)
      fork do
        begin
          body.call
        rescue StandardError => e
          warn "child failed: #{e.inspect}"
          exit! 3
        end
        exit 0
      end
    end

    # Threads that keep calling into the cache until stopped.
    class Hammer
      attr_reader :calls

      def initialize(c, n = 3)
        @stop = false
        @calls = 0
        @threads = Array.new(n) { |t| Thread.new { run(c, t) } }
      end

      def run(c, t)
        i = 0
        until @stop
          k = "hammer#{t}:#{i % 200}"
          begin
            c.set(k, "x", ttl: 1 + i % 5)
            c.get(k)
            c.increment("hammer-count")
          rescue Unicache::Error
            raise unless c.closed?

            return
          end
          @calls += 3
          i += 1
        end
      end

      def join
        @stop = true
        @threads.each(&:join)
      end
    end
  RUBY

  SCENARIOS = {
    "fork_idle_close_in_child" => <<~'RUBY',
      c = Unicache::Cache.new(URI)
      c.set("before", "fork")
      sleep 0.02
      pid = child do
        raise "lost the parent's key" unless c.get("before") == "fork"
        round_trips(c, "child#{Process.pid}", 30)
        c.close
      end
      raise "child failed" unless wait_child(pid).zero?
      round_trips(c, "parent", 30)
      c.close
    RUBY
    "exit_without_close" => <<~'RUBY',
      c = Unicache::Cache.new(URI)
      round_trips(c, "parent", 10)
      sleep 0.02
      pid = child { round_trips(c, "child#{Process.pid}", 20) } # exits with c open
      raise "child failed" unless wait_child(pid).zero?
      round_trips(c, "parent-after", 10)
    RUBY
    "close_in_parent_first" => <<~'RUBY',
      c = Unicache::Cache.new(URI)
      c.set("before", "fork")
      r, w = IO.pipe
      pid = child do
        raise "no go" unless r.read(1) == "g" # the parent has closed its handle
        raise "lost the parent's key" unless c.get("before") == "fork"
        round_trips(c, "child#{Process.pid}", 30)
        c.close
      end
      c.close
      w.write("g")
      w.flush
      raise "child failed" unless wait_child(pid).zero?
    RUBY
    "child_opens_its_own" => <<~'RUBY',
      c = Unicache::Cache.new(URI)
      round_trips(c, "parent", 10)
      pid = child do
        mine = Unicache::Cache.new(URI)
        round_trips(mine, "own#{Process.pid}", 20)
        round_trips(c, "inherited#{Process.pid}", 20)
      end
      raise "child failed" unless wait_child(pid).zero?
      c.close
    RUBY
    "fork_busy" => <<~'RUBY',
      c = Unicache::Cache.new(URI)
      c.set("before", "fork")
      h = Hammer.new(c)
      sleep 0.001 while h.calls < 300
      6.times do |n|
        pid = child do
          raise "lost the parent's key" unless c.get("before") == "fork"
          round_trips(c, "child#{Process.pid}", 50)
          mine = Unicache::Cache.new(URI)
          round_trips(mine, "own#{Process.pid}", 10)
          mine.close
          c.close if n.even?
        end
        raise "child failed" unless wait_child(pid).zero?
        sleep 0.003
      end
      h.join
      round_trips(c, "parent", 20)
      c.close
    RUBY
    "close_during_calls" => <<~'RUBY',
      c = Unicache::Cache.new(URI)
      h = Hammer.new(c, 4)
      sleep 0.001 while h.calls < 300
      c.close
      h.join
      raise "not closed" unless c.closed?
    RUBY
  }.freeze

  SCENARIOS.each do |name, body|
    define_method("test_fork_and_close_#{name}") do
      env = { "RUBYLIB" => $LOAD_PATH.join(File::PATH_SEPARATOR) }
      err = File.join(@dir, "#{name}.err")
      pid = Process.spawn(env, RbConfig.ruby, "-e", PRELUDE + body, uri, err: err, out: File::NULL)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 60
      status = nil
      loop do
        _, status = Process.wait2(pid, Process::WNOHANG)
        break if status

        if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
          Process.kill(:KILL, pid)
          Process.wait(pid)
          flunk "#{name} on #{uri} hung for 60 s"
        end
        sleep 0.01
      end
      assert status.success?, "#{name} on #{uri}: #{status.inspect}\n#{File.read(err)}"
    end
  end
end

each_backend("Fork", ForkTests)
