// The OpenMetrics writer (hand-computed expositions: types, escaping, exemplars on the bucket the
// observation fell in, # EOF), the Accept negotiation, the exemplar store's bounds, and the
// /metrics endpoint on loopback: a plain scrape answered as prometheus-cpp's Exposer answers it,
// an OpenMetrics scrape with the reconcile's exemplar.
#include <gtest/gtest.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <limits>
#include <sstream>

#include "metrics/exemplar_store.h"
#include "metrics/metrics_endpoint.h"
#include "metrics/openmetrics.h"
#include "metrics/operator_metrics.h"
#include "tests/support/http_get.h"

namespace lagpilot::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* kTraceA = "0af7651916cd43dd8448eb211c80319c";
constexpr const char* kTraceB = "4bf92f3577b34da6a3ce929d0e0e4736";
// What Prometheus 2.42 (Debian 12) sends, with or without --enable-feature=exemplar-storage.
constexpr const char* kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// 2023-11-14T22:13:20.123Z
const WallTime kObserved = WallTime{std::chrono::milliseconds(1'700'000'000'123LL)};

ClientMetric with_labels(std::vector<ClientMetric::Label> labels) {
  ClientMetric metric;
  metric.label = std::move(labels);
  return metric;
}

MetricFamily histogram_family() {
  MetricFamily family{"h_seconds", "Durations.", MetricType::Histogram, {}};
  ClientMetric metric;
  metric.histogram.sample_count = 3;
  metric.histogram.sample_sum = 2.5;
  metric.histogram.bucket = {{1, 0.1}, {2, 1}, {3, std::numeric_limits<double>::infinity()}};
  family.metric.push_back(metric);
  return family;
}

TEST(OpenMetricsTest, WritesEachTypeByTheRulesAndEndsWithEof) {
  FakeClock clock(kObserved);
  ExemplarStore exemplars(clock);
  exemplars.record("h_seconds", {}, {0.1, 1}, 0.5, kTraceA);

  MetricFamily counter{"lagpilot_reconcile_total", "Reconciles.", MetricType::Counter, {}};
  counter.metric.push_back(with_labels({{"result", "ok"}}));
  counter.metric.back().counter.value = 2;
  MetricFamily gauge{"lagpilot_leader", "", MetricType::Gauge, {}};
  gauge.metric.push_back(ClientMetric{});
  gauge.metric.back().gauge.value = 1.5;
  MetricFamily untyped{"odd", "Untyped.", MetricType::Untyped, {}};
  untyped.metric.push_back(ClientMetric{});
  untyped.metric.back().untyped.value = std::numeric_limits<double>::quiet_NaN();
  MetricFamily summary{"lat", "Latency.", MetricType::Summary, {}};
  summary.metric.push_back(ClientMetric{});
  summary.metric.back().summary = {4, 10.25, {{0.5, 2}, {0.99, 7}}};
  MetricFamily bare_counter{"events", "No _total.", MetricType::Counter, {}};
  bare_counter.metric.push_back(ClientMetric{});
  bare_counter.metric.back().counter.value = 3;
  bare_counter.metric.back().timestamp_ms = 1'700'000'000'005LL;

  EXPECT_EQ(serialize_openmetrics(
                {counter, gauge, histogram_family(), untyped, summary, bare_counter}, &exemplars),
            "# TYPE lagpilot_reconcile counter\n"
            "# HELP lagpilot_reconcile Reconciles.\n"
            "lagpilot_reconcile_total{result=\"ok\"} 2\n"
            "# TYPE lagpilot_leader gauge\n"
            "lagpilot_leader 1.5\n"
            "# TYPE h_seconds histogram\n"
            "# HELP h_seconds Durations.\n"
            "h_seconds_bucket{le=\"0.1\"} 1\n"
            "h_seconds_bucket{le=\"1\"} 2 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\"} 0.5 "
            "1700000000.123\n"
            "h_seconds_bucket{le=\"+Inf\"} 3\n"
            "h_seconds_count 3\n"
            "h_seconds_sum 2.5\n"
            "# TYPE odd unknown\n"
            "# HELP odd Untyped.\n"
            "odd NaN\n"
            "# TYPE lat summary\n"
            "# HELP lat Latency.\n"
            "lat{quantile=\"0.5\"} 2\n"
            "lat{quantile=\"0.99\"} 7\n"
            "lat_count 4\n"
            "lat_sum 10.25\n"
            "# TYPE events unknown\n"
            "# HELP events No _total.\n"
            "events 3 1700000000.005\n"
            "# EOF\n");
}

