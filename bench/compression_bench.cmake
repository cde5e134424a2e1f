# compression_bench starts its own redis-server and memcached with the test
# harness's ServerProcess.
if(NOT (UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED AND UNICACHE_WITH_SQLITE))
  set_target_properties(compression_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(compression_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp)
target_include_directories(compression_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
