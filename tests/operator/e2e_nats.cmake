# The operator process scaling a Deployment on a real NATS JetStream backlog (included by
# tests/operator/CMakeLists.txt): one test per Kubernetes release, e2e_nats_tests@RELEASE.
lagpilot_integration_test(operator_e2e_nats_tests
  TIMEOUT 300
  SOURCES e2e_nats_test.cpp
  LIBS lagpilot_kube lagpilot_testenv PkgConfig::LIBNATS nlohmann_json::nlohmann_json)
add_dependencies(operator_e2e_nats_tests lagpilot)
target_compile_definitions(operator_e2e_nats_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
