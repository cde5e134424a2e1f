# compress= on every backend (lib/core/value_codec.h, applied by Cache): white-box,
# it looks at and crafts the stored bytes through the backend itself.
if(UNICACHE_WITH_SQLITE AND UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED)
  unicache_add_test(compression_test
    SOURCES compression/compression_test.cpp redis/redis_server.cpp INTERNAL
    LABELS core memory sqlite redis memcached)
  unicache_add_test(compression_contract_test
    SOURCES compression/compression_contract_test.cpp redis/redis_server.cpp CONTRACT
    LABELS core memory redis)
endif()
