# End to end on Redis Streams (included by tests/operator/CMakeLists.txt): the real `lagpilot run`
# process against the local control plane (@1.20 and @current) and a real redis-server.
lagpilot_integration_test(operator_e2e_redis_tests
  SOURCES e2e_redis_test.cpp
  LIBS lagpilot_kube lagpilot_testenv PkgConfig::HIREDIS nlohmann_json::nlohmann_json)
add_dependencies(operator_e2e_redis_tests lagpilot)
target_compile_definitions(operator_e2e_redis_tests PRIVATE
  LAGPILOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LAGPILOT_BINARY="$<TARGET_FILE:lagpilot>")
