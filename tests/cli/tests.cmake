# The `unicache` command (lib/cli/), run as a program against every backend
# and on a pseudo-terminal. Starts its own redis-server and memcached.
if(UNICACHE_WITH_SQLITE AND UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED)
  unicache_add_test(cli_test SOURCES cli/cli_test.cpp LABELS cli memory sqlite redis memcached)
  add_dependencies(cli_test unicache_cli)
  set_tests_properties(cli_test PROPERTIES
    ENVIRONMENT "UNICACHE_CLI=$<TARGET_FILE:unicache_cli>")
endif()
