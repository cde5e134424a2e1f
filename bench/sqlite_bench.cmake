# sqlite_bench calls SQLite directly for the bare-SQLite anchor.
if(NOT UNICACHE_WITH_SQLITE)
  # Nothing to measure without the backend.
  set_target_properties(sqlite_bench PROPERTIES EXCLUDE_FROM_ALL ON)
  return()
endif()
target_include_directories(sqlite_bench SYSTEM PRIVATE ${SQLITE3_INCLUDE_DIRS})
target_link_libraries(sqlite_bench PRIVATE ${SQLITE3_LIBRARIES})
