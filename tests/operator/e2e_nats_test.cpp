// End to end on NATS JetStream: the real kube-apiserver, a real nats-server 2.9.10 with JetStream
// and user/password auth (tests/sources/nats/nats_fixture.h), a real publisher and a real pull
// consumer, and the lagpilot binary as a separate process. The credentials come from a Secret,
// as a user would set it up; everything is applied with kubectl.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/yaml.h"
#include "tests/operator/e2e_support.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/nats/jetstream_test_client.h"
#include "tests/sources/nats/nats_fixture.h"

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

std::string secret_yaml() {
  return R"(apiVersion: v1
kind: Secret
metadata:
  name: nats-auth
  labels: {lagpilot.io/allow: "true"}
type: Opaque
stringData:
  username: lagpilot
  password: e2e-nats-password
)";
}

std::string monitor_yaml(const std::string& server) {
  return R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
spec:
  source:
    natsJetStream:
      servers: [")" +
         server + R"("]
      stream: ORDERS
      consumer: order-processor
      authSecretRef: {name: nats-auth}
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

TEST(EndToEndNats, ABacklogScalesTheConsumersUpAndItsDrainScalesThemDown) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  testkit::NatsServer nats(
      testkit::NatsServer::Options{"lagpilot", "e2e-nats-password", "", "", ""});
  testkit::JetStreamClient client(nats.url(), {"lagpilot", "e2e-nats-password", "", ""});
  client.add_stream("ORDERS", "orders.>");
  client.add_pull_consumer("ORDERS", "order-processor");

  auto crds = controlplane::kubectl_install_crds();
  ASSERT_EQ(crds.exit_code, 0) << crds.output;
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "e2e-nats");
  auto applied = kubectl("apply -n " + ns.name(),
                         controlplane::deployment_manifest("order-consumer", 1).dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), secret_yaml());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), monitor_yaml(nats.url()));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  const std::string log_path = std::filesystem::temp_directory_path() /
                               ("lagpilot-e2e-nats-" + std::to_string(::getpid()) + ".log");
  testkit::OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"},
      log_path);
  // Up and polling an empty consumer: lag 0, lagSeconds 0.
  Json status;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        status = monitor_status(ns.name());
        return status.contains("metrics") && status["metrics"].contains("lastPollTime");
      },
      seconds(30)))
      << status.dump(2) << "\n"
      << lagpilot.log();
  EXPECT_EQ(status["metrics"]["consumerLag"], 0);
  EXPECT_EQ(status["metrics"]["lagSeconds"], 0);
  EXPECT_EQ(deployment_replicas(ns.name()), 1);

  // A backlog of 3,200 messages: ceil(3,200 / 500) = 7 replicas.
  client.publish_burst("orders.eu", 3200);
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 7; },
                                       seconds(15), milliseconds(50)))
      << "replicas " << deployment_replicas(ns.name()) << "\n"
      << lagpilot.log();
  ASSERT_TRUE(controlplane::eventually([&] {
    status = monitor_status(ns.name());
    return status.value("/metrics/consumerLag"_json_pointer, -1) == 3200;
  })) << status.dump(2);
  EXPECT_TRUE(status["metrics"].contains("lagSeconds")) << status.dump(2);
  EXPECT_FALSE(status["metrics"].contains("consumers")) << "a pull consumer's count is unknown";

  // A real consumer drains it (fetch + ack): after the 3 s stabilization window, back to 1.
  client.fetch_and_ack("ORDERS", "order-processor", "orders.eu", 3200, 3200, /*burst=*/true);
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 1; },
                                       seconds(20), milliseconds(100)))
      << lagpilot.log();

  ASSERT_TRUE(controlplane::eventually([&] {
    status = monitor_status(ns.name());
    return status.value("/replicas/current"_json_pointer, -1) == 1 &&
           status.value("/scalingHistory/0/to"_json_pointer, -1) == 1;
  })) << status.dump(2);
  ASSERT_GE(status["scalingHistory"].size(), 2u) << status.dump(2);
  // A poll may still land while the 3,200 messages are being published or acknowledged (steps
  // through other replica counts): the step to 7 is the one that saw more than 3,000.
  std::string reason_of_seven;
  for (const auto& step : status["scalingHistory"]) {
    if (step.value("to", -1) == 7) reason_of_seven = step.value("reason", "");
  }
  EXPECT_TRUE(std::regex_search(reason_of_seven, std::regex("^lag 3,[0-9]{3} msgs")))
      << status.dump(2);
  EXPECT_EQ(status["metrics"]["consumerLag"], 0);
  EXPECT_EQ(status["metrics"]["lagSeconds"], 0);
  // The drain was seen as acknowledged messages.
  EXPECT_TRUE(status["metrics"].contains("egressRate")) << status.dump(2);

  std::string reachable;
  for (const auto& condition : status.value("conditions", Json::array())) {
    if (condition.value("type", "") == "SourceReachable")
      reachable = condition.value("message", "");
  }
  EXPECT_NE(reachable.find("natsJetStream stream=ORDERS consumer=order-processor"),
            std::string::npos)
      << status.dump(2);
  EXPECT_EQ(lagpilot.log().find("e2e-nats-password"), std::string::npos)
      << "the Secret's password must never be logged";

  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0) << "SIGTERM must finish in-flight work and exit 0";
  std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
