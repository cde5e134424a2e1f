# cache_close while other threads are inside calls, on every backend built.
unicache_add_test(close_during_calls_test SOURCES close/close_during_calls_test.cpp LABELS close)
foreach(_backend SQLITE REDIS MEMCACHED)
  if(UNICACHE_WITH_${_backend})
    target_compile_definitions(close_during_calls_test PRIVATE UNICACHE_TEST_${_backend})
  endif()
endforeach()
set_tests_properties(close_during_calls_test PROPERTIES TIMEOUT 120)
