# redis_cluster_bench starts its own cluster (3 masters, 3 replicas) with the
# test harness's ClusterSet, runs redis-benchmark --cluster against it, and
# sends pipelined MGETs per node with hiredis for the batch reference.
if(NOT UNICACHE_WITH_REDIS)
  set_target_properties(redis_cluster_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_sources(redis_cluster_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests/support/server_process.cpp
  ${PROJECT_SOURCE_DIR}/tests/redis/cluster_fixture.cpp)
target_include_directories(redis_cluster_bench PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_include_directories(redis_cluster_bench SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(redis_cluster_bench PRIVATE ${HIREDIS_LIBRARIES})
