# The memcached backend's build fragment, included by the top-level CMakeLists.txt
# when UNICACHE_WITH_MEMCACHED is ON. REQUIRED: a missing libmemcached-dev fails
# the configure step instead of quietly building without memcached.
pkg_check_modules(LIBMEMCACHED REQUIRED libmemcached)
# SHA-256 for item names of long or unsafe keys (libssl-dev).
pkg_check_modules(LIBCRYPTO REQUIRED libcrypto)

target_sources(unicache_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/connection_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/deadline_watch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/entry_batch.cpp
  ${CMAKE_CURRENT_LIST_DIR}/envelope.cpp
  ${CMAKE_CURRENT_LIST_DIR}/generation_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/item_keys.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memcached_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memcached_leases.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memcached_status.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_health.cpp
  ${CMAKE_CURRENT_LIST_DIR}/sha256.cpp
  ${CMAKE_CURRENT_LIST_DIR}/text_get_socket.cpp)
target_compile_definitions(unicache_objects PRIVATE UNICACHE_BACKEND_MEMCACHED=1)
target_include_directories(unicache_objects PRIVATE ${LIBMEMCACHED_INCLUDE_DIRS}
  ${LIBCRYPTO_INCLUDE_DIRS})

# Names, not paths (the exported package and unicache.pc must work outside
# this build tree), and only libmemcached itself: the connection pool is our
# own (no libmemcachedutil) and the custom key hash is installed without
# calling libhashkit. libcrypto is linked by name too: a private
# dependency (nothing of it is re-exported, lib/unicache.vers keeps cache_*
# only), so unicache.pc lists it under Requires.private.
list(APPEND UNICACHE_DEP_LIBS memcached ${LIBCRYPTO_LIBRARIES})
link_directories(${LIBMEMCACHED_LIBRARY_DIRS} ${LIBCRYPTO_LIBRARY_DIRS})
list(APPEND UNICACHE_PC_REQUIRES_PRIVATE libmemcached libcrypto)
