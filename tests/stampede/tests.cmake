# Stampede protection (issue 13): the lease protocol and cache_fetch on
# every backend, and the many-process herd.
unicache_add_test(stampede_test
  SOURCES stampede/stampede_test.cpp stampede/stampede_uris.cpp redis/redis_server.cpp
  LABELS stampede)
unicache_add_test(stampede_herd_test
  SOURCES stampede/herd_test.cpp stampede/stampede_uris.cpp redis/redis_server.cpp
  LABELS stampede)
