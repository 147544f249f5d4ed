# The operator's /metrics, /healthz and JSON logs (included by tests/operator/CMakeLists.txt).

# OperatorMetrics and MetricsObserver on an injected registry, serialized and parsed back; the
# /healthz watchdog and probe server.
lagpilot_test(operator_metrics_tests
  SOURCES metrics_test.cpp
  LIBS lagpilot_operator prometheus-cpp::core
  LABELS unit)

# The real `lagpilot run` process against the local control plane and the mock Kafka cluster,
# scraped over HTTP.
lagpilot_integration_test(operator_metrics_scrape_tests
  SOURCES metrics_scrape_test.cpp
  LIBS lagpilot_kube lagpilot_testenv PkgConfig::RDKAFKA nlohmann_json::nlohmann_json)
add_dependencies(operator_metrics_scrape_tests lagpilot)
target_compile_definitions(operator_metrics_scrape_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
