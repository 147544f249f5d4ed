// The operator's Prometheus metrics as a scraper sees them: OperatorMetrics and MetricsObserver on
// an injected registry, serialized with the text format /metrics serves and parsed back. Also the
// liveness machinery behind /healthz (Watchdog, the work-queue check, the probe server).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controllers/queuemonitor_controller.h"
#include "controlplane/test_support.h"
#include "kube/work_queue.h"
#include "metrics/operator_metrics.h"
#include "operator/metrics_observer.h"
#include "operator/options.h"
#include "operator/probe_server.h"
#include "tests/operator/exposition.h"
#include "tests/support/http_get.h"

namespace lagpilot::operator_main {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::Exposition;
using testkit::Labels;
using testkit::parse_exposition;

Exposition scrape(prometheus::Registry& registry) {
  return parse_exposition(prometheus::TextSerializer().Serialize(registry.Collect()));
}

// ---- A realistic report ----

controllers::MonitorReport orders_report() {
  controllers::MonitorReport report;
  report.ns = "shop";
  report.name = "orders";
  report.source_kind = "kafka";
  report.source_ok = true;
  QueueSnapshot snapshot;
  snapshot.consumer_lag = 1200;
  snapshot.queue_depth = 1200;
  snapshot.lag_seconds = 42.5;
  snapshot.partitions = 4;
  snapshot.consumers = 3;
  snapshot.ingress_rate = 10.5;
  snapshot.egress_rate = 8.25;
  for (int p = 0; p < 4; ++p) {
    PartitionLag lag;
    lag.partition = p;
    lag.high_watermark = 1000 + p;
    lag.committed_offset = 1000 + p - 300;
    lag.lag = 300;
    snapshot.partition_lags.push_back(lag);
  }
  report.snapshot = snapshot;
  report.current_replicas = 2;
  report.desired_replicas = 5;
  report.scaled = true;
  report.scaled_from = 2;
  report.scaled_to = 5;
  report.health = "Degraded";
  report.latency_seconds = 0.25;
  report.alerts_firing = {{"critical", 1}, {"high", 0}, {"medium", 2}, {"low", 0}, {"info", 0}};
  alerts::SloStatus freshness;
  freshness.name = "freshness";
  freshness.budget_remaining_percent = 75;
  freshness.burn_rates = {{"5m", 4.0}, {"1h", 2.0}, {"6h", 0.5}};
  report.slos.push_back(freshness);
  return report;
}

const Labels kOrders = {{"namespace", "shop"}, {"name", "orders"}, {"source", "kafka"}};

Labels with(Labels labels, const Labels& extra) {
  labels.insert(extra.begin(), extra.end());
  return labels;
}

TEST(OperatorMetrics, MonitorReportBecomesTypedLabelledSeries) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3");
  MetricsObserver observer(metrics);
  observer.on_report(orders_report());
  auto exposition = scrape(*registry);
  ASSERT_TRUE(exposition.errors.empty()) << ::testing::PrintToString(exposition.errors);

  const std::map<std::string, double> gauges = {
      {"lagpilot_queue_consumer_lag_messages", 1200},
      {"lagpilot_queue_depth_messages", 1200},
      {"lagpilot_queue_lag_seconds", 42.5},
      {"lagpilot_queue_ingress_rate", 10.5},
      {"lagpilot_queue_egress_rate", 8.25},
      {"lagpilot_queue_consumers", 3},
      {"lagpilot_queue_partitions", 4},
      {"lagpilot_processing_latency_seconds", 0.25},
      {"lagpilot_replicas_current", 2},
      {"lagpilot_replicas_desired", 5},
      {"lagpilot_health_status", 1},  // Degraded
  };
  for (const auto& [name, value] : gauges) {
    EXPECT_EQ(exposition.types[name], "gauge") << name;
    EXPECT_FALSE(exposition.help[name].empty()) << name;
    ASSERT_EQ(exposition.find(name).size(), 1u) << name;
    EXPECT_EQ(exposition.find(name)[0].labels, kOrders) << name;
    EXPECT_EQ(exposition.value(name, kOrders), value) << name;
  }

