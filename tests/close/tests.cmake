# cache_close while other threads are inside calls, on every backend built.
unicache_add_test(close_during_calls_test SOURCES close/close_during_calls_test.cpp LABELS close)
unicache_test_every_backend(close_during_calls_test)
set_tests_properties(close_during_calls_test PROPERTIES TIMEOUT 120)
