// End to end on RabbitMQ: the real kube-apiserver, a real rabbitmq-server (with its management
// plugin) and the lagpilot binary as a separate process. A backlog published by a real publisher
// scales the consumer Deployment up; a real consumer that drains it (and acknowledges) brings it
// back down. Everything Kubernetes is applied with kubectl, as a user would.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/yaml.h"
#include "tests/operator/e2e_support.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/rabbitmq/amqp_test_client.h"
#include "tests/sources/rabbitmq/rabbitmq_fixture.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::kubectl;
using testkit::deployment_replicas;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::AmqpTestClient;
using testkit::OperatorProcess;
using testkit::RabbitMqServer;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

std::string monitor_yaml(const RabbitMqServer& rabbitmq) {
  return R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
spec:
  source:
    rabbitmq:
      host: 127.0.0.1
      port: )" +
         std::to_string(rabbitmq.amqp_port()) + R"(
      queue: orders
      managementUrl: ")" +
         rabbitmq.management_url() + R"("
      authSecretRef: {name: rabbit-auth}
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

TEST(EndToEndRabbitMq, BacklogScalesConsumersUpAndTheDrainScalesThemDown) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  RabbitMqServer rabbitmq;
  // kubectl 1.32's `wait --for condition=established` fails at once ("accessor error: <nil>")
  // while the new CRD has no status yet: try again until it has.
  controlplane::CommandResult crds;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        crds = controlplane::kubectl_install_crds();
        return crds.exit_code == 0;
      },
      seconds(30), milliseconds(500)))
      << crds.output;
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "e2e-rabbitmq");

  // 3,200 ready messages before the operator starts: the queue's count settles while messages
  // are still being enqueued (a poll during a publish, even right after an AMQP transaction's
  // commit, saw 3,088), so the first poll is the one that sees the whole backlog.
  AmqpTestClient publisher(rabbitmq.amqp_port(), RabbitMqServer::kUser, rabbitmq.password());
  publisher.declare("orders");
  publisher.publish("orders", 3200);
  ASSERT_TRUE(
      controlplane::eventually([&] { return publisher.ready("orders") == 3200; }, seconds(10)));

  auto secret = kubectl("create secret generic rabbit-auth -n " + ns.name() +
                        " --from-literal=username=" + RabbitMqServer::kUser +
                        " --from-literal=password=" + rabbitmq.password());
  ASSERT_EQ(secret.exit_code, 0) << secret.output;
  secret = kubectl("label secret rabbit-auth lagpilot.io/allow=true -n " + ns.name());
  ASSERT_EQ(secret.exit_code, 0) << secret.output;
  auto applied = kubectl("apply -n " + ns.name(),
                         controlplane::deployment_manifest("order-consumer", 1).dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), monitor_yaml(rabbitmq));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  const std::string log_path = std::filesystem::temp_directory_path() /
                               ("lagpilot-e2e-rabbitmq-" + std::to_string(::getpid()) + ".log");
  OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"},
      log_path);
  // ceil(3,200 / 500) = 7 replicas, from the first poll.
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 7; },
                                       seconds(30), milliseconds(100)))
      << "replicas " << deployment_replicas(ns.name()) << "\n"
      << lagpilot.log_tail();
  // The operator patches the scale first and writes status after it.
  std::string depth;
  EXPECT_TRUE(controlplane::eventually([&] {
    depth = kubectl("get qm orders -n " + ns.name() + " -o jsonpath={.status.metrics.queueDepth}")
                .output;
    return depth == "3200";
  })) << depth;

  // A real consumer drains the queue, acknowledging every message.
  {
    AmqpTestClient consumer(rabbitmq.amqp_port(), RabbitMqServer::kUser, rabbitmq.password());
    consumer.subscribe("orders", 200);
    ASSERT_EQ(consumer.consume(3200), 3200);
  }
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 1; },
                                       seconds(20), milliseconds(100)))
      << lagpilot.log_tail();

  Json status;
  ASSERT_TRUE(controlplane::eventually([&] {
    auto yaml = kubectl("get qm orders -n " + ns.name() + " -o yaml");
    if (yaml.exit_code != 0) return false;
    auto documents = kube::parse_yaml_documents(yaml.output, "kubectl get qm -o yaml");
    if (!documents.ok() || documents->size() != 1u) return false;
    status = (*documents)[0].value("status", Json::object());
    return status.value("/replicas/current"_json_pointer, -1) == 1 &&
           status.value("/scalingHistory/0/to"_json_pointer, -1) == 1 &&
           status.value("/metrics/consumers"_json_pointer, -1) == 0;
  })) << status.dump(2);
  ASSERT_GE(status["scalingHistory"].size(), 2u) << status.dump(2);
  EXPECT_EQ(status["scalingHistory"].back()["from"], 1);
  EXPECT_EQ(status["scalingHistory"].back()["to"], 7);
  EXPECT_NE(status["scalingHistory"].back()["reason"].get<std::string>().find("lag 3,200"),
            std::string::npos)
      << status.dump(2);
  EXPECT_EQ(status["metrics"]["queueDepth"], 0);
  EXPECT_EQ(status["metrics"]["consumerLag"], 0);
  EXPECT_EQ(status["metrics"]["lagSeconds"], 0.0);
  EXPECT_EQ(status["metrics"]["lagSecondsMethod"], "empty");
  EXPECT_EQ(status["metrics"]["partitions"], 0);

  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0);
  EXPECT_FALSE(lagpilot.logged(rabbitmq.password())) << "the password must never be logged";
  std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
