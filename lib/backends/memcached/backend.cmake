# The memcached backend's build fragment, included by the top-level CMakeLists.txt
# when UNICACHE_WITH_MEMCACHED is ON. It appends its sources to unicache_objects,
# defines UNICACHE_BACKEND_MEMCACHED=1 and adds its libraries to UNICACHE_DEP_LIBS
# and its pkg-config name to UNICACHE_PC_REQUIRES_PRIVATE.
# (Not written yet: the registry reports "not built" for memcached://.)
