// End to end: the real kube-apiserver, Kafka (librdkafka's mock cluster, and once a real Apache
// Kafka broker) and the lagpilot binary as a separate process. Everything is applied with kubectl,
// as a user would.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "controlplane/kafka_broker.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/yaml.h"
#include "tests/operator/e2e_support.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "tests/sources/kafka/kafka_real_cluster.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::kubectl;
using controlplane::run_command;
using testkit::deployment_replicas;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

using testkit::OperatorProcess;

std::string monitor_yaml(const std::string& bootstrap) {
  return R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
spec:
  source:
    kafka:
      bootstrapServers: ")" +
         bootstrap + R"("
      topic: orders
      consumerGroup: order-processor
      lagSecondsMethod: fetch
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
  alerts:
  - name: BacklogHigh
    metric: consumerLag
    op: ">"
    threshold: 1000
    severity: high
    summary: "lag is {{ .value }} on {{ .topic }}"
)";
}

// The scenario on any Kafka: a backlog scales the consumers up, its drain scales them down, with
// reasons, alerts, Events and JSON logs.
void consumers_scale_up_and_down(testkit::KafkaTestCluster& kafka) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto crds = controlplane::kubectl_install_crds();
  ASSERT_EQ(crds.exit_code, 0) << crds.output;
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "e2e");

  kafka.create_topic("orders", 8);
  auto applied = kubectl("apply -n " + ns.name(),
                         controlplane::deployment_manifest("order-consumer", 1).dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), monitor_yaml(kafka.bootstrap_servers()));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  std::string log_path = std::filesystem::temp_directory_path() /
                         ("lagpilot-e2e-" + std::to_string(::getpid()) + ".log");
  OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"},
      log_path);
  // Up and polling: status appears.
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        auto out = kubectl("get qm orders -n " + ns.name() +
                           " -o jsonpath={.status.metrics.lastPollTime}");
        return out.exit_code == 0 && !out.output.empty();
      },
      seconds(30)))
      << lagpilot.log();
  EXPECT_EQ(deployment_replicas(ns.name()), 1);

  // A backlog of 8 x 400 = 3,200 messages: ceil(3,200 / 500) = 7 replicas, within a poll or two.
  auto now = std::chrono::system_clock::now();
  for (int p = 0; p < 8; ++p) kafka.produce("orders", p, 400, now - seconds(30), milliseconds(10));
  std::map<int32_t, int64_t> zero, all;
  for (int p = 0; p < 8; ++p) {
    zero[p] = 0;
    all[p] = 400;
  }
  kafka.commit("order-processor", "orders", zero);
  auto produced_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 7; },
                                       seconds(10), milliseconds(50)))
      << "replicas " << deployment_replicas(ns.name()) << "\n"
      << lagpilot.log();
  auto reaction =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - produced_at);
  EXPECT_LT(reaction, milliseconds(3000))
      << "scale-up took " << reaction.count() << " ms at pollIntervalSeconds 1";

  // Drain: after the 3 s stabilization window it scales back down to minReplicas.
  kafka.commit("order-processor", "orders", all);
  ASSERT_TRUE(controlplane::eventually([&] { return deployment_replicas(ns.name()) == 1; },
                                       seconds(20), milliseconds(100)))
      << lagpilot.log();

  // The operator patches the scale first and writes status after it: wait for that write.
  Json status;
  ASSERT_TRUE(controlplane::eventually([&] {
    auto yaml = kubectl("get qm orders -n " + ns.name() + " -o yaml");
    if (yaml.exit_code != 0) return false;
    auto documents = kube::parse_yaml_documents(yaml.output, "kubectl get qm -o yaml");
    if (!documents.ok() || documents->size() != 1u) return false;
    status = (*documents)[0].value("status", Json::object());
    return status.value("/replicas/current"_json_pointer, -1) == 1 &&
           status.value("/scalingHistory/0/to"_json_pointer, -1) == 1;
  })) << status.dump(2);
  ASSERT_GE(status["scalingHistory"].size(), 2u) << status.dump(2);
  EXPECT_EQ(status["scalingHistory"][0]["to"], 1);
  EXPECT_EQ(status["scalingHistory"].back()["from"], 1);
  EXPECT_EQ(status["scalingHistory"].back()["to"], 7);
  EXPECT_NE(status["scalingHistory"].back()["reason"].get<std::string>().find("lag 3,200"),
            std::string::npos);
  EXPECT_EQ(status["replicas"]["current"], 1);
  EXPECT_EQ(status["metrics"]["consumerLag"], 0);

  auto listed = kubectl("get qm -n " + ns.name());
  EXPECT_NE(listed.output.find("orders"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("Healthy"), std::string::npos) << "the HEALTH column";

  // The backlog fired the alert and the drain resolved it: history, Events and describe.
  ASSERT_TRUE(controlplane::eventually([&] {
    auto got =
        kubectl("get qm orders -n " + ns.name() + " -o jsonpath={.status.alertHistory[0].name}");
    return got.output == "BacklogHigh";
  })) << lagpilot.log();
  auto events = kubectl("get events -n " + ns.name() + " -o jsonpath={.items[*].reason}");
  EXPECT_NE(events.output.find("AlertFiring"), std::string::npos) << events.output;
  EXPECT_NE(events.output.find("AlertResolved"), std::string::npos) << events.output;
  auto described = kubectl("describe qm orders -n " + ns.name());
  for (const char* part :
       {"Health:", "Alert History:", "BacklogHigh", "Scaling History:", "Reason:", "AlertFiring"}) {
    EXPECT_NE(described.output.find(part), std::string::npos) << part << "\n" << described.output;
  }

  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0) << "SIGTERM must finish in-flight work and exit 0";
  // Every log line is one JSON object with the standard fields.
  std::istringstream lines(lagpilot.log());
  std::string line;
  int count = 0;
  bool saw_scale = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto parsed = Json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    EXPECT_TRUE(parsed.contains("ts") && parsed.contains("level") && parsed.contains("msg"))
        << line;
    if (parsed.value("monitor", "") == ns.name() + "/orders" &&
        parsed.value("msg", "").find("scaled") == 0) {
      saw_scale = true;
    }
    ++count;
  }
  EXPECT_GT(count, 0);
  EXPECT_TRUE(saw_scale) << "no 'scaled' log line with monitor=" << ns.name() << "/orders";
  std::filesystem::remove(log_path);
}

