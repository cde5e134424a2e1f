# The shared library, as a program or a binding loads it (its thread-local
# storage costs more than the static library's).
set_property(TARGET latency_overhead PROPERTY LINK_LIBRARIES unicache Threads::Threads)