  EXPECT_EQ(exposition.types["lagpilot_scaling_actions_total"], "counter");
  EXPECT_EQ(
      exposition.value("lagpilot_scaling_actions_total", with(kOrders, {{"direction", "up"}})), 1);
  EXPECT_TRUE(exposition.find("lagpilot_scaling_actions_total", {{"direction", "down"}}).empty());

  // Alerts firing by severity: the severities that have fired for the monitor (a severity that
  // never fired has no series).
  EXPECT_EQ(exposition.types["lagpilot_alerts_firing"], "gauge");
  EXPECT_EQ(exposition.find("lagpilot_alerts_firing").size(), 2u);
  EXPECT_EQ(exposition.value("lagpilot_alerts_firing", with(kOrders, {{"severity", "critical"}})),
            1);
  EXPECT_EQ(exposition.value("lagpilot_alerts_firing", with(kOrders, {{"severity", "medium"}})), 2);
  for (const char* never_fired : {"high", "low", "info"}) {
    EXPECT_FALSE(
        exposition.value("lagpilot_alerts_firing", with(kOrders, {{"severity", never_fired}})))
        << never_fired;
  }

  // SLOs: the budget as a ratio, burn rates by window.
  EXPECT_EQ(exposition.types["lagpilot_slo_error_budget_remaining_ratio"], "gauge");
  EXPECT_EQ(exposition.value("lagpilot_slo_error_budget_remaining_ratio",
                             with(kOrders, {{"slo", "freshness"}})),
            0.75);
  EXPECT_EQ(exposition.types["lagpilot_slo_burn_rate"], "gauge");
  EXPECT_EQ(exposition.find("lagpilot_slo_burn_rate").size(), 3u);
  for (const auto& [window, rate] :
       std::map<std::string, double>{{"5m", 4.0}, {"1h", 2.0}, {"6h", 0.5}}) {
    EXPECT_EQ(exposition.value("lagpilot_slo_burn_rate",
                               with(kOrders, {{"slo", "freshness"}, {"window", window}})),
              rate)
        << window;
  }

  // No per-partition series unless asked for: not even the family's TYPE line.
  EXPECT_FALSE(exposition.types.count("lagpilot_partition_consumer_lag_messages"));

  // A second report overwrites the gauges and counts a second scaling action.
  auto next = orders_report();
  next.snapshot->consumer_lag = 10;
  next.current_replicas = 5;
  next.scaled_from = 5;
  next.scaled_to = 3;
  next.health = "Healthy";
  next.alerts_firing["critical"] = 0;
  observer.on_report(next);
  exposition = scrape(*registry);
  EXPECT_EQ(exposition.value("lagpilot_queue_consumer_lag_messages", kOrders), 10);
  EXPECT_EQ(exposition.value("lagpilot_replicas_current", kOrders), 5);
  EXPECT_EQ(exposition.value("lagpilot_health_status", kOrders), 0);
  EXPECT_EQ(exposition.value("lagpilot_alerts_firing", with(kOrders, {{"severity", "critical"}})),
            0)
      << "resolved: 0, not gone";
  EXPECT_EQ(
      exposition.value("lagpilot_scaling_actions_total", with(kOrders, {{"direction", "up"}})), 1);
  EXPECT_EQ(
      exposition.value("lagpilot_scaling_actions_total", with(kOrders, {{"direction", "down"}})),
      1);
}

TEST(OperatorMetrics, HealthNamesMapToTheDocumentedNumbers) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3");
  MetricsObserver observer(metrics);
  for (const auto& [health, number] : std::map<std::string, double>{
           {"Healthy", 0}, {"Degraded", 1}, {"Unhealthy", 2}, {"Unknown", 3}, {"", 3}}) {
    auto report = orders_report();
    report.health = health;
    observer.on_report(report);
    EXPECT_EQ(scrape(*registry).value("lagpilot_health_status", kOrders), number) << health;
  }
}

