// End to end with spec.source.prometheus: the real kube-apiserver, a real Prometheus server
// scraping a gauge this test sets (the depth of a queue, as an SQS exporter would publish it), and
// the lagpilot binary as a separate process. The gauge goes up, the Deployment scales up; its
// series disappears, nothing scales down; it drops to 0, the Deployment scales back down.
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/yaml.h"
#include "tests/operator/e2e_support.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/prometheus/prometheus_fixture.h"

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

std::string monitor_yaml(const std::string& prometheus_url) {
  return R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
spec:
  source:
    prometheus:
      serverUrl: ")" +
         prometheus_url + R"("
      depthQuery: sum(lagpilot_e2e_sqs_messages_visible{queue="orders"})
      lagSecondsQuery: max(lagpilot_e2e_sqs_oldest_message_age_seconds{queue="orders"})
      consumersQuery: sum(lagpilot_e2e_consumers{queue="orders"})
      timeoutSeconds: 2
  pollIntervalSeconds: 1
  target: {apiVersion: apps/v1, kind: Deployment, name: order-consumer}
  scaling:
    policy: lagPerReplica
    targetLagPerReplica: 100
    minReplicas: 1
    maxReplicas: 8
    cooldownSeconds: 0
    scaleUp: {maxPodsPerPeriod: 10}
    scaleDown: {stabilizationSeconds: 3, maxPercentPerPeriod: 100, periodSeconds: 1}
  alerts:
  - name: BacklogHigh
    metric: queueDepth
    op: ">"
    threshold: 300
    severity: high
    summary: "depth is {{ .value }}"
)";
}

Json condition(const Json& status, const std::string& type) {
  for (const auto& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == type) return c;
  }
  return Json::object();
}

