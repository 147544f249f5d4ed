// Exemplars as Prometheus stores them: Debian's real Prometheus (2.42, with
// --enable-feature=exemplar-storage) scrapes the operator's /metrics endpoint on loopback; a
// reconcile traced by the SDK tracer (sampling ratio 1) is observed on the reconcile-duration
// histogram, and /api/v1/query_exemplars gives back that trace's id on the bucket it fell in.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "metrics/exemplar_store.h"
#include "metrics/metrics_endpoint.h"
#include "metrics/operator_metrics.h"
#include "tests/support/http_get.h"
#include "tests/sources/prometheus/prometheus_fixture.h"
#include "tracing/sdk_tracer.h"

namespace lagpilot::metrics {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Keeps the spans it is offered (stands in for the OTLP exporter).
class CollectingSink final : public tracing::SpanSink {
 public:
  bool offer(tracing::SpanData span) override {
    std::lock_guard lock(mutex_);
    spans_.push_back(std::move(span));
    return true;
  }
  std::vector<tracing::SpanData> spans() const {
    std::lock_guard lock(mutex_);
    return spans_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<tracing::SpanData> spans_;
};

// Polls Prometheus's API (real time: the server scrapes every second) until `done` or 30 s.
bool eventually(const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return done();
}

std::optional<json> api_get(const testkit::PrometheusServer& prometheus,
                            const std::string& target) {
  auto answer = testkit::loopback_get(prometheus.port(), target);
  if (answer.status != 200) return std::nullopt;
  auto parsed = json::parse(answer.body, nullptr, false);
  if (parsed.is_discarded() || parsed.value("status", "") != "success") return std::nullopt;
  return parsed["data"];
}

TEST(PrometheusExemplarTest, QueryExemplarsReturnsTheTraceIdOfTheReconcile) {
  // Wall time now, to the millisecond (an exemplar's timestamp has millisecond precision).
  FakeClock clock(WallTime{std::chrono::duration_cast<milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())});
  ExemplarStore exemplars(clock);
  auto registry = std::make_shared<prometheus::Registry>();
  OperatorMetrics metrics(registry, "test", false, &exemplars);
  MetricsEndpoint endpoint("127.0.0.1:0", registry, &exemplars);

  CollectingSink sink;
  tracing::SeededRandom random;
  tracing::SdkTracer tracer(clock, random, sink, 1.0);
  std::string trace_id;
  {
    tracing::SpanScope reconcile(&tracer, "reconcile");
    trace_id = reconcile.trace_id();
  }
  ASSERT_EQ(trace_id.size(), 32u);
  ASSERT_EQ(sink.spans().size(), 1u);
  ASSERT_EQ(tracing::to_hex(sink.spans().front().trace_id), trace_id);
  metrics.reconcile_finished("requeue", 0.2, trace_id);
  metrics.reconcile_finished("ok", 0.003, "");  // unsampled: counted, no exemplar

  testkit::PrometheusServer prometheus(
      {"127.0.0.1:" + std::to_string(endpoint.listening_ports().front())}, "", {},
      {"--enable-feature=exemplar-storage"});
  const auto now_seconds =
      std::chrono::duration_cast<seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string query =
      "/api/v1/query_exemplars?query=lagpilot_reconcile_duration_seconds_bucket"
      "&start=" +
      std::to_string(now_seconds - 600) + "&end=" + std::to_string(now_seconds + 600);
  json found;
  ASSERT_TRUE(eventually([&] {
    auto data = api_get(prometheus, query);
    if (!data || !data->is_array() || data->empty()) return false;
    found = *data;
    return true;
  })) << "no exemplars; prometheus log:\n"
      << prometheus.log();

  ASSERT_EQ(found.size(), 1u) << found.dump();  // one series: the bucket the reconcile fell in
  const json& series = found[0];
  EXPECT_EQ(series["seriesLabels"]["__name__"], "lagpilot_reconcile_duration_seconds_bucket");
  EXPECT_EQ(series["seriesLabels"]["le"], "0.25");
  ASSERT_EQ(series["exemplars"].size(), 1u) << series.dump();
  const json& exemplar = series["exemplars"][0];
  EXPECT_EQ(exemplar["labels"]["trace_id"], trace_id);
  EXPECT_EQ(exemplar["value"], "0.2");
  const double stamped = std::chrono::duration<double>(clock.now().time_since_epoch()).count();
  EXPECT_NEAR(exemplar["timestamp"].get<double>(), stamped, 0.0005);

  // The OpenMetrics scrape named the same series as the text format: the bucket's value by its
  // text-format `le`, and a healthy target.
  auto bucket = api_get(prometheus,
                        "/api/v1/query?query=lagpilot_reconcile_duration_seconds_bucket%7Ble%3D%22"
                        "0.005%22%7D");
  ASSERT_TRUE(bucket.has_value());
  ASSERT_EQ((*bucket)["result"].size(), 1u) << bucket->dump();
  EXPECT_EQ((*bucket)["result"][0]["value"][1], "1");
  auto targets = api_get(prometheus, "/api/v1/targets");
  ASSERT_TRUE(targets.has_value());
  ASSERT_EQ((*targets)["activeTargets"].size(), 1u);
  EXPECT_EQ((*targets)["activeTargets"][0]["health"], "up");
  EXPECT_EQ((*targets)["activeTargets"][0]["lastError"], "");
}

}  // namespace
}  // namespace lagpilot::metrics
