# The redis backend's build fragment, included by the top-level CMakeLists.txt
# when UNICACHE_WITH_REDIS is ON. hiredis (libhiredis-dev, 0.14 or later) is
# required: a missing library stops the configure step instead of silently
# building without Redis.
pkg_check_modules(HIREDIS REQUIRED hiredis)

target_sources(unicache_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/redis_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_cluster_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_connection.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_glob.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_leases.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_options.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_pool.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_scan.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_sentinel.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_slot.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_tags.cpp
  ${CMAKE_CURRENT_LIST_DIR}/redis_tracking.cpp
)
target_compile_definitions(unicache_objects PRIVATE UNICACHE_BACKEND_REDIS=1)
# The sources include <hiredis.h> from the directory pkg-config names (as a
# system directory: its headers are not -Wpedantic clean), so a
# hiredis installed under any prefix works.
target_include_directories(unicache_objects SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})

# Names, not paths: the exported package and unicache.pc must work outside
# this build tree.
list(APPEND UNICACHE_DEP_LIBS ${HIREDIS_LIBRARIES})
link_directories(${HIREDIS_LIBRARY_DIRS})
list(APPEND UNICACHE_PC_REQUIRES_PRIVATE hiredis)
