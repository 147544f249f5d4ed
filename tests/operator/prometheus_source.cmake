# spec.source.prometheus end to end (included by tests/operator/CMakeLists.txt): the `lagpilot run`
# process against the local control plane (every release) and a real Prometheus server scraping a
# gauge the test sets.
lagpilot_integration_test(operator_e2e_prometheus_source_tests
  TIMEOUT 300
  SOURCES e2e_prometheus_source_test.cpp
  LIBS lagpilot_kube lagpilot_testenv prometheus-cpp::core prometheus-cpp::pull
       nlohmann_json::nlohmann_json)
add_dependencies(operator_e2e_prometheus_source_tests lagpilot)
target_compile_definitions(operator_e2e_prometheus_source_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
