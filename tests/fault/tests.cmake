# The fault-injection proxy (tests/support/fault_proxy.h), tested on its own
# against a real memcached.
unicache_add_test(fault_proxy_test SOURCES fault/fault_proxy_test.cpp LABELS support)