TEST(OperatorMetrics, UnknownValuesAreAbsentNotZero) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3");
  MetricsObserver observer(metrics);
  auto report = orders_report();
  report.snapshot->lag_seconds.reset();
  report.snapshot->ingress_rate.reset();
  report.snapshot->egress_rate.reset();
  report.snapshot->consumers.reset();
  report.latency_seconds.reset();
  observer.on_report(report);
  auto exposition = scrape(*registry);
  for (const char* name :
       {"lagpilot_queue_lag_seconds", "lagpilot_queue_ingress_rate", "lagpilot_queue_egress_rate",
        "lagpilot_queue_consumers", "lagpilot_processing_latency_seconds"}) {
    EXPECT_TRUE(exposition.find(name).empty()) << name;
  }
  EXPECT_EQ(exposition.value("lagpilot_queue_consumer_lag_messages", kOrders), 1200);

  // A failed poll: no snapshot, so none of the queue's values are known any more.
  auto failed = orders_report();
  failed.snapshot.reset();
  failed.source_ok = false;
  observer.on_report(failed);
  exposition = scrape(*registry);
  for (const char* name :
       {"lagpilot_queue_consumer_lag_messages", "lagpilot_queue_depth_messages",
        "lagpilot_queue_lag_seconds", "lagpilot_queue_partitions", "lagpilot_queue_consumers"}) {
    EXPECT_TRUE(exposition.find(name).empty()) << name;
  }
  EXPECT_EQ(exposition.value("lagpilot_replicas_current", kOrders), 2);  // still known
}

TEST(OperatorMetrics, RemovedMonitorLosesEverySeriesAndOnlyItsOwn) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3", /*per_partition_metrics=*/true);
  MetricsObserver observer(metrics);
  observer.on_report(orders_report());
  auto payments = orders_report();
  payments.name = "payments";
  observer.on_report(payments);
  auto before = scrape(*registry);
  // 11 gauges, 2 severities that fired (of 5), 1 scaling counter, 1 SLO budget and 3 burn rates,
  // 4 partitions.
  EXPECT_EQ(before.of_monitor("shop", "orders").size(), 22u);
  EXPECT_EQ(before.of_monitor("shop", "payments").size(), 22u);

  observer.on_removed("shop", "orders");
  auto after = scrape(*registry);
  ASSERT_TRUE(after.errors.empty());
  EXPECT_TRUE(after.of_monitor("shop", "orders").empty())
      << after.of_monitor("shop", "orders")[0].name;
  EXPECT_EQ(after.of_monitor("shop", "payments").size(), 22u);
  EXPECT_EQ(after.value("lagpilot_build_info", {{"version", "1.2.3"}}), 1);

  // Removing twice, or a monitor never reported, is harmless; a new report brings it back.
  observer.on_removed("shop", "orders");
  observer.on_removed("shop", "never-seen");
  observer.on_report(orders_report());
  EXPECT_EQ(scrape(*registry).of_monitor("shop", "orders").size(), 22u);
  observer.on_removed("shop", "orders");
  observer.on_removed("shop", "payments");
  auto empty = scrape(*registry);
  EXPECT_TRUE(empty.of_monitor("shop", "orders").empty());
  EXPECT_TRUE(empty.of_monitor("shop", "payments").empty());
}

