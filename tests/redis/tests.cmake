# Redis backend tests. Each starts its own redis-server processes on free
# loopback ports (tests/support/server_process.h); a missing redis-server is
# a failure, never a skip.
unicache_add_test(redis_contract_test
  SOURCES redis/redis_contract_test.cpp redis/redis_server.cpp CONTRACT LABELS redis)
unicache_add_test(redis_test
  SOURCES redis/redis_test.cpp redis/redis_server.cpp LABELS redis)
# A plain hiredis client reaches what the cache API refuses (reserved keys).
target_include_directories(redis_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(redis_test PRIVATE ${HIREDIS_LIBRARIES})
unicache_add_test(redis_failure_test
  SOURCES redis/redis_failure_test.cpp redis/redis_server.cpp LABELS redis)
# White-box: the SCAN MATCH translation checked against the server's matcher.
unicache_add_test(redis_glob_test
  SOURCES redis/redis_glob_test.cpp redis/redis_server.cpp INTERNAL LABELS redis)
target_include_directories(redis_glob_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
# timeout_ms as a deadline for the whole call, against the fault proxy.
unicache_add_test(redis_deadline_test
  SOURCES redis/redis_deadline_test.cpp redis/redis_server.cpp LABELS redis)
# redis-sentinel://: a master, a replica and three sentinels, failovers.
unicache_add_test(redis_sentinel_test
  SOURCES redis/redis_sentinel_test.cpp redis/sentinel_fixture.cpp CONTRACT LABELS redis sentinel)
target_include_directories(redis_sentinel_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(redis_sentinel_test PRIVATE ${HIREDIS_LIBRARIES})
# redis-cluster://: 3 masters and 3 replicas started once per binary.
unicache_add_test(redis_cluster_test
  SOURCES redis/redis_cluster_test.cpp redis/cluster_fixture.cpp CONTRACT LABELS redis cluster)
target_include_directories(redis_cluster_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(redis_cluster_test PRIVATE ${HIREDIS_LIBRARIES})
# redis-cluster:// under a failover and a resharding (a cluster of its own).
unicache_add_test(redis_cluster_failover_test
  SOURCES redis/redis_cluster_failover_test.cpp redis/cluster_fixture.cpp LABELS redis cluster)
target_include_directories(redis_cluster_failover_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
target_link_libraries(redis_cluster_failover_test PRIVATE ${HIREDIS_LIBRARIES})
