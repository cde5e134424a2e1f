# Named in-process memory stores (memory://?name=...): sharing, lifetime,
# conflicting parameters, threads and fork, and the contract suite through a
# named handle.
unicache_add_test(named_memory_test
  SOURCES named_memory/named_memory_test.cpp named_memory/named_memory_contract_test.cpp
  CONTRACT LABELS memory)
