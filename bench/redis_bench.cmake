# redis_bench starts its own redis-server with the test harness's
# ServerProcess, runs redis-benchmark against it, and calls hiredis directly
# for a bare-library reference.
if(NOT UNICACHE_WITH_REDIS)
  # Nothing to measure without the backend (and hiredis may be absent).
  set_target_properties(redis_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(redis_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp)
target_include_directories(redis_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(redis_bench SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(redis_bench PRIVATE ${HIREDIS_LIBRARIES})
