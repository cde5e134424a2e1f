# The sqlite backend's build fragment, included by the top-level CMakeLists.txt
# when UNICACHE_WITH_SQLITE is ON. A missing libsqlite3-dev fails here, loudly.
pkg_check_modules(SQLITE3 REQUIRED sqlite3>=3.30)
target_sources(unicache_objects PRIVATE
  lib/backends/sqlite/sqlite_anchor.cpp
  lib/backends/sqlite/sqlite_backend.cpp
  lib/backends/sqlite/sqlite_changes.cpp
  lib/backends/sqlite/sqlite_connection.cpp
  lib/backends/sqlite/sqlite_eviction.cpp
  lib/backends/sqlite/sqlite_leases.cpp
  lib/backends/sqlite/sqlite_log.cpp
  lib/backends/sqlite/sqlite_pool.cpp
  lib/backends/sqlite/sqlite_runtime.cpp
  lib/backends/sqlite/sqlite_sql.cpp
  lib/backends/sqlite/sqlite_store.cpp
)
target_compile_definitions(unicache_objects PRIVATE UNICACHE_BACKEND_SQLITE=1)
target_include_directories(unicache_objects PRIVATE ${SQLITE3_INCLUDE_DIRS})
list(APPEND UNICACHE_DEP_LIBS ${SQLITE3_LIBRARIES})
list(APPEND UNICACHE_PC_REQUIRES_PRIVATE sqlite3)