TEST(EndToEnd, ConsumersScaleUpAndDownWithReasonsInStatus) {
  testkit::KafkaMockCluster kafka(1);
  consumers_scale_up_and_down(kafka);
}

// The same against a real Apache Kafka 4 broker (controlplane/kafka/). ctest runs this case once,
// against the current Kubernetes release (tests/operator/CMakeLists.txt).
TEST(EndToEnd, RealKafkaBrokerConsumersScaleUpAndDown) {
  const std::string run_dir =
      std::filesystem::temp_directory_path() / ("lagpilot-e2e-kafka-" + std::to_string(::getpid()));
  auto broker = controlplane::KafkaBroker::start(
      std::string(LAGPILOT_SOURCE_DIR) + "/controlplane/kafka", run_dir);
  ASSERT_TRUE(broker.ok()) << broker.error().message;
  testkit::KafkaRealCluster kafka(**broker);
  consumers_scale_up_and_down(kafka);
  EXPECT_TRUE((*broker)->stop().ok());
  std::filesystem::remove_all(run_dir);
}

// The local control plane's kubeconfig with the token replaced.
std::string bad_token_kubeconfig() {
  std::ifstream in(ControlPlaneEnvironment::plane()->kubeconfig_path());
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  std::string token = ControlPlaneEnvironment::plane()->value("LAGPILOT_ADMIN_TOKEN");
  auto at = content.find(token);
  if (at != std::string::npos) content.replace(at, token.size(), "not-the-token");
  std::string path =
      std::filesystem::temp_directory_path() / ("lagpilot-e2e-token-" + std::to_string(::getpid()));
  std::ofstream(path) << content;
  return path;
}

TEST(EndToEnd, UnreachableApiServerGivesOneClearLineAndExitCode) {
  std::string kubeconfig =
      std::filesystem::temp_directory_path() / ("lagpilot-e2e-bad-" + std::to_string(::getpid()));
  std::ofstream(kubeconfig) << R"(apiVersion: v1
kind: Config
current-context: x
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
)";
  auto result = run_command(std::string(LAGPILOT_BINARY) + " run --kubeconfig " + kubeconfig +
                            " --metrics-bind-address 0 --health-probe-bind-address 0");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("cannot reach the Kubernetes API server https://127.0.0.1:1"),
            std::string::npos)
      << result.output;
  auto bad_token =
      run_command(std::string(LAGPILOT_BINARY) + " run --metrics-bind-address 0 --kubeconfig " +
                  bad_token_kubeconfig());
  EXPECT_EQ(bad_token.exit_code, 1);
  EXPECT_NE(bad_token.output.find("Unauthorized"), std::string::npos) << bad_token.output;
  auto bad_flag = run_command(std::string(LAGPILOT_BINARY) + " run --workers none");
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.output.find("--workers"), std::string::npos) << bad_flag.output;
  auto missing =
      run_command(std::string(LAGPILOT_BINARY) + " run --kubeconfig /nonexistent/kubeconfig");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("/nonexistent/kubeconfig"), std::string::npos) << missing.output;
  std::filesystem::remove(kubeconfig);
}

}  // namespace
}  // namespace lagpilot
