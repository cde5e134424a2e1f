# The core's parts beside those CMakeLists.txt lists.
target_sources(unicache_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/latency.cpp
  ${CMAKE_CURRENT_LIST_DIR}/log.cpp
  ${CMAKE_CURRENT_LIST_DIR}/prometheus.cpp
  ${CMAKE_CURRENT_LIST_DIR}/spare_buffer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/thread_slot.cpp
)
