# Passwords never appear in stats, info or error text, whatever spelling of
# the URI carried them (percent-encoded parameter names, JSON). Starts its
# own redis-server (with a password) and memcached.
if(UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED)
  unicache_add_test(redaction_test SOURCES redaction/redaction_test.cpp LABELS core redis memcached)
endif()
