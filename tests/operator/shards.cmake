# Sharding end to end: three and four `lagpilot run --shards auto` processes against the local
# control plane (SIGKILL take-over, a fourth joining, a fault-injecting proxy cutting one off), and
# the clean-up of stale member Leases (in-process members, fake clocks).
lagpilot_integration_test(operator_shards_tests
  TIMEOUT 300
  SOURCES shards_failover_test.cpp shards_lease_cleanup_test.cpp
  LIBS lagpilot_operator lagpilot_kube lagpilot_testenv PkgConfig::RDKAFKA nlohmann_json::nlohmann_json)
add_dependencies(operator_shards_tests lagpilot)
target_compile_definitions(operator_shards_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
