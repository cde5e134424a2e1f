# frozen_string_literal: true

# Runs every test_*.rb of this directory (see helper.rb for the backends).
require_relative "helper"
Dir[File.join(__dir__, "test_*.rb")].sort.each { |f| require f }
