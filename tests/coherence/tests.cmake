# Coherence: each watching backend tells a listener what others changed.
# White-box (INTERNAL): a recording listener stands where a tier's L1 goes.
if(UNICACHE_WITH_REDIS)
  unicache_add_test(redis_tracking_test
    SOURCES coherence/redis_tracking_test.cpp redis/redis_server.cpp INTERNAL LABELS redis coherence)
  target_include_directories(redis_tracking_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
endif()
if(UNICACHE_WITH_SQLITE)
  unicache_add_test(sqlite_changes_test
    SOURCES coherence/sqlite_changes_test.cpp INTERNAL LABELS sqlite coherence)
  target_include_directories(sqlite_changes_test PRIVATE ${SQLITE3_INCLUDE_DIRS})
  target_link_libraries(sqlite_changes_test PRIVATE ${SQLITE3_LIBRARIES})
endif()