TEST(EndToEndPrometheusSource, ScalesUpOnTheGaugeAndBackDownAfterItDrops) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  // The exporter: an SQS-like queue depth and oldest-message age.
  prometheus::Exposer exposer("127.0.0.1:0");
  auto registry = std::make_shared<prometheus::Registry>();
  auto& depth_family = prometheus::BuildGauge()
                           .Name("lagpilot_e2e_sqs_messages_visible")
                           .Help("Messages visible in the queue")
                           .Register(*registry);
  prometheus::Gauge* depth = &depth_family.Add({{"queue", "orders"}});
  auto& age = prometheus::BuildGauge()
                  .Name("lagpilot_e2e_sqs_oldest_message_age_seconds")
                  .Help("Age of the oldest message")
                  .Register(*registry)
                  .Add({{"queue", "orders"}});
  auto& consumers = prometheus::BuildGauge()
                        .Name("lagpilot_e2e_consumers")
                        .Help("Consumers attached")
                        .Register(*registry)
                        .Add({{"queue", "orders"}});
  consumers.Set(1);
  exposer.RegisterCollectable(registry);
  testkit::PrometheusServer prometheus(
      {"127.0.0.1:" + std::to_string(exposer.GetListeningPorts().at(0))});

  // kubectl wait can fail at once while the new CRD has no status.conditions yet ("accessor
  // error: <nil> is of the type <nil>"): install until it reports Established.
  controlplane::CommandResult crds;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        crds = controlplane::kubectl_install_crds();
        return crds.exit_code == 0;
      },
      seconds(60), milliseconds(500)))
      << crds.output;
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "e2e-prom");
  auto applied = kubectl("apply -n " + ns.name(),
                         controlplane::deployment_manifest("order-consumer", 1).dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), monitor_yaml(prometheus.url()));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  // The API server kept the source's fields (the CRD declares them; unknown ones are pruned).
  auto kept = kubectl("get qm orders -n " + ns.name() +
                      " -o jsonpath={.spec.source.prometheus.depthQuery}");
  ASSERT_EQ(kept.output, "sum(lagpilot_e2e_sqs_messages_visible{queue=\"orders\"})");

  const std::string log_path = std::filesystem::temp_directory_path() /
                               ("lagpilot-e2e-prom-" + std::to_string(::getpid()) + ".log");
  testkit::OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"},
      log_path);

  // An empty queue first: polled, depth 0, nothing to scale.
  depth->Set(0);
  age.Set(0);
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        Json status = monitor_status(ns.name());
        return status.contains("metrics") && status["metrics"].value("queueDepth", -1) == 0 &&
               condition(status, "SourceReachable").value("status", "") == "True";
      },
      seconds(40), milliseconds(200)))
      << monitor_status(ns.name()).dump(2) << "\n"
      << lagpilot.log_tail();
  EXPECT_EQ(deployment_replicas(ns.name()), 1);

  // 450 messages, the oldest 42 s old: ceil(450 / 100) = 5 replicas.
  depth->Set(450);
  age.Set(42);
  consumers.Set(2);
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 5; },
                                       seconds(20), milliseconds(100)))
      << "replicas " << deployment_replicas(ns.name()) << "\n"
      << monitor_status(ns.name()).dump(2) << "\n"
      << lagpilot.log_tail();
  Json status;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        status = monitor_status(ns.name());
        return status.value("/metrics/queueDepth"_json_pointer, -1) == 450 &&
               status.value("/metrics/lagSeconds"_json_pointer, -1.0) == 42.0 &&
               status.value("/metrics/consumers"_json_pointer, -1) == 2;
      },
      seconds(10), milliseconds(100)))
      << status.dump(2);
  EXPECT_EQ(status.value("/metrics/consumerLag"_json_pointer, -1), 450);
  EXPECT_FALSE(status["metrics"].contains("ingressRate")) << "unknown stays unknown";
  EXPECT_FALSE(status["metrics"].contains("egressRate"));
  EXPECT_NE(condition(status, "SourceReachable").value("message", "").find("depthQuery=sum("),
            std::string::npos)
      << status.dump(2);

  // The series disappears (the exporter lost the queue): no sample, the depth is unknown, and
  // nothing scales down on missing data.
  depth_family.Remove(depth);
  depth = nullptr;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        status = monitor_status(ns.name());
        return condition(status, "SourceReachable").value("reason", "") == "SourceNoData";
      },
      seconds(20), milliseconds(100)))
      << status.dump(2) << "\n"
      << lagpilot.log_tail();
  EXPECT_NE(condition(status, "SourceReachable").value("message", "").find("returned no sample"),
            std::string::npos)
      << status.dump(2);
  // Longer than the 3 s scale-down stabilization window, at a 1 s poll: still 5.
  const auto unknown_since = std::chrono::steady_clock::now();
  bool held = controlplane::eventually(
      [&] {
        return deployment_replicas(ns.name()) != 5 ||
               std::chrono::steady_clock::now() - unknown_since > seconds(5);
      },
      seconds(10), milliseconds(200));
  ASSERT_TRUE(held);
  EXPECT_EQ(deployment_replicas(ns.name()), 5) << "scaled on missing data\n" << lagpilot.log_tail();

  // The queue is back, drained: back down to minReplicas after the stabilization window.
  depth = &depth_family.Add({{"queue", "orders"}});
  depth->Set(0);
  age.Set(0);
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 1; },
                                       seconds(30), milliseconds(100)))
      << monitor_status(ns.name()).dump(2) << "\n"
      << lagpilot.log_tail();
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        status = monitor_status(ns.name());
        return status.value("/scalingHistory/0/to"_json_pointer, -1) == 1 &&
               status.value("/metrics/queueDepth"_json_pointer, -1) == 0;
      },
      seconds(10), milliseconds(100)))
      << status.dump(2);
  EXPECT_EQ(status["scalingHistory"].back()["to"], 5);
  EXPECT_NE(status["scalingHistory"].back()["reason"].get<std::string>().find("450 msgs"),
            std::string::npos)
      << status.dump(2);
  EXPECT_EQ(condition(status, "SourceReachable").value("status", ""), "True");

  // The depth fired the alert and the drain resolved it, with the source's query label.
  ASSERT_TRUE(controlplane::eventually([&] {
    auto got =
        kubectl("get qm orders -n " + ns.name() + " -o jsonpath={.status.alertHistory[0].name}");
    return got.output == "BacklogHigh";
  })) << lagpilot.log_tail();

  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0);
  std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
