# The differential model of fuzz/model_run.h as bounded seeded runs on every
# backend built (the libFuzzer side is fuzz/run.sh). Redis and memcached run
# against real servers this test starts.
if(UNICACHE_WITH_SQLITE AND UNICACHE_WITH_REDIS AND UNICACHE_WITH_MEMCACHED)
  unicache_add_test(model_servers_test
    SOURCES fuzz/model_servers_test.cpp ${PROJECT_SOURCE_DIR}/fuzz/model_run.cpp
    LABELS fuzz)
  target_include_directories(model_servers_test PRIVATE ${PROJECT_SOURCE_DIR}/fuzz)
  target_compile_definitions(model_servers_test PRIVATE
    MODEL_SEEDS_DIR="${PROJECT_SOURCE_DIR}/fuzz/seeds/model_fuzz"
    MODEL_REGRESSIONS="${PROJECT_SOURCE_DIR}/fuzz/seeds/model_regressions.txt")
endif()
