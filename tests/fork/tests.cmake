# The fork and close matrix on every backend that is built.
unicache_add_test(fork_matrix_test SOURCES fork/fork_matrix_test.cpp LABELS fork)
unicache_test_every_backend(fork_matrix_test)