TEST(OperatorMetrics, PerPartitionLagFollowsThePartitions) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3", /*per_partition_metrics=*/true);
  MetricsObserver observer(metrics);
  auto report = orders_report();
  for (auto& partition : report.snapshot->partition_lags) partition.lag = 100 * partition.partition;
  observer.on_report(report);
  auto exposition = scrape(*registry);
  const std::string name = "lagpilot_partition_consumer_lag_messages";
  EXPECT_EQ(exposition.types[name], "gauge");
  ASSERT_EQ(exposition.find(name).size(), 4u);
  for (int p = 0; p < 4; ++p) {
    EXPECT_EQ(exposition.value(name, with(kOrders, {{"partition", std::to_string(p)}})), 100 * p);
  }

  // Partition 3 is gone (and 1 changed): its series goes.
  report.snapshot->partition_lags.pop_back();
  report.snapshot->partition_lags[1].lag = 7;
  observer.on_report(report);
  exposition = scrape(*registry);
  EXPECT_EQ(exposition.find(name).size(), 3u);
  EXPECT_EQ(exposition.value(name, with(kOrders, {{"partition", "1"}})), 7);
  EXPECT_FALSE(exposition.value(name, with(kOrders, {{"partition", "3"}})).has_value());

  // A failed poll: per-partition lag unknown, so absent.
  auto failed = report;
  failed.snapshot.reset();
  observer.on_report(failed);
  EXPECT_TRUE(scrape(*registry).find(name).empty());

  observer.on_report(report);
  EXPECT_EQ(scrape(*registry).find(name).size(), 3u);
  observer.on_removed("shop", "orders");
  EXPECT_TRUE(scrape(*registry).find(name).empty());
}

TEST(OperatorMetrics, OperatorSeries) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3");
  MetricsObserver observer(metrics);
  auto exposition = scrape(*registry);
  ASSERT_TRUE(exposition.errors.empty());
  EXPECT_EQ(exposition.types["lagpilot_build_info"], "gauge");
  EXPECT_EQ(exposition.value("lagpilot_build_info", {{"version", "1.2.3"}}), 1);
  EXPECT_EQ(exposition.value("lagpilot_leader", {}), 0);
  EXPECT_EQ(exposition.value("lagpilot_workqueue_depth", {}), 0);
  EXPECT_EQ(exposition.value("lagpilot_status_writes_pending", {}), 0);

  observer.on_reconcile("ok", 0.02);
  observer.on_reconcile("ok", 0.03);
  observer.on_reconcile("error", 2);
  observer.on_source_poll("kafka", true, "", 0.01);
  observer.on_source_poll("kafka", false, "Timeout", 5);
  metrics.workqueue_added();
  metrics.workqueue_added();
  metrics.workqueue_retried();
  metrics.workqueue_waited(0.004);
  metrics.set_workqueue_depth(3);
  metrics.set_status_writes_pending(7);
  metrics.kube_request("GET", 200, 0.002);
  metrics.kube_request("PATCH", 0, 15);
  metrics.set_leader(true);
  exposition = scrape(*registry);
  ASSERT_TRUE(exposition.errors.empty()) << ::testing::PrintToString(exposition.errors);

  EXPECT_EQ(exposition.types["lagpilot_reconcile_total"], "counter");
  EXPECT_EQ(exposition.value("lagpilot_reconcile_total", {{"result", "ok"}}), 2);
  EXPECT_EQ(exposition.value("lagpilot_reconcile_total", {{"result", "error"}}), 1);
  EXPECT_EQ(exposition.types["lagpilot_reconcile_duration_seconds"], "histogram");
  EXPECT_EQ(exposition.value("lagpilot_reconcile_duration_seconds_count", {}), 3);
  EXPECT_DOUBLE_EQ(*exposition.value("lagpilot_reconcile_duration_seconds_sum", {}), 2.05);
  EXPECT_EQ(exposition.value("lagpilot_reconcile_duration_seconds_bucket", {{"le", "0.025"}}), 1);
  EXPECT_EQ(exposition.value("lagpilot_reconcile_duration_seconds_bucket", {{"le", "+Inf"}}), 3);

  EXPECT_EQ(exposition.types["lagpilot_workqueue_adds_total"], "counter");
  EXPECT_EQ(exposition.value("lagpilot_workqueue_adds_total", {}), 2);
  EXPECT_EQ(exposition.value("lagpilot_workqueue_retries_total", {}), 1);
  EXPECT_EQ(exposition.types["lagpilot_workqueue_wait_seconds"], "histogram");
  EXPECT_EQ(exposition.value("lagpilot_workqueue_wait_seconds_count", {}), 1);
  EXPECT_EQ(exposition.types["lagpilot_workqueue_depth"], "gauge");
  EXPECT_EQ(exposition.value("lagpilot_workqueue_depth", {}), 3);
  EXPECT_EQ(exposition.types["lagpilot_status_writes_pending"], "gauge");
  EXPECT_EQ(exposition.value("lagpilot_status_writes_pending", {}), 7);

  EXPECT_EQ(exposition.types["lagpilot_kube_requests_total"], "counter");
  EXPECT_EQ(exposition.value("lagpilot_kube_requests_total", {{"verb", "GET"}, {"code", "200"}}),
            1);
  EXPECT_EQ(exposition.value("lagpilot_kube_requests_total", {{"verb", "PATCH"}, {"code", "0"}}),
            1);
  EXPECT_EQ(exposition.types["lagpilot_kube_request_duration_seconds"], "histogram");
  EXPECT_EQ(exposition.value("lagpilot_kube_request_duration_seconds_count", {{"verb", "PATCH"}}),
            1);

  EXPECT_EQ(exposition.types["lagpilot_source_polls_total"], "counter");
  EXPECT_EQ(
      exposition.value("lagpilot_source_polls_total", {{"source", "kafka"}, {"result", "ok"}}), 1);
  EXPECT_EQ(
      exposition.value("lagpilot_source_polls_total", {{"source", "kafka"}, {"result", "error"}}),
      1);
  EXPECT_EQ(exposition.types["lagpilot_source_poll_errors_total"], "counter");
  EXPECT_EQ(exposition.value("lagpilot_source_poll_errors_total",
                             {{"source", "kafka"}, {"reason", "Timeout"}}),
            1);
  EXPECT_EQ(exposition.types["lagpilot_source_poll_duration_seconds"], "histogram");
  EXPECT_EQ(exposition.value("lagpilot_source_poll_duration_seconds_count", {{"source", "kafka"}}),
            2);
  EXPECT_EQ(exposition.value("lagpilot_leader", {}), 1);

  // Every family follows the conventions: the prefix, and _total exactly on counters.
  for (const auto& [name, type] : exposition.types) {
    EXPECT_EQ(name.rfind("lagpilot_", 0), 0u) << name;
    bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(total, type == "counter") << name << " is a " << type;
  }
}

