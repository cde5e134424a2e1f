# The open step and the backends made of backends (tiers, breaker, outage
# log, fallback). Above the backends, below the C API.
target_sources(unicache_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/circuit_breaker.cpp
  ${CMAKE_CURRENT_LIST_DIR}/open_cache.cpp
  ${CMAKE_CURRENT_LIST_DIR}/outage_log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiered_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/tiered_open.cpp
)
