# Log lines (cache_set_log_handler) from real servers the tests stop and
# start: Redis (with a password in the URI), memcached rings, tiers.
if(UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED)
  unicache_add_test(log_test SOURCES log/log_test.cpp LABELS core redis memcached log)
endif()
# The SQLite store's lines (crash recovery of a WAL and of a hot journal),
# on real files left by children killed mid-transaction.
if(UNICACHE_WITH_SQLITE)
  unicache_add_test(sqlite_log_test SOURCES log/sqlite_log_test.cpp LABELS sqlite log)
  target_include_directories(sqlite_log_test PRIVATE ${SQLITE3_INCLUDE_DIRS})
  target_link_libraries(sqlite_log_test PRIVATE ${SQLITE3_LIBRARIES})
endif()
