# frozen_string_literal: true

require "logger"

module Unicache
  # The C library's log lines go to Unicache.logger: by default a Logger on
  # $stderr at WARN (connection lost and restored, breakers opening and
  # closing, servers dropped from a ring, slow operations). Set your own:
  #
  #   Unicache.logger = Rails.logger            # its level decides what comes
  #   Unicache.logger = Logger.new($stdout, level: :info)  # retries too
  #   Unicache.logger = nil                     # off
  #
  # The library formats only the lines the logger's level lets through. It
  # may produce a line in a thread Ruby does not know, so lines are queued
  # and handed to the logger by a background Ruby thread (within moments).
  module Log
    # C level (CACHE_LOG_ERROR 1 .. CACHE_LOG_DEBUG 4) -> Logger severity.
    TO_RUBY = { 1 => ::Logger::ERROR, 2 => ::Logger::WARN, 3 => ::Logger::INFO,
                4 => ::Logger::DEBUG }.freeze

    class << self
      attr_reader :logger

      def logger=(logger)
        @logger = logger
        Native.log_enable(c_level(logger))
        start_thread if logger
      end

      # The thread that hands lines to the logger; one per process (a
      # forked child starts its own, see _fork below).
      def start_thread
        return if @thread&.alive? && @pid == Process.pid

        @pid = Process.pid
        @thread = Thread.new do
          Thread.current.name = "unicache-log"
          loop do
            line = Native.log_take(1.0)
            deliver(*line) if line
          end
        end
      end

      private

      def deliver(level, message)
        @logger&.add(TO_RUBY.fetch(level, ::Logger::WARN), message, "unicache")
      rescue StandardError => e
        warn "unicache: the logger raised #{e.class}: #{e.message}"
      end

      def c_level(logger)
        return 0 unless logger

        level = logger.respond_to?(:level) ? logger.level : ::Logger::WARN
        case level
        when ::Logger::DEBUG then 4
        when ::Logger::INFO then 3
        when ::Logger::WARN then 2
        when ::Logger::ERROR, ::Logger::FATAL then 1
        else 0
        end
      end
    end

    # Ruby 3.1+: every fork goes through Process._fork; the child has no
    # logger thread until it starts one.
    module ForkHook
      def _fork
        pid = super
        Log.start_thread if pid.zero? && Log.logger
        pid
      end
    end
    Process.singleton_class.prepend(ForkHook) if Process.respond_to?(:_fork)
  end

  class << self
    # Where the library's log lines go (a Logger or anything with #add and
    # #level), or nil for none.
    def logger = Log.logger

    def logger=(logger)
      Log.logger = logger
    end
  end

  self.logger = ::Logger.new($stderr, level: ::Logger::WARN, progname: "unicache")
end