TEST(OperatorMetrics, WorkQueueDepthHookFeedsTheGauge) {
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::OperatorMetrics metrics(registry, "1.2.3");
  FakeClock clock;
  kube::WorkQueueOptions options;
  options.on_depth = [&metrics](std::size_t ready) {
    metrics.set_workqueue_depth(static_cast<double>(ready));
  };
  kube::WorkQueue queue(clock, options);
  queue.add("shop/orders");
  queue.add("shop/payments");
  EXPECT_EQ(scrape(*registry).value("lagpilot_workqueue_depth", {}), 2);
  ASSERT_TRUE(queue.get().has_value());
  EXPECT_EQ(scrape(*registry).value("lagpilot_workqueue_depth", {}), 1);
}

// ---- /healthz ----

TEST(Watchdog, HealthyUntilACheckFailsOrALoopStopsBeating) {
  FakeClock clock;
  Watchdog watchdog(clock, seconds(60));
  std::optional<std::string> queue_problem;
  watchdog.add_check("workqueue", [&] { return queue_problem; });
  watchdog.watch("leader-election", seconds(90));
  watchdog.run_checks();
  EXPECT_EQ(watchdog.problem(), std::nullopt);

  queue_problem = "stuck";
  watchdog.run_checks();
  EXPECT_EQ(watchdog.problem(), std::optional<std::string>("workqueue: stuck"));
  queue_problem.reset();
  watchdog.run_checks();
  EXPECT_EQ(watchdog.problem(), std::nullopt);

  clock.advance(seconds(89));
  watchdog.run_checks();
  EXPECT_EQ(watchdog.problem(), std::nullopt);
  clock.advance(seconds(2));
  watchdog.run_checks();
  EXPECT_EQ(watchdog.problem(), std::optional<std::string>(
                                    "loop leader-election has not turned for 91 s (limit 90 s)"));
  watchdog.beat("leader-election");
  EXPECT_EQ(watchdog.problem(), std::nullopt);
  watchdog.unwatch("leader-election");
  clock.advance(seconds(59));
  watchdog.run_checks();
  EXPECT_EQ(watchdog.problem(), std::nullopt);
}

