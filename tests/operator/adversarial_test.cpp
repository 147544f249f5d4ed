// Adversarial QueueMonitors against the real kube-apiserver and the `lagpilot run` process: wrong
// types and out-of-range numbers, cross-field contradictions, targets of the wrong kind, addresses
// that are not what they claim to be, a spec at the schema's size limits and 1,000 rapid spec
// updates to one monitor. Everything is sent as JSON through the API server (no kubectl client
// validation). What the CRD schema rejects, the API server's answer names the field; what it lets
// through, the operator reports as a condition naming the field (or the address it could not
// read). Meanwhile the operator stays up and a healthy monitor alongside keeps its 1 s poll
// schedule, observed through its status.metrics.lastPollTime: the test moves that monitor's backlog
// all the time (a status with nothing but a new lastPollTime is never written) and runs the
// operator with --metrics-status-interval 1s, so each poll (at most one a second) is written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/client.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "util/clock.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::eventually;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

Json queue_monitor(const std::string& name, const Json& spec) {
  return {{"apiVersion", "lagpilot.io/v1alpha1"},
          {"kind", "QueueMonitor"},
          {"metadata", {{"name", name}}},
          {"spec", spec}};
}

// A valid spec: the mock cluster's topic, the consumer Deployment, a 1 s poll.
Json valid_spec(const std::string& bootstrap, const std::string& topic = "orders") {
  return {{"source",
           {{"kafka",
             {{"bootstrapServers", bootstrap},
              {"topic", topic},
              {"consumerGroup", "order-processor"}}}}},
          {"pollIntervalSeconds", 1},
          {"target", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "consumer"}}},
          {"scaling",
           {{"policy", "lagPerReplica"},
            {"targetLagPerReplica", 500},
            {"minReplicas", 1},
            {"maxReplicas", 4}}}};
}

Json with(Json spec, const std::string& pointer, Json value) {
  spec[Json::json_pointer(pointer)] = std::move(value);
  return spec;
}

// One bad QueueMonitor and what its rejection or condition must name.
struct BadCase {
  std::string name;
  Json spec;
  std::string names;  // a field path ("spec.scaling.maxReplicas") or an address
};

