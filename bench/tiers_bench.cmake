# tiers_bench starts its own redis-server with the test harness's ServerProcess.
if(NOT UNICACHE_WITH_REDIS)
  set_target_properties(tiers_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(tiers_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp)
target_include_directories(tiers_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
