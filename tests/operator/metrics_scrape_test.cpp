// /metrics as Prometheus sees it: the real `lagpilot run` process against the local control plane
// and librdkafka's mock Kafka cluster, scraped over HTTP and parsed. The values must match what the
// same process wrote into the QueueMonitor's status; a deleted monitor's series must go. Also the
// probes, and that every log line of the run is one JSON object with the standard fields.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "tests/operator/exposition.h"
#include "tests/operator/operator_process.h"
#include "tests/support/http_get.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::kubectl;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::Exposition;
using testkit::Labels;
using testkit::parse_exposition;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

using testkit::OperatorProcess;

// The ports of an operator started with both servers on 127.0.0.1:0 (the kernel picks free
// ones; the operator logs them).
void read_ports(OperatorProcess& lagpilot, int& metrics_port, int& probe_port) {
  const std::optional<int> metrics = lagpilot.announced_port("metrics");
  const std::optional<int> probes = lagpilot.announced_port("health probes");
  ASSERT_TRUE(metrics && probes) << lagpilot.log();
  metrics_port = *metrics;
  probe_port = *probes;
}

using HttpResponse = testkit::HttpAnswer;

// One HTTP/1.0 GET on 127.0.0.1 (no keep-alive, no chunking), with a 5 s timeout.
HttpResponse http_get(int port, const std::string& path) {
  return testkit::loopback_get(port, path);
}

// ---- The scenario ----

// Lag 100 + 200 + 300 + 400 = 1,000 over 4 partitions: ceil(1,000 / 500) = 2 replicas. One alert
// fires at once (forSeconds 0), one never does; the SLO is always met.
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
  alerts:
  - name: HighConsumerLag
    metric: consumerLag
    op: ">"
    threshold: 100
    forSeconds: 0
    severity: high
  - name: HugeConsumerLag
    metric: consumerLag
    op: ">"
    threshold: 1000000
    forSeconds: 0
    severity: critical
  slos:
  - name: freshness
    metric: consumerLag
    goodWhen: {op: "<=", threshold: 1000000}
    objectivePercent: 99
)";
}

Json read_monitor(const std::string& ns) {
  auto out = kubectl("get qm orders -n " + ns + " -o json");
  if (out.exit_code != 0) return Json::object();
  auto parsed = Json::parse(out.output, nullptr, false);
  return parsed.is_object() ? parsed : Json::object();
}

double health_number(const std::string& health) {
  if (health == "Healthy") return 0;
  if (health == "Degraded") return 1;
  if (health == "Unhealthy") return 2;
  return 3;
}

// Compares one scrape with the status read right before it; empty when they agree. Values that
// keep moving between polls (lag seconds grows with the oldest message's age) get a tolerance.
std::vector<std::string> mismatches(const Exposition& scraped, const Json& status,
                                    const Labels& monitor) {
  std::vector<std::string> found;
  auto with = [&](const Labels& extra) {
    Labels all = monitor;
    all.insert(extra.begin(), extra.end());
    return all;
  };
  auto expect = [&](const std::string& name, const Labels& labels, std::optional<double> want,
                    double tolerance = 1e-9) {
    auto got = scraped.value(name, labels);
    if (!want && !got) return;
    if (!want || !got || std::fabs(*want - *got) > tolerance) {
      found.push_back(name + ": scraped " + (got ? std::to_string(*got) : "absent") + ", status " +
                      (want ? std::to_string(*want) : "absent"));
    }
  };
  auto number = [&](const Json& object, const char* field) -> std::optional<double> {
    if (!object.is_object() || !object.contains(field) || !object[field].is_number())
      return std::nullopt;
    return object[field].get<double>();
  };
  const Json metrics = status.value("metrics", Json::object());
  expect("lagpilot_queue_consumer_lag_messages", monitor, number(metrics, "consumerLag"));
  expect("lagpilot_queue_depth_messages", monitor, number(metrics, "queueDepth"));
  expect("lagpilot_queue_partitions", monitor, number(metrics, "partitions"));
  expect("lagpilot_queue_consumers", monitor, number(metrics, "consumers"));
  expect("lagpilot_queue_lag_seconds", monitor, number(metrics, "lagSeconds"), 5.0);
  const Json replicas = status.value("replicas", Json::object());
  expect("lagpilot_replicas_current", monitor, number(replicas, "current"));
  expect("lagpilot_replicas_desired", monitor, number(replicas, "desired"));
  expect("lagpilot_health_status", monitor, health_number(status.value("health", "")));

  std::map<std::string, double> firing = {
      {"critical", 0}, {"high", 0}, {"medium", 0}, {"low", 0}, {"info", 0}};
  for (const auto& alert : status.value("alerts", Json::array())) {
    if (alert.value("state", "") == "firing") ++firing[alert.value("severity", "")];
  }
  for (const auto& [severity, count] : firing) {
    // A severity that never fired for the monitor has no series.
    if (count == 0 && !scraped.value("lagpilot_alerts_firing", with({{"severity", severity}})))
      continue;
    expect("lagpilot_alerts_firing", with({{"severity", severity}}), count);
  }

  for (const auto& slo : status.value("slos", Json::array())) {
    std::string name = slo.value("name", "");
    auto percent = number(slo, "errorBudgetRemainingPercent");
    expect("lagpilot_slo_error_budget_remaining_ratio", with({{"slo", name}}),
           percent ? std::optional<double>(*percent / 100.0) : std::nullopt, 1e-6);
    const Json burn_rates = slo.value("burnRates", Json::object());
    for (const auto& [window, rate] : burn_rates.items()) {
      expect("lagpilot_slo_burn_rate", with({{"slo", name}, {"window", window}}),
             rate.get<double>(), 1e-6);
    }
    if (scraped.find("lagpilot_slo_burn_rate", with({{"slo", name}})).size() != burn_rates.size()) {
      found.push_back("lagpilot_slo_burn_rate: not one series per status.slos[].burnRates window");
    }
  }
  int ups = 0;
  for (const auto& entry : status.value("scalingHistory", Json::array())) {
    if (!entry.value("dryRun", false) && entry.value("to", 0) > entry.value("from", 0)) ++ups;
  }
  expect("lagpilot_scaling_actions_total", with({{"direction", "up"}}),
         ups ? std::optional<double>(ups) : std::nullopt);
  return found;
}

