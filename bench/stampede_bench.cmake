# stampede_bench starts its own redis-server with the test harness's ServerProcess.
if(NOT UNICACHE_WITH_REDIS OR NOT UNICACHE_WITH_SQLITE OR NOT UNICACHE_WITH_MEMCACHED)
  set_target_properties(stampede_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(stampede_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp)
target_include_directories(stampede_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
