# frozen_string_literal: true

require "open3"
require "rbconfig"

# The README's Ruby quickstart (bindings/ruby/examples/quickstart.rb) runs as
# written and prints what its comments say. Runs once, with the memory run.
if TestSupport::BACKENDS.include?("memory")
  class QuickstartTest < Minitest::Test
    EXAMPLE = File.expand_path("../../bindings/ruby/examples/quickstart.rb", __dir__)

    def test_quickstart_runs_as_written
      lib = $LOAD_PATH.find { |dir| File.exist?(File.join(dir, "unicache.rb")) }
      out, err, status = Open3.capture3({ "UNICACHE_URL" => "" }, RbConfig.ruby, "-I", lib, EXAMPLE)
      assert status.success?, err
      assert_equal [
        '{"name"=>"Ada", "langs"=>["en", "fr"]}',
        "nil",
        "42",
        "1",
        '{"user:1"=>{"name"=>"Ada", "langs"=>["en", "fr"]}, "visits"=>1}',
        "invalid argument: empty key: a key must be 1 to 65536 bytes long"
      ], out.lines(chomp: true)
    end
  end
end