// With the ticker as slow as the limit, every round would end a scheduling delay past it.
TEST(Watchdog, TicksAtLeastFourTimesPerStallLimit) {
  FakeClock clock;
  EXPECT_EQ(Watchdog(clock, seconds(60)).tick(), seconds(1));
  EXPECT_EQ(Watchdog(clock, seconds(1)).tick(), milliseconds(250));
  EXPECT_EQ(Watchdog(clock, seconds(2), milliseconds(100)).tick(), milliseconds(100));
}

TEST(Watchdog, ATickerStuckInACheckIsUnhealthy) {
  FakeClock clock;
  Watchdog watchdog(clock, seconds(60), seconds(1));
  std::mutex held;  // stands for a lock a deadlocked loop holds
  std::atomic<bool> entered{false};
  watchdog.add_check("workqueue", [&]() -> std::optional<std::string> {
    entered = true;
    std::lock_guard lock(held);
    return std::nullopt;
  });
  std::unique_lock hold(held);
  watchdog.start();
  // The first round runs at once and blocks on the lock.
  while (!entered) std::this_thread::yield();
  EXPECT_EQ(watchdog.problem(), std::nullopt);
  clock.advance(seconds(61));
  auto problem = watchdog.problem();
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(*problem, "health checks have not completed for 61 s (limit 60 s), stuck in workqueue");
  hold.unlock();  // the loop recovers: the next rounds complete
  ASSERT_TRUE(controlplane::eventually([&] { return !watchdog.problem(); }));
  watchdog.stop();
}

TEST(Watchdog, WorkQueueCheckFailsWhileAKeyWaitsTooLongForAWorker) {
  FakeClock clock;
  kube::WorkQueue queue(clock);
  auto check = work_queue_check(queue, clock, seconds(60));
  EXPECT_EQ(check(), std::nullopt);
  queue.add("shop/orders");
  clock.advance(seconds(60));
  EXPECT_EQ(check(), std::nullopt);
  clock.advance(seconds(1));
  EXPECT_EQ(check(), std::optional<std::string>("a key has waited 61 s for a worker (limit 60 s): "
                                                "the workers are stuck or far behind"));
  ASSERT_TRUE(queue.get().has_value());  // a worker took it
  EXPECT_EQ(check(), std::nullopt);
  // A reconcile may take long: the key it requeues meanwhile is not waiting for a worker.
  queue.add("shop/orders");
  clock.advance(seconds(120));
  EXPECT_EQ(check(), std::nullopt);
  queue.done("shop/orders");
  ASSERT_TRUE(queue.get().has_value());
  queue.done("shop/orders");
  // A polled key is due at its deadline; no worker promoting it is a stall too.
  queue.add_after("shop/payments", seconds(5));
  clock.advance(seconds(65));
  EXPECT_EQ(check(), std::nullopt);
  clock.advance(seconds(1));
  EXPECT_TRUE(check().has_value());
  queue.shut_down();  // shutting down: the workers are gone on purpose
  EXPECT_EQ(check(), std::nullopt);
}

