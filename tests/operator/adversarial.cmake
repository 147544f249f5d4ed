# Adversarial QueueMonitors (included by tests/operator/CMakeLists.txt): bad resources sent as JSON
# through the real kube-apiserver (every release) to the `lagpilot run` process, with a healthy
# monitor on librdkafka's mock cluster alongside.
# About 1.5-2 min on a quiet machine; the 1,000 updates take minutes when the 2 cores are shared by
# ~20 busy processes (537 s seen), hence the timeout.
lagpilot_integration_test(operator_adversarial_tests
  TIMEOUT 900
  SOURCES adversarial_test.cpp
  LIBS lagpilot_kube lagpilot_testenv PkgConfig::RDKAFKA nlohmann_json::nlohmann_json)
add_dependencies(operator_adversarial_tests lagpilot)
target_compile_definitions(operator_adversarial_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
