# Issue 14 end to end (included by tests/operator/CMakeLists.txt): the `lagpilot run` process with
# credentials of every kind (Kafka SASL on the mock cluster, Prometheus bearer and basic auth, Redis,
# RabbitMQ, NATS, a webhook URL), the allow label and --allowed-credential-destinations; no value
# may appear in its log, Events, status or /metrics. One test per Kubernetes release.
lagpilot_integration_test(operator_e2e_secrets_tests
  TIMEOUT 300
  SOURCES e2e_secrets_test.cpp
  LIBS lagpilot_kube lagpilot_testenv lagpilot_test_http_server PkgConfig::RDKAFKA PkgConfig::HIREDIS
       nlohmann_json::nlohmann_json)
add_dependencies(operator_e2e_secrets_tests lagpilot)
target_compile_definitions(operator_e2e_secrets_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
