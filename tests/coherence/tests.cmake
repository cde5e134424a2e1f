# Coherence: each watching backend tells a listener what others changed.
# White-box (INTERNAL): a recording listener stands where a tier's L1 goes.
if(UNICACHE_WITH_REDIS)
  unicache_add_test(redis_tracking_test
    SOURCES coherence/redis_tracking_test.cpp redis/redis_server.cpp INTERNAL LABELS redis coherence)
  target_include_directories(redis_tracking_test SYSTEM PRIVATE ${HIREDIS_INCLUDE_DIRS})
endif()
