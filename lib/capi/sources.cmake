# The C API's own parts beside capi.cpp and error_state.cpp.
target_sources(unicache_objects PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/in_flight.cpp
  ${CMAKE_CURRENT_LIST_DIR}/lease_capi.cpp
)
