# Log lines (cache_set_log_handler) from real servers the tests stop and
# start: Redis (with a password in the URI), memcached rings, tiers.
if(UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED)
  unicache_add_test(log_test SOURCES log/log_test.cpp LABELS core redis memcached log)
endif()
