# Latency histograms (the document's "latency" parts, each tier's own) and
# cache_stats_prometheus read back with Debian's python3-prometheus-client.
if(UNICACHE_WITH_REDIS AND UNICACHE_WITH_SQLITE)
  unicache_add_test(latency_test SOURCES metrics/latency_test.cpp INTERNAL LABELS core metrics redis sqlite)
endif()
if(UNICACHE_WITH_REDIS)
  unicache_add_test(prometheus_test SOURCES metrics/metrics_test.cpp LABELS core metrics redis)
  target_include_directories(prometheus_test PRIVATE ${CJSON_INCLUDE_DIRS})
  target_link_libraries(prometheus_test PRIVATE ${CJSON_LIBRARIES})
endif()
