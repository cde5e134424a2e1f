# coherence_lag starts its own redis-server with the test harness's
# ServerProcess and writes with hiredis directly, as a foreign client would.
if(NOT UNICACHE_WITH_REDIS OR NOT UNICACHE_WITH_SQLITE)
  set_target_properties(coherence_lag PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(coherence_lag PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp)
target_include_directories(coherence_lag PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(coherence_lag SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(coherence_lag PRIVATE ${HIREDIS_LIBRARIES})