// Moves the healthy monitor's backlog every 100 ms: one record to `topic` [0], and every 50th time
// the group commits all of them. Its lag is then a saw tooth between 0 and 49 (one replica at 500
// per replica): polls a second apart never see the same lag, so each one changes the status.
class BacklogTicker {
 public:
  BacklogTicker(testkit::KafkaMockCluster& kafka, std::string topic, std::string group)
      : kafka_(kafka),
        topic_(std::move(topic)),
        group_(std::move(group)),
        thread_([this] { run(); }) {}
  ~BacklogTicker() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    for (int tick = 1; !stopping_; ++tick) {
      const std::int64_t offset = kafka_.produce(topic_, 0, {std::chrono::system_clock::now()});
      if (tick % 50 == 0) kafka_.commit(group_, topic_, {{0, offset + 1}});
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  testkit::KafkaMockCluster& kafka_;
  std::string topic_;
  std::string group_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The healthy monitor's status.metrics.lastPollTime, read every 100 ms in the background: the
// longest gap between consecutive polls it recorded.
class PollScheduleWatch {
 public:
  PollScheduleWatch(kube::KubeClient& client, std::string ns, std::string name)
      : client_(client), ns_(std::move(ns)), name_(std::move(name)), thread_([this] { run(); }) {}
  ~PollScheduleWatch() { stop(); }

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  seconds longest_gap() const {
    std::lock_guard lock(mutex_);
    return longest_gap_;
  }
  int polls() const {
    std::lock_guard lock(mutex_);
    return polls_;
  }
  std::optional<WallTime> last_poll() const {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  void run() {
    while (!stopping_) {
      auto object = client_.get(kube::resources::kQueueMonitors, ns_, name_);
      if (object) {
        auto text = object->value("/status/metrics/lastPollTime"_json_pointer, std::string());
        if (auto at = parse_rfc3339(text)) {
          std::lock_guard lock(mutex_);
          if (last_ && *at > *last_) {
            longest_gap_ =
                std::max(longest_gap_, std::chrono::duration_cast<seconds>(*at - *last_));
            ++polls_;
          }
          if (!last_ || *at > *last_) last_ = *at;
        }
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  kube::KubeClient& client_;
  std::string ns_;
  std::string name_;
  mutable std::mutex mutex_;
  std::optional<WallTime> last_;
  seconds longest_gap_{0};
  int polls_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

std::string api_error_text(const kube::ApiError& error) {
  std::string text = error.message;
  for (const auto& cause : error.causes) text += "\n" + cause;
  return text;
}

// The conditions of QueueMonitor `name` that are not True, as "Type/Reason: message" lines.
std::string failing_conditions(const std::string& ns, const std::string& name) {
  auto object =
      ControlPlaneEnvironment::admin_client().get(kube::resources::kQueueMonitors, ns, name);
  if (!object) return "";
  std::string lines;
  for (const Json& condition : object->value("/status/conditions"_json_pointer, Json::array())) {
    if (condition.value("status", "") == "True") continue;
    lines += condition.value("type", "") + "/" + condition.value("reason", "") + ": " +
             condition.value("message", "") + "\n";
  }
  return lines;
}

// The Ready condition of QueueMonitor `name`; an empty object when it has none.
Json ready_condition(const std::string& ns, const std::string& name) {
  auto object =
      ControlPlaneEnvironment::admin_client().get(kube::resources::kQueueMonitors, ns, name);
  if (!object) return Json::object();
  for (const Json& condition : object->value("/status/conditions"_json_pointer, Json::array())) {
    if (condition.value("type", "") == "Ready") return condition;
  }
  return Json::object();
}

TEST(Adversarial, BadResourcesAreNamedAndTheOthersKeepTheirSchedule) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto crds = controlplane::kubectl_install_crds();
  ASSERT_EQ(crds.exit_code, 0) << crds.output;
  kube::KubeClient& client = ControlPlaneEnvironment::admin_client();
  controlplane::TestNamespace ns(client, "adversarial");
  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 4);
  kafka.create_topic("quiet", 1);  // the other valid monitors' topic: no backlog, no status writes
  const std::string bootstrap = kafka.bootstrap_servers();
  BacklogTicker backlog(kafka, "orders", "order-processor");

  ASSERT_TRUE(client.create(kube::resources::kDeployments, ns.name(),
                            controlplane::deployment_manifest("consumer", 1)));
  ASSERT_TRUE(client.create(kube::resources::kConfigMaps, ns.name(),
                            {{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata", {{"name", "not-scalable"}}},
                             {"data", {{"a", "b"}}}}));
  ASSERT_TRUE(client.create(kube::resources::kQueueMonitors, ns.name(),
                            queue_monitor("healthy", valid_spec(bootstrap))));

  const std::string log_path = std::filesystem::temp_directory_path() /
                               ("lagpilot-adversarial-" + std::to_string(::getpid()) + ".log");
  testkit::OperatorProcess lagpilot(
      {"run", "--kubeconfig", ControlPlaneEnvironment::plane()->kubeconfig_path(), "--namespaces",
       ns.name(), "--metrics-bind-address", "127.0.0.1:0", "--health-probe-bind-address",
       "127.0.0.1:0", "--metrics-status-interval", "1s", "--log-level", "info"},
      log_path);
  const std::optional<int> metrics_port = lagpilot.announced_port("metrics");
  ASSERT_TRUE(metrics_port) << lagpilot.log_tail();
  PollScheduleWatch schedule(client, ns.name(), "healthy");
  ASSERT_TRUE(eventually([&] { return schedule.polls() >= 2; }, seconds(30)))
      << lagpilot.log_tail();

  // The kube-apiserver's host:port: an HTTPS server, not a Kafka broker. The operator's metrics
  // endpoint: an HTTP server, not Prometheus.
  const std::string apiserver = ControlPlaneEnvironment::plane()->server();
  const std::string not_kafka = apiserver.substr(apiserver.find("//") + 2);
  const std::string not_prometheus = "http://127.0.0.1:" + std::to_string(*metrics_port);
  const Json base = valid_spec(bootstrap, "quiet");
  const Json prometheus_source = {
      {"prometheus", {{"serverUrl", "http://127.0.0.1:9"}, {"depthQuery", "sum(queue_depth)"}}}};
  Json fifty_one_alerts = Json::array();
  for (int i = 0; i < 51; ++i) {
    fifty_one_alerts.push_back({{"name", "A" + std::to_string(i)},
                                {"metric", "consumerLag"},
                                {"op", ">"},
                                {"threshold", i}});
  }
  const auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return static_cast<long long>(
        std::chrono::duration_cast<seconds>(std::chrono::steady_clock::now() - started).count());
  };
  const std::vector<BadCase> cases = {
      // Wrong types and out-of-range numbers.
      {"type-poll", with(base, "/pollIntervalSeconds", "ten"), "spec.pollIntervalSeconds"},
      {"type-scaling", with(base, "/scaling", "fast"), "spec.scaling"},
      {"type-target", with(base, "/target/name", Json::array({"a"})), "spec.target.name"},
      {"float-replicas", with(base, "/scaling/minReplicas", 2.5), "spec.scaling.minReplicas"},
      {"huge-replicas", with(base, "/scaling/minReplicas", 1e40), "spec.scaling.minReplicas"},
      {"negative-replicas", with(base, "/scaling/maxReplicas", -3), "spec.scaling.maxReplicas"},
      {"range-poll", with(base, "/pollIntervalSeconds", 86400), "spec.pollIntervalSeconds"},
      {"above-int64",
       with(base, "/scaling/targetLagPerReplica", Json::parse("9223372036854775808")),
       "spec.scaling.targetLagPerReplica"},
      {"range-tolerance", with(base, "/scaling/tolerance", 1.5), "spec.scaling.tolerance"},
      {"range-max", with(base, "/scaling/maxReplicas", 5000000), "spec.scaling.maxReplicas"},
      {"range-cooldown", with(base, "/scaling/cooldownSeconds", 100000),
       "spec.scaling.cooldownSeconds"},
      {"enum-policy", with(base, "/scaling/policy", "fastest"), "spec.scaling.policy"},
      // Cross-field contradictions.
      {"min-above-max", with(with(base, "/scaling/minReplicas", 9), "/scaling/maxReplicas", 2),
       "spec.scaling.maxReplicas"},
      {"depth-latency-without-latency", with(base, "/scaling/policy", "depthLatency"),
       "spec.latency"},
      {"two-sources", with(base, "/source/prometheus", prometheus_source["prometheus"]),
       "spec.source"},
      {"unknown-alert-metric",
       with(base, "/alerts",
            {{{"name", "Lagg"}, {"metric", "lagg"}, {"op", ">"}, {"threshold", 1}}}),
       "spec.alerts[0].metric"},
      // Targets of the wrong kind.
      {"target-configmap",
       with(base, "/target",
            {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "not-scalable"}}),
       "spec.target"},
      {"target-unserved",
       with(base, "/target",
            {{"apiVersion", "widgets.example.com/v1"}, {"kind", "Widget"}, {"name", "w"}}),
       "spec.target"},
      {"target-kind-pattern", with(base, "/target/kind", "deployment; drop"), "spec.target.kind"},
      // Addresses that are not what they claim to be.
      {"bootstrap-is-apiserver", with(base, "/source/kafka/bootstrapServers", not_kafka),
       not_kafka},
      {"bootstrap-is-url", with(base, "/source/kafka/bootstrapServers", "http://" + not_kafka),
       "spec.source.kafka.bootstrapServers[0]: \"http://" + not_kafka + "\" must be host:port"},
      {"bootstrap-port-range",
       with(base, "/source/kafka/bootstrapServers", bootstrap + ",127.0.0.1:65536"),
       "spec.source.kafka.bootstrapServers[" +
           std::to_string(std::count(bootstrap.begin(), bootstrap.end(), ',') + 1) +
           "]: port must be 1-65535"},
      {"bootstrap-bare-ipv6", with(base, "/source/kafka/bootstrapServers", "::1:9092"),
       "spec.source.kafka.bootstrapServers[0]: \"::1:9092\": an IPv6 address must be in brackets"},
      {"topic-dots", with(base, "/source/kafka/topic", ".."), "spec.source.kafka.topic"},
      {"prometheus-credentials",
       with(with(base, "/source", prometheus_source), "/source/prometheus/serverUrl",
            "http://user:secret@127.0.0.1:9090"),
       "spec.source.prometheus.serverUrl"},
      {"prometheus-ftp",
       with(with(base, "/source", prometheus_source), "/source/prometheus/serverUrl",
            "ftp://127.0.0.1:9090"),
       "spec.source.prometheus.serverUrl"},
      {"prometheus-is-metrics-endpoint",
       with(with(base, "/source", prometheus_source), "/source/prometheus/serverUrl",
            not_prometheus),
       not_prometheus},
      // Past the schema's size limits.
      {"long-target-name", with(base, "/target/name", std::string(254, 'a')), "spec.target.name"},
      {"fifty-one-alerts", with(base, "/alerts", fifty_one_alerts), "spec.alerts"},
      {"long-bootstrap", with(base, "/source/kafka/bootstrapServers", std::string(2049, 'k')),
       "spec.source.kafka.bootstrapServers"},
  };

  std::vector<const BadCase*> admitted;
  for (const BadCase& bad : cases) {
    auto created = client.create(kube::resources::kQueueMonitors, ns.name(),
                                 queue_monitor(bad.name, bad.spec));
    if (!created) {
      EXPECT_EQ(created.error().http_status, 422) << bad.name << ": " << created.error().message;
      EXPECT_NE(api_error_text(created.error()).find(bad.names), std::string::npos)
          << bad.name << ": the API server's rejection does not name " << bad.names << ":\n"
          << api_error_text(created.error());
      std::printf("%-32s rejected by the API server: %s\n", bad.name.c_str(),
                  created.error().message.substr(0, 160).c_str());
    } else {
      admitted.push_back(&bad);
    }
  }
  for (const BadCase* bad : admitted) {
    std::string conditions;
    EXPECT_TRUE(eventually(
        [&] {
          conditions = failing_conditions(ns.name(), bad->name);
          return conditions.find(bad->names) != std::string::npos;
        },
        seconds(60), milliseconds(200)))
        << bad->name << ": no condition names " << bad->names << "; conditions:\n"
        << conditions;
    const auto at = conditions.find(bad->names);
    const auto line_start = at == std::string::npos ? 0 : conditions.rfind('\n', at) + 1;
    std::printf("%-32s admitted; its condition: %s\n", bad->name.c_str(),
                conditions.substr(line_start, conditions.find('\n', line_start) - line_start)
                    .substr(0, 200)
                    .c_str());
  }

  std::printf("%zu bad cases named after %lld s (from the healthy monitor's second poll)\n",
              cases.size(), elapsed());
  // At the schema's size limits: 50 alerts with 1,024-character summaries, 10 SLOs, the longest
  // names. Admitted, and polled like any other.
  Json at_limits = base;
  at_limits["target"]["name"] = "consumer";
  for (int i = 0; i < 50; ++i) {
    std::string summary = "{{ .value }} {{ .queue }} ";
    summary += std::string(1024 - summary.size(), 'x');
    at_limits["alerts"].push_back(
        {{"name", "A" + std::string(60, 'a') + std::to_string(i % 10) + std::to_string(i / 10)},
         {"metric", "consumerLag"},
         {"op", ">"},
         {"threshold", i},
         {"summary", summary}});
  }
  for (int i = 0; i < 10; ++i) {
    at_limits["slos"].push_back({{"name", "S" + std::string(61, 's') + std::to_string(i)},
                                 {"metric", "lagSeconds"},
                                 {"goodWhen", {{"op", "<="}, {"threshold", 30 + i}}},
                                 {"objectivePercent", 99},
                                 {"windowDays", 90}});
  }
  auto limits = client.create(kube::resources::kQueueMonitors, ns.name(),
                              queue_monitor("at-limits", at_limits));
  ASSERT_TRUE(limits) << api_error_text(limits.error());
  EXPECT_TRUE(eventually(
      [&] {
        auto object = client.get(kube::resources::kQueueMonitors, ns.name(), "at-limits");
        return object && object->contains("status") &&
               !object->value("/status/metrics/lastPollTime"_json_pointer, std::string()).empty();
      },
      seconds(60)))
      << failing_conditions(ns.name(), "at-limits") << lagpilot.log_tail();
  EXPECT_EQ(failing_conditions(ns.name(), "at-limits").find("InvalidSpec"), std::string::npos)
      << failing_conditions(ns.name(), "at-limits");

  std::printf("at-limits polled after %lld s\n", elapsed());
  // 1,000 rapid spec updates to one monitor, four at a time, each to a new maxReplicas (5 and up,
  // never the created 4, so each is a new generation): it ends Ready on the last generation.
  ASSERT_TRUE(
      client.create(kube::resources::kQueueMonitors, ns.name(), queue_monitor("churn", base)));
  std::mutex updates_mutex;
  std::int64_t generation = 0;
  std::vector<std::string> update_errors;
  {
    constexpr int kUpdates = 1000;
    constexpr int kWriters = 4;
    std::vector<std::jthread> writers;
    for (int writer = 0; writer < kWriters; ++writer) {
      writers.emplace_back([&, writer] {
        for (int i = writer; i < kUpdates; i += kWriters) {
          auto patched = client.patch(kube::resources::kQueueMonitors, ns.name(), "churn",
                                      kube::PatchType::kMerge,
                                      {{"spec", {{"scaling", {{"maxReplicas", 5 + i}}}}}});
          std::lock_guard lock(updates_mutex);
          if (!patched) {
            update_errors.push_back("update " + std::to_string(i) + ": " + patched.error().message);
          } else {
            generation = std::max(
                generation, patched->value("/metadata/generation"_json_pointer, std::int64_t{0}));
          }
        }
      });
    }
  }
  EXPECT_TRUE(update_errors.empty()) << update_errors.size() << " failed, the first "
                                     << (update_errors.empty() ? "" : update_errors.front());
  EXPECT_EQ(generation, 1001);
  std::printf("churn: 1,000 updates in %lld s\n", elapsed());
  EXPECT_TRUE(eventually(
      [&] {
        const Json ready = ready_condition(ns.name(), "churn");
        return ready.value("status", "") == "True" &&
               ready.value("observedGeneration", std::int64_t{0}) == generation;
      },
      seconds(60)))
      << failing_conditions(ns.name(), "churn") << lagpilot.log_tail();

  std::printf("churn Ready on generation %lld after %lld s\n", static_cast<long long>(generation),
              elapsed());
  // Through all of it: the operator is up and the healthy monitor kept its 1 s schedule.
  const auto polled_before = schedule.polls();
  EXPECT_TRUE(eventually([&] { return schedule.polls() >= polled_before + 2; }, seconds(20)));
  schedule.stop();
  EXPECT_TRUE(lagpilot.running()) << lagpilot.log_tail();
  // At most 10 poll intervals between two polls: a quiet machine shows 2-3 s, one with its 2 cores
  // shared by ~20 busy processes up to 8 s; an operator held up by the bad monitors or the churn
  // would show a gap as long as they last (minutes).
  EXPECT_LE(schedule.longest_gap(), seconds(10))
      << "the healthy monitor went " << schedule.longest_gap().count() << " s without a poll";
  EXPECT_EQ(ready_condition(ns.name(), "healthy").value("status", ""), "True")
      << failing_conditions(ns.name(), "healthy");
  std::printf("healthy monitor: %d polls observed, longest gap %lld s\n", schedule.polls(),
              static_cast<long long>(schedule.longest_gap().count()));
  EXPECT_EQ(lagpilot.terminate(seconds(10)), 0) << lagpilot.log_tail();
  std::filesystem::remove(log_path);
}

}  // namespace
}  // namespace lagpilot
