# Tiered caches (lib/compose): the contract suite on tiers over every
# backend, the open step's argument errors, and an outage of a real
# redis-server under load. Tiers over a backend that is not built are left
# out of the targets, never skipped at run time.
set(_tier_defs "")
foreach(_backend SQLITE REDIS MEMCACHED)
  if(UNICACHE_WITH_${_backend})
    list(APPEND _tier_defs TIERS_WITH_${_backend}=1)
  endif()
endforeach()
unicache_add_test(tiers_contract_test
  SOURCES tiers/tiers_contract_test.cpp redis/redis_server.cpp CONTRACT LABELS tiers)
unicache_add_test(tiers_test
  SOURCES tiers/tiers_test.cpp redis/redis_server.cpp LABELS tiers)
foreach(_t tiers_contract_test tiers_test)
  target_compile_definitions(${_t} PRIVATE ${_tier_defs})
endforeach()
if(UNICACHE_WITH_REDIS)
  unicache_add_test(tiers_outage_test
    SOURCES tiers/tiers_outage_test.cpp LABELS tiers redis)
endif()
