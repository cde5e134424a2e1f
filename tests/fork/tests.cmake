# The fork and close matrix on every backend that is built.
unicache_add_test(fork_matrix_test SOURCES fork/fork_matrix_test.cpp LABELS fork)
foreach(_backend SQLITE REDIS MEMCACHED)
  if(UNICACHE_WITH_${_backend})
    target_compile_definitions(fork_matrix_test PRIVATE UNICACHE_TEST_${_backend})
  endif()
endforeach()