TEST(OpenMetricsTest, EscapesLabelValuesAndHelp) {
  MetricFamily gauge{"g", "Line one\nback\\slash \"quoted\"", MetricType::Gauge, {}};
  gauge.metric.push_back(with_labels({{"a", "x\"y"}, {"b", "c:\\d"}, {"n", "1\n2"}}));
  gauge.metric.back().gauge.value = -0.25;
  EXPECT_EQ(serialize_openmetrics({gauge}, nullptr),
            "# TYPE g gauge\n"
            "# HELP g Line one\\nback\\\\slash \\\"quoted\\\"\n"
            "g{a=\"x\\\"y\",b=\"c:\\\\d\",n=\"1\\n2\"} -0.25\n"
            "# EOF\n");
}

// `le` is inclusive: an observation on a bound belongs to that bound's bucket; past the last
// bound, to +Inf. Only that bucket carries it, and only the series it was observed on.
TEST(OpenMetricsTest, AnExemplarGoesOnlyOnTheBucketItsValueFellIn) {
  FakeClock clock(kObserved);
  ExemplarStore exemplars(clock);
  MetricFamily family = histogram_family();
  family.metric.push_back(with_labels({{"verb", "GET"}}));
  family.metric.back().histogram = family.metric.front().histogram;

  exemplars.record("h_seconds", {}, {0.1, 1}, 0.1, kTraceA);
  std::string text = serialize_openmetrics({family}, &exemplars);
  EXPECT_NE(text.find("h_seconds_bucket{le=\"0.1\"} 1 # {trace_id=\"" + std::string(kTraceA) +
                      "\"} 0.1 1700000000.123\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("h_seconds_bucket{le=\"1\"} 2 #"), std::string::npos) << text;
  EXPECT_EQ(text.find("{verb=\"GET\",le=\"0.1\"} 1 #"), std::string::npos) << text;

  clock.advance(std::chrono::seconds(1));
  exemplars.record("h_seconds", {{"verb", "GET"}}, {0.1, 1}, 7, kTraceB);
  text = serialize_openmetrics({family}, &exemplars);
  EXPECT_NE(text.find("h_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 3 # {trace_id=\"" +
                      std::string(kTraceB) + "\"} 7 1700000001.123\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("h_seconds_bucket{le=\"+Inf\"} 3 #"), std::string::npos) << text;
  std::size_t exemplar_lines = 0;
  for (std::size_t at = text.find(" # {"); at != std::string::npos; at = text.find(" # {", at + 1))
    ++exemplar_lines;
  EXPECT_EQ(exemplar_lines, 2u);
}

// The latest observation with a trace is the bucket's exemplar; one per bucket per series.
TEST(ExemplarStoreTest, KeepsTheLatestPerBucketAndIgnoresUntracedObservations) {
  FakeClock clock(kObserved);
  ExemplarStore exemplars(clock);
  const std::vector<double> bounds = {0.1, 1};
  exemplars.record("h", {}, bounds, 0.5, kTraceA);
  exemplars.record("h", {}, bounds, 0.7, "");  // not sampled: the exemplar stays
  ASSERT_TRUE(exemplars.find("h", {}, 1).has_value());
  EXPECT_EQ(exemplars.find("h", {}, 1)->trace_id, kTraceA);
  clock.advance(std::chrono::milliseconds(250));
  exemplars.record("h", {}, bounds, 0.9, kTraceB);
  auto latest = exemplars.find("h", {}, 1);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->trace_id, kTraceB);
  EXPECT_EQ(latest->value, 0.9);
  EXPECT_EQ(latest->time, kObserved + std::chrono::milliseconds(250));
  EXPECT_FALSE(exemplars.find("h", {}, 0.1).has_value());
  EXPECT_FALSE(exemplars.find("h", {{"x", "y"}}, 1).has_value());

  for (int i = 0; i < 10'000; ++i)
    exemplars.record("h", {}, bounds, 0.001 * i, i % 2 ? kTraceA : kTraceB);
  EXPECT_EQ(exemplars.size(), 3u);  // bounded: the histogram's three buckets
  exemplars.forget("h", {});
  EXPECT_EQ(exemplars.size(), 0u);
}

TEST(OpenMetricsNegotiationTest, PicksOpenMetricsOnlyWhenTheScraperPrefersIt) {
  EXPECT_TRUE(wants_openmetrics(kPrometheusAccept));
  EXPECT_TRUE(wants_openmetrics("application/openmetrics-text"));
  EXPECT_TRUE(wants_openmetrics("Application/OpenMetrics-Text; version=\"1.0.0\"; q=0.9"));
  EXPECT_FALSE(wants_openmetrics(""));
  EXPECT_FALSE(wants_openmetrics("*/*"));
  EXPECT_FALSE(wants_openmetrics("text/plain;version=0.0.4"));
  EXPECT_FALSE(wants_openmetrics("application/openmetrics-text;version=0.0.1"));
  EXPECT_FALSE(wants_openmetrics("application/openmetrics-text;version=1.0.0;q=0"));
  EXPECT_FALSE(
      wants_openmetrics("application/openmetrics-text;version=1.0.0;q=0.2,text/plain;q=0.5"));
  EXPECT_FALSE(wants_openmetrics("application/json, text/html"));
}

// Lines of an exposition without the scrape metrics' samples (their values change per scrape).
std::string without_scrape_samples(const std::string& text) {
  std::istringstream lines(text);
  std::string kept, line;
  while (std::getline(lines, line)) {
    if (line.rfind("exposer_", 0) == 0) continue;
    kept += line + "\n";
  }
  return kept;
}

class MetricsEndpointTest : public ::testing::Test {
 protected:
  MetricsEndpointTest() : clock_(kObserved), exemplars_(clock_) {
    registry_ = std::make_shared<prometheus::Registry>();
    metrics_ = std::make_unique<OperatorMetrics>(registry_, "1.2.3", false, &exemplars_);
    metrics_->reconcile_finished("requeue", 0.2, kTraceA);
    metrics_->reconcile_finished("ok", 0.003, "");  // an unsampled reconcile: no exemplar
    metrics_->kube_request("GET", 200, 0.01);
  }
  FakeClock clock_;
  ExemplarStore exemplars_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<OperatorMetrics> metrics_;
};

// Everyone but an OpenMetrics scraper gets what prometheus-cpp's Exposer serves.
TEST_F(MetricsEndpointTest, APlainScrapeIsAnsweredAsTheExposerAnswersIt) {
  prometheus::Exposer exposer("127.0.0.1:0");
  exposer.RegisterCollectable(registry_);
  MetricsEndpoint endpoint("127.0.0.1:0", registry_, &exemplars_);
  const int exposer_port = exposer.GetListeningPorts().front();
  const int endpoint_port = endpoint.listening_ports().front();
  for (const std::string headers : {"", "Accept: text/plain;version=0.0.4\r\n", "Accept: */*\r\n",
                                    "Accept: application/openmetrics-text;version=0.0.1\r\n"}) {
    auto expected = testkit::loopback_get(exposer_port, "/metrics", headers);
    auto got = testkit::loopback_get(endpoint_port, "/metrics", headers);
    ASSERT_EQ(expected.status, 200);
    EXPECT_EQ(got.status, 200) << headers;
    EXPECT_EQ(got.headers["content-type"], expected.headers["content-type"]) << headers;
    EXPECT_EQ(got.headers["content-type"], "text/plain; charset=utf-8");
    EXPECT_EQ(got.headers["content-length"], std::to_string(got.body.size()));
    EXPECT_EQ(without_scrape_samples(got.body), without_scrape_samples(expected.body)) << headers;
    EXPECT_NE(got.body.find("exposer_scrapes_total "), std::string::npos);
    EXPECT_EQ(got.body.find("trace_id"), std::string::npos);
  }
  auto gzipped = testkit::loopback_get(endpoint_port, "/metrics", "Accept-Encoding: gzip\r\n");
  EXPECT_EQ(gzipped.headers["content-encoding"], "gzip");
  EXPECT_EQ(gzipped.body.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(testkit::loopback_get(endpoint_port, "/nothing").status, 404);
}

TEST_F(MetricsEndpointTest, AnOpenMetricsScrapeCarriesTheReconcilesExemplar) {
  MetricsEndpoint endpoint("127.0.0.1:0", registry_, &exemplars_);
  auto got = testkit::loopback_get(endpoint.listening_ports().front(), "/metrics",
                                   std::string("Accept: ") + kPrometheusAccept + "\r\n");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.headers["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  const std::string& text = got.body;
  ASSERT_GE(text.size(), 6u);
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  EXPECT_NE(text.find("lagpilot_reconcile_duration_seconds_bucket{le=\"0.25\"} 2 # {trace_id=\"" +
                      std::string(kTraceA) + "\"} 0.2 1700000000.123\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lagpilot_reconcile_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE lagpilot_reconcile counter\n"), std::string::npos);
  EXPECT_NE(text.find("lagpilot_reconcile_total{result=\"requeue\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE exposer_scrapes counter\n"), std::string::npos);
  // Exemplars only on the reconcile duration (the only histogram fed with trace ids).
  std::size_t exemplar_lines = 0;
  for (std::size_t at = text.find(" # {"); at != std::string::npos; at = text.find(" # {", at + 1))
    ++exemplar_lines;
  EXPECT_EQ(exemplar_lines, 1u);
}

}  // namespace
}  // namespace lagpilot::metrics
