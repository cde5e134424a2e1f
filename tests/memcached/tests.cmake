# memcached backend tests, included by tests/CMakeLists.txt when
# UNICACHE_WITH_MEMCACHED is ON. Each test starts its own memcached processes
# on free loopback ports; a missing memcached binary fails them.
unicache_add_test(memcached_test
  SOURCES memcached/memcached_test.cpp memcached/memcached_contract_test.cpp
  CONTRACT LABELS memcached)
# memcached_test also looks at the servers with a bare libmemcached client.
target_include_directories(memcached_test PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS})
target_link_libraries(memcached_test PRIVATE memcached)
unicache_add_test(memcached_internal_test
  SOURCES memcached/memcached_internal_test.cpp INTERNAL LABELS memcached)
target_include_directories(memcached_internal_test PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS})
# The single-key fast get; INTERNAL for the Unix-socket case, which the URI
# cannot express.
unicache_add_test(memcached_fast_get_test
  SOURCES memcached/memcached_fast_get_test.cpp INTERNAL LABELS memcached)
target_include_directories(memcached_fast_get_test PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS})
target_link_libraries(memcached_fast_get_test PRIVATE memcached)
# timeout_ms as a deadline for the whole call, against the fault proxy.
unicache_add_test(memcached_deadline_test
  SOURCES memcached/memcached_deadline_test.cpp LABELS memcached)
target_include_directories(memcached_deadline_test PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS})
target_link_libraries(memcached_deadline_test PRIVATE memcached)
# Servers that require a login: memcached -Y (text) and -S (binary, SASL).
unicache_add_test(memcached_auth_test
  SOURCES memcached/memcached_auth_test.cpp LABELS memcached)
target_include_directories(memcached_auth_test PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS})
target_link_libraries(memcached_auth_test PRIVATE memcached)
