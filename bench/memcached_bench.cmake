# memcached_bench starts its own memcached with the test harness's
# ServerProcess and calls libmemcached directly for the bare-library anchor.
if(NOT UNICACHE_WITH_MEMCACHED)
  # Nothing to measure without the backend (and libmemcached may be absent).
  set_target_properties(memcached_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(memcached_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp)
target_include_directories(memcached_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(memcached_bench SYSTEM PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS})
target_link_libraries(memcached_bench PRIVATE memcached)