void install_crds() {
  auto crds = controlplane::kubectl_install_crds();
  ASSERT_EQ(crds.exit_code, 0) << crds.output;
}

TEST(MetricsScrape, MetricsMatchStatusAndGoWithTheMonitor) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  ASSERT_NO_FATAL_FAILURE(install_crds());
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "scrape");
  const Labels monitor = {{"namespace", ns.name()}, {"name", "orders"}, {"source", "kafka"}};

  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 4);
  auto now = std::chrono::system_clock::now();
  std::map<int32_t, int64_t> committed;
  for (int p = 0; p < 4; ++p) {
    kafka.produce("orders", p, 100 * (p + 1), now - seconds(60), milliseconds(10));
    committed[p] = 0;
  }
  kafka.commit("order-processor", "orders", committed);
  auto applied = kubectl("apply -n " + ns.name(),
                         controlplane::deployment_manifest("order-consumer", 1).dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  applied = kubectl("apply -n " + ns.name(), monitor_yaml(kafka.bootstrap_servers()));
  ASSERT_EQ(applied.exit_code, 0) << applied.output;

  std::string log_path = std::filesystem::temp_directory_path() /
                         ("lagpilot-scrape-" + std::to_string(::getpid()) + ".log");
  OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--metrics-status-interval", "1s", "--per-partition-metrics", "--log-format",
       "json", "--log-level", "debug"},
      log_path);
  int metrics_port = 0;
  int probe_port = 0;
  ASSERT_NO_FATAL_FAILURE(read_ports(lagpilot, metrics_port, probe_port));

  // Scaled to 2 and the alert firing, in the status and on /metrics.
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        Json object = read_monitor(ns.name());
        const Json status = object.value("status", Json::object());
        if (status.value("/replicas/current"_json_pointer, 0) != 2) return false;
        auto scraped = parse_exposition(http_get(metrics_port, "/metrics").body);
        return scraped.value("lagpilot_replicas_current", monitor) == 2.0 &&
               scraped.value("lagpilot_alerts_firing", {{"namespace", ns.name()},
                                                        {"name", "orders"},
                                                        {"source", "kafka"},
                                                        {"severity", "high"}}) == 1.0;
      },
      seconds(40), milliseconds(200)))
      << read_monitor(ns.name()).dump(2) << "\n"
      << http_get(metrics_port, "/metrics").body << "\n"
      << lagpilot.log();

  // The served text format: headers, then names, types and labels.
  HttpResponse response = http_get(metrics_port, "/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.headers["content-type"].rfind("text/plain", 0), 0u)
      << response.headers["content-type"];
  Exposition scraped = parse_exposition(response.body);
  ASSERT_TRUE(scraped.errors.empty()) << ::testing::PrintToString(scraped.errors);
  const std::map<std::string, std::string> families = {
      {"lagpilot_queue_consumer_lag_messages", "gauge"},
      {"lagpilot_queue_depth_messages", "gauge"},
      {"lagpilot_queue_lag_seconds", "gauge"},
      {"lagpilot_queue_partitions", "gauge"},
      {"lagpilot_replicas_current", "gauge"},
      {"lagpilot_replicas_desired", "gauge"},
      {"lagpilot_health_status", "gauge"},
      {"lagpilot_scaling_actions_total", "counter"},
      {"lagpilot_alerts_firing", "gauge"},
      {"lagpilot_slo_error_budget_remaining_ratio", "gauge"},
      {"lagpilot_slo_burn_rate", "gauge"},
      {"lagpilot_partition_consumer_lag_messages", "gauge"},
      {"lagpilot_reconcile_total", "counter"},
      {"lagpilot_reconcile_duration_seconds", "histogram"},
      {"lagpilot_workqueue_depth", "gauge"},
      {"lagpilot_workqueue_adds_total", "counter"},
      {"lagpilot_workqueue_wait_seconds", "histogram"},
      {"lagpilot_kube_requests_total", "counter"},
      {"lagpilot_kube_request_duration_seconds", "histogram"},
      {"lagpilot_source_polls_total", "counter"},
      {"lagpilot_source_poll_duration_seconds", "histogram"},
      {"lagpilot_leader", "gauge"},
      {"lagpilot_build_info", "gauge"},
  };
  for (const auto& [name, type] : families) EXPECT_EQ(scraped.types[name], type) << name;
  // lagpilot's names, and the three prometheus-cpp's HTTP exposer adds about /metrics itself.
  const std::set<std::string> kExposer = {
      "exposer_scrapes_total", "exposer_transferred_bytes_total", "exposer_request_latencies"};
  for (const auto& [name, type] : scraped.types) {
    EXPECT_TRUE(name.rfind("lagpilot_", 0) == 0 || kExposer.count(name)) << name;
    bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, type == "counter") << name;
  }
  // Per-monitor gauges carry exactly namespace, name and source.
  for (const char* name : {"lagpilot_queue_consumer_lag_messages", "lagpilot_replicas_current",
                           "lagpilot_health_status"}) {
    ASSERT_EQ(scraped.find(name).size(), 1u) << name;
    EXPECT_EQ(scraped.find(name)[0].labels, monitor) << name;
  }
  // The mock cluster cannot describe groups: consumers unknown, so absent (never 0).
  EXPECT_TRUE(scraped.find("lagpilot_queue_consumers").empty());
  // Per partition (--per-partition-metrics): 100, 200, 300, 400, summing to the monitor's lag.
  double partition_sum = 0;
  for (int p = 0; p < 4; ++p) {
    Labels labels = monitor;
    labels["partition"] = std::to_string(p);
    auto lag = scraped.value("lagpilot_partition_consumer_lag_messages", labels);
    ASSERT_TRUE(lag.has_value()) << p;
    EXPECT_EQ(*lag, 100.0 * (p + 1)) << p;
    partition_sum += *lag;
  }
  EXPECT_EQ(scraped.value("lagpilot_queue_consumer_lag_messages", monitor), partition_sum);
  // The operator's own series.
  EXPECT_EQ(scraped.value("lagpilot_leader", {}), 1.0);
  EXPECT_EQ(scraped.find("lagpilot_build_info").size(), 1u);
  EXPECT_GT(scraped.value("lagpilot_reconcile_total", {{"result", "requeue"}}).value_or(0), 0);
  EXPECT_GT(scraped.value("lagpilot_workqueue_adds_total", {}).value_or(0), 0);
  ASSERT_TRUE(scraped.value("lagpilot_workqueue_depth", {}).has_value());
  EXPECT_GE(*scraped.value("lagpilot_workqueue_depth", {}), 0);
  EXPECT_GT(scraped.value("lagpilot_source_polls_total", {{"source", "kafka"}, {"result", "ok"}})
                .value_or(0),
            0);
  EXPECT_FALSE(scraped.find("lagpilot_kube_requests_total", {{"verb", "PATCH"}}).empty());

  // The values are the ones in .status. Status and scrape are two reads a poll may fall between,
  // so they are compared until one pair agrees (the values stand still: nothing is produced).
  std::vector<std::string> differences;
  Json status;
  bool agreed = controlplane::eventually(
      [&] {
        status = read_monitor(ns.name()).value("status", Json::object());
        differences =
            mismatches(parse_exposition(http_get(metrics_port, "/metrics").body), status, monitor);
        return differences.empty();
      },
      seconds(20), milliseconds(200));
  EXPECT_TRUE(agreed) << ::testing::PrintToString(differences) << "\n" << status.dump(2);
  EXPECT_EQ(status.value("/metrics/consumerLag"_json_pointer, -1), 1000);
  EXPECT_EQ(status.value("/replicas/desired"_json_pointer, -1), 2);
  ASSERT_EQ(status.value("slos", Json::array()).size(), 1u) << status.dump(2);

  // Probes.
  HttpResponse healthz = http_get(probe_port, "/healthz");
  EXPECT_EQ(healthz.status, 200) << healthz.body;
  EXPECT_EQ(healthz.body, "ok\n");
  HttpResponse readyz = http_get(probe_port, "/readyz");
  EXPECT_EQ(readyz.status, 200) << readyz.body;

  // Deleting the QueueMonitor removes every one of its series; the operator's own stay.
  auto deleted = kubectl("delete qm orders -n " + ns.name() + " --wait=true");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
  Exposition after;
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        after = parse_exposition(http_get(metrics_port, "/metrics").body);
        return !after.samples.empty() && after.of_monitor(ns.name(), "orders").empty();
      },
      seconds(20), milliseconds(100)))
      << "still there: "
      << (after.of_monitor(ns.name(), "orders").empty()
              ? std::string("(no scrape)")
              : after.of_monitor(ns.name(), "orders").front().name)
      << "\n"
      << lagpilot.log();
  EXPECT_TRUE(after.errors.empty());
  EXPECT_EQ(after.value("lagpilot_leader", {}), 1.0);
  EXPECT_FALSE(after.find("lagpilot_reconcile_total").empty());
  EXPECT_EQ(http_get(probe_port, "/healthz").status, 200);

  ASSERT_TRUE(lagpilot.running()) << lagpilot.log();
  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0) << lagpilot.log();

  // Every line is one JSON object with ts, level, msg and logger; reconcile lines name the
  // monitor and the reconcile.
  std::istringstream lines(lagpilot.log());
  std::string line;
  int count = 0, reconcile_lines = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    ++count;
    auto parsed = Json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(parsed.is_object()) << line;
    for (const char* field : {"ts", "level", "msg", "logger"}) {
      EXPECT_TRUE(parsed.contains(field) && parsed[field].is_string()) << field << ": " << line;
    }
    EXPECT_EQ(parsed.value("logger", ""), "lagpilot") << line;
    std::string ts = parsed.value("ts", "");
    EXPECT_TRUE(ts.size() == 24 && ts[10] == 'T' && ts.back() == 'Z') << line;
    static const std::set<std::string> kLevels = {"trace",   "debug", "info",
                                                  "warning", "error", "critical"};
    EXPECT_TRUE(kLevels.count(parsed.value("level", ""))) << line;
    bool has_monitor = parsed.contains("monitor");
    bool has_reconcile = parsed.contains("reconcile_id");
    if (has_reconcile) {
      EXPECT_TRUE(has_monitor) << line;
      std::string id = parsed.value("reconcile_id", "");
      EXPECT_TRUE(!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) << line;
    }
    if (has_monitor && parsed.value("monitor", "") == ns.name() + "/orders") {
      EXPECT_TRUE(has_reconcile) << line;
      if (has_reconcile) ++reconcile_lines;
    }
  }
  EXPECT_GT(count, 0);
  EXPECT_GE(reconcile_lines, 2) << "expected the scale and alert lines for " << ns.name()
                                << "/orders";
  std::filesystem::remove(log_path);
}

