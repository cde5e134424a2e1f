# The open step and the backends made of backends (tiers, breaker, outage
# log, fallback). Above the backends, below the C API.
target_sources(unicache_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/circuit_breaker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/compressing_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/open_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/outage_log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiered_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiered_open.cpp
  ${CMAKE_CURRENT_LIST_DIR}/value_codec.cpp
)
# compress=zstd|lz4 (libzstd-dev, liblz4-dev): REQUIRED, every build reads
# compressed entries. Private dependencies, linked by name.
pkg_check_modules(ZSTD REQUIRED libzstd)
pkg_check_modules(LZ4 REQUIRED liblz4)
target_include_directories(unicache_objects SYSTEM PRIVATE ${ZSTD_INCLUDE_DIRS} ${LZ4_INCLUDE_DIRS})
list(APPEND UNICACHE_DEP_LIBS ${ZSTD_LIBRARIES} ${LZ4_LIBRARIES})
link_directories(${ZSTD_LIBRARY_DIRS} ${LZ4_LIBRARY_DIRS})
list(APPEND UNICACHE_PC_REQUIRES_PRIVATE libzstd liblz4)
