// End to end on Redis Streams: the real kube-apiserver, a real redis-server with a password (the
// Secret path), and the lagpilot binary as a separate process. A real producer makes a backlog,
// the operator scales the Deployment up; a real consumer drains it (XREADGROUP + XACK), the
// operator scales it back down. Everything is applied with kubectl, as a user would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/yaml.h"
#include "tests/operator/e2e_support.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/redis/redis_fixture.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::kubectl;
using testkit::deployment_replicas;
using testkit::monitor_status;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

constexpr const char* kPassword = "e2e-redis-secret-pw";

std::string manifests(const std::string& address) {
  return std::string(R"(apiVersion: v1
kind: Secret
metadata:
  name: redis-auth
  labels: {lagpilot.io/allow: "true"}
stringData:
  password: )") +
         kPassword + R"(
---
apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
spec:
  source:
    redisStreams:
      address: ")" +
         address + R"("
      stream: orders
      consumerGroup: order-processor
      authSecretRef: {name: redis-auth}
  pollIntervalSeconds: 1
  target: {apiVersion: apps/v1, kind: Deployment, name: order-consumer}
  scaling:
    policy: lagPerReplica
    targetLagPerReplica: 500
    minReplicas: 1
    maxReplicas: 8
    cooldownSeconds: 0
    scaleUp: {maxPodsPerPeriod: 10}
    scaleDown: {stabilizationSeconds: 3, maxPercentPerPeriod: 100, periodSeconds: 1}
)";
}

TEST(EndToEndRedis, ConsumersScaleUpOnARedisBacklogAndDownAfterItDrains) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto crds = controlplane::kubectl_install_crds();
  ASSERT_EQ(crds.exit_code, 0) << crds.output;
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "e2e-redis");

  testkit::RedisServer redis({.password = kPassword});
  auto admin = redis.client();
  admin.ok({"XGROUP", "CREATE", "orders", "order-processor", "0", "MKSTREAM"});

  auto applied = kubectl("apply -n " + ns.name(),
                         controlplane::deployment_manifest("order-consumer", 1).dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), manifests(redis.address()));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  const std::string log_path = std::filesystem::temp_directory_path() /
                               ("lagpilot-e2e-redis-" + std::to_string(::getpid()) + ".log");
  testkit::OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"},
      log_path);
  // Up and polling through the Secret's password: status appears, with no backlog.
  ASSERT_TRUE(controlplane::eventually(
      [&] { return monitor_status(ns.name()).contains("metrics"); }, seconds(30)))
      << lagpilot.log();
  EXPECT_EQ(monitor_status(ns.name())["metrics"].value("consumerLag", -1), 0);
  EXPECT_EQ(deployment_replicas(ns.name()), 1);

  // A backlog of 3,200 entries: ceil(3,200 / 500) = 7 replicas.
  // One script, so that no poll sees a part of it.
  admin.ok({"EVAL", "for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', 'n', i) end",
            "1", "orders", "3200"});
  ASSERT_EQ(admin.ok({"XLEN", "orders"}).integer, 3200);
  const auto produced_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 7; },
                                       seconds(15), milliseconds(50)))
      << "replicas " << deployment_replicas(ns.name()) << "\n"
      << lagpilot.log_tail();
  const auto reaction =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - produced_at);
  EXPECT_LT(reaction, milliseconds(5000)) << "scale-up at pollIntervalSeconds 1";
  Json backlog;
  ASSERT_TRUE(controlplane::eventually([&] {
    backlog = monitor_status(ns.name());
    return backlog.value("/metrics/consumerLag"_json_pointer, -1) == 3200;
  })) << backlog.dump(2);
  EXPECT_EQ(backlog["metrics"]["queueDepth"], 3200);
  EXPECT_TRUE(backlog["metrics"].contains("lagSeconds")) << backlog.dump(2);
  EXPECT_EQ(backlog["metrics"].value("lagSecondsMethod", ""), "stream-id") << backlog.dump(2);
  EXPECT_EQ(backlog["metrics"]["partitions"], 0);

  // A real consumer drains it: the operator scales back to minReplicas after the 3 s window.
  const auto taken = admin.consume("orders", "order-processor", "consumer-1", 5000);
  ASSERT_EQ(taken.size(), 3200u);
  EXPECT_EQ(admin.ack("orders", "order-processor", taken), 3200);
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 1; },
                                       seconds(20), milliseconds(100)))
      << lagpilot.log_tail();

  Json status;
  ASSERT_TRUE(controlplane::eventually([&] {
    status = monitor_status(ns.name());
    return status.value("/replicas/current"_json_pointer, -1) == 1 &&
           status.value("/scalingHistory/0/to"_json_pointer, -1) == 1;
  })) << status.dump(2);
  EXPECT_EQ(status["metrics"]["consumerLag"], 0);
  EXPECT_EQ(status["metrics"]["lagSeconds"], 0);
  EXPECT_EQ(status["metrics"]["consumers"], 1) << "the group's one consumer";
  ASSERT_GE(status["scalingHistory"].size(), 2u) << status.dump(2);
  EXPECT_EQ(status["scalingHistory"].back()["to"], 7);
  EXPECT_NE(status["scalingHistory"].back()["reason"].get<std::string>().find("lag 3,200"),
            std::string::npos)
      << status.dump(2);
  // The password reached Redis and nowhere else.
  EXPECT_EQ(lagpilot.log().find(kPassword), std::string::npos);
  EXPECT_EQ(status.dump().find(kPassword), std::string::npos);

  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0);
  std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
