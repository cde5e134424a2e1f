# frozen_string_literal: true

# Runs every test_*.rb of this directory on the backends UNICACHE_TEST_BACKENDS
# lists (the servers and helpers of tests/ruby/helper.rb).
require "helper"
Dir[File.join(__dir__, "test_*.rb")].sort.each { |f| require f }
