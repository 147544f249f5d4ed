# End to end on a real rabbitmq-server (included by tests/operator/CMakeLists.txt): the `lagpilot
# run` process scales a Deployment on a real RabbitMQ backlog and back down after it drains. One
# ctest test per Kubernetes release (@1.20, @current).
lagpilot_integration_test(operator_e2e_rabbitmq_tests
  TIMEOUT 600
  SOURCES e2e_rabbitmq_test.cpp
  LIBS lagpilot_kube lagpilot_testenv PkgConfig::RABBITMQ_C nlohmann_json::nlohmann_json)
add_dependencies(operator_e2e_rabbitmq_tests lagpilot)
target_compile_definitions(operator_e2e_rabbitmq_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
