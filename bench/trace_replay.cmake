# trace_replay reads the gzip'd traces with zlib; they live beside the repo.
find_package(ZLIB REQUIRED)
target_link_libraries(${_name} PRIVATE ZLIB::ZLIB)
target_compile_definitions(${_name} PRIVATE
  UNICACHE_TRACES_DIR="${PROJECT_SOURCE_DIR}/../shared/traces")