TEST(Watchdog, HeartbeatClockBeatsOnEveryWait) {
  FakeClock clock;
  Watchdog watchdog(clock, seconds(60));
  HeartbeatClock loop_clock(clock, watchdog, "leader-election");
  watchdog.watch("leader-election", seconds(10));
  watchdog.run_checks();
  EXPECT_EQ(loop_clock.now(), clock.now());
  clock.advance(seconds(11));
  EXPECT_TRUE(watchdog.problem().has_value());
  // The loop waits out its period: a beat.
  std::mutex mutex;
  std::condition_variable cv;
  std::unique_lock lock(mutex);
  loop_clock.wait_until(lock, cv, clock.now(), [] { return false; });
  EXPECT_EQ(watchdog.problem(), std::nullopt);
  clock.advance(seconds(11));  // and then hangs in its request
  EXPECT_EQ(watchdog.problem(), std::optional<std::string>(
                                    "loop leader-election has not turned for 11 s (limit 10 s)"));
}

TEST(Watchdog, ChecksThatNeverRanVouchForNothing) {
  FakeClock clock;
  Watchdog watchdog(clock, seconds(60));
  EXPECT_EQ(watchdog.problem(), std::optional<std::string>("health checks are not running"));
  watchdog.start();
  EXPECT_EQ(watchdog.problem(), std::nullopt);
  watchdog.stop();
  EXPECT_EQ(watchdog.problem(), std::nullopt);
}

TEST(Watchdog, StoppedIsNotStalled) {
  FakeClock clock;
  Watchdog watchdog(clock, seconds(10));
  watchdog.add_check("noop", [] { return std::optional<std::string>(); });
  watchdog.start();
  watchdog.stop();
  clock.advance(seconds(30));
  EXPECT_EQ(watchdog.problem(), std::nullopt);
}

// One GET on 127.0.0.1: (status, body); status 0 when nothing answered.
std::pair<int, std::string> http_get(int port, const std::string& path) {
  auto answer = testkit::loopback_get(port, path);
  return {answer.status, answer.body};
}

TEST(ProbeServer, HealthzFailsWithTheReasonAndReadyzStaysSeparate) {
  std::mutex mutex;
  std::optional<std::string> problem;
  bool ready = false;
  ProbeServer probes(
      [&]() -> std::optional<std::string> {
        std::lock_guard lock(mutex);
        return problem;
      },
      [&] {
        std::lock_guard lock(mutex);
        return ready;
      });
  ASSERT_TRUE(probes.start("127.0.0.1:0").ok());
  EXPECT_EQ(http_get(probes.port(), "/healthz"), std::make_pair(200, std::string("ok\n")));
  EXPECT_EQ(http_get(probes.port(), "/livez"), std::make_pair(200, std::string("ok\n")));
  EXPECT_EQ(http_get(probes.port(), "/readyz"), std::make_pair(503, std::string("not ready\n")));
  {
    std::lock_guard lock(mutex);
    problem = "loop leader-election has not turned for 75 s (limit 60 s)";
    ready = true;
  }
  EXPECT_EQ(http_get(probes.port(), "/healthz"),
            std::make_pair(500, std::string("unhealthy: loop leader-election has not turned for "
                                            "75 s (limit 60 s)\n")));
  EXPECT_EQ(http_get(probes.port(), "/readyz"), std::make_pair(200, std::string("ok\n")));
  EXPECT_EQ(http_get(probes.port(), "/metrics").first, 404);
  probes.stop();

  // The boolean form still works (unhealthy without a reason).
  ProbeServer plain([] { return false; }, [] { return true; });
  ASSERT_TRUE(plain.start("127.0.0.1:0").ok());
  EXPECT_EQ(http_get(plain.port(), "/healthz"), std::make_pair(500, std::string("unhealthy\n")));
}

TEST(RunOptions, HealthStallTimeout) {
  auto defaults = parse_run_options({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->health_stall_timeout, seconds(60));
  auto set = parse_run_options({"--health-stall-timeout", "2m"});
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->health_stall_timeout, seconds(120));
  for (const char* bad : {"0s", "soon", "-5"}) {
    auto parsed = parse_run_options({"--health-stall-timeout", bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("--health-stall-timeout"), std::string::npos)
        << parsed.error().message;
  }
}

}  // namespace
}  // namespace lagpilot::operator_main