// With leader election: the leader reports lagpilot_leader 1, and /healthz stays 200 over several
// stall limits (1 s here), so the watchdog's rounds and the election loop keep turning.
TEST(MetricsScrape, LeaderIsReportedAndStaysHealthy) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  ASSERT_NO_FATAL_FAILURE(install_crds());
  controlplane::TestNamespace ns(ControlPlaneEnvironment::admin_client(), "scrape-le");
  std::string log_path = std::filesystem::temp_directory_path() /
                         ("lagpilot-scrape-le-" + std::to_string(::getpid()) + ".log");
  OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--leader-elect", "--leader-election-namespace", ns.name(), "--retry-period",
       "1s", "--health-stall-timeout", "1s", "--log-format", "json"},
      log_path);
  int metrics_port = 0;
  int probe_port = 0;
  ASSERT_NO_FATAL_FAILURE(read_ports(lagpilot, metrics_port, probe_port));
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        return parse_exposition(http_get(metrics_port, "/metrics").body)
                   .value("lagpilot_leader", {}) == 1.0;
      },
      seconds(30), milliseconds(100)))
      << lagpilot.log();
  EXPECT_EQ(http_get(probe_port, "/readyz").status, 200);
  auto until = std::chrono::steady_clock::now() + seconds(4);
  int answers = 0;
  while (std::chrono::steady_clock::now() < until) {
    HttpResponse healthz = http_get(probe_port, "/healthz");
    ASSERT_EQ(healthz.status, 200) << healthz.body << "\n" << lagpilot.log();
    ++answers;
    std::this_thread::sleep_for(milliseconds(100));  // sampling the probe, not waiting for state
  }
  EXPECT_GT(answers, 10);
  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0) << lagpilot.log();
  EXPECT_NE(lagpilot.log().find("leader-election lease released"), std::string::npos)
      << lagpilot.log();
  EXPECT_EQ(lagpilot.log().find("healthz failing"), std::string::npos) << lagpilot.log();
  std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
