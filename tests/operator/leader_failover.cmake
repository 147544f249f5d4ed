# Leader election end to end: two `lagpilot run --leader-elect` processes against the local control
# plane (kill, SIGTERM hand-over, and a fault-injecting proxy cutting the leader off).
lagpilot_integration_test(operator_leader_failover_tests
  TIMEOUT 300
  SOURCES leader_failover_test.cpp
  LIBS lagpilot_operator lagpilot_kube lagpilot_testenv PkgConfig::RDKAFKA nlohmann_json::nlohmann_json)
add_dependencies(operator_leader_failover_tests lagpilot)
target_compile_definitions(operator_leader_failover_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
