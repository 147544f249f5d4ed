// Every reconcile is a trace: the real QueueMonitor reconciler against the real kube-apiserver
// (both releases) and librdkafka's mock Kafka cluster, its spans exported over OTLP/HTTP to a real
// Jaeger all-in-one on loopback and read back from Jaeger's query API. And a receiver that is
// down or hangs costs the reconcile nothing but dropped spans.
#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include <map>
#include <set>

#include "controllers/queuemonitor_controller.h"
#include "controlplane/crds.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/rest_client.h"
#include "metrics/exemplar_store.h"
#include "metrics/openmetrics.h"
#include "metrics/operator_metrics.h"
#include "notify/http_sender.h"
#include "operator/metrics_observer.h"
#include "sources/kafka/kafka_source.h"
#include "sources/source_registry.h"
#include "tests/notify/test_http_server.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "tests/tracing/jaeger_fixture.h"
#include "tracing/otlp_exporter.h"
#include "tracing/sdk_tracer.h"

namespace lagpilot::tracing {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::TestNamespace;
using kube::Json;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

// Forwards to the exporter and keeps the trace ids of the root spans it saw.
class RootWatchingSink final : public SpanSink {
 public:
  explicit RootWatchingSink(SpanSink& next) : next_(next) {}
  bool offer(SpanData span) override {
    {
      std::lock_guard lock(mutex_);
      ++offered_;
      if (span.parent_span_id == SpanId{}) roots_.push_back(to_hex(span.trace_id));
    }
    return next_.offer(std::move(span));
  }
  std::vector<std::string> roots() const {
    std::lock_guard lock(mutex_);
    return roots_;
  }
  std::size_t offered() const {
    std::lock_guard lock(mutex_);
    return offered_;
  }

 private:
  SpanSink& next_;
  mutable std::mutex mutex_;
  std::vector<std::string> roots_;
  std::size_t offered_ = 0;
};

class TracingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    auto installed = controlplane::install_crds(ControlPlaneEnvironment::admin_client(),
                                                LAGPILOT_SOURCE_DIR "/crds");
    ASSERT_TRUE(installed.ok()) << installed.error().message;
  }

  void SetUp() override {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    ns_ = std::make_unique<TestNamespace>(ControlPlaneEnvironment::admin_client(), "trace");
    kafka_.create_topic("orders", 12);
    KafkaOptions kafka_options;
    kafka_options.poll_timeout = std::chrono::milliseconds(4000);
    kafka_options.default_lag_seconds_method = LagSecondsMethod::kFetch;
    sources_.add(std::make_unique<KafkaSourceKind>(kafka_options));
  }

  void TearDown() override {
    if (controller_) controller_->stop();
    controller_.reset();
    events_.reset();
    client_.reset();
  }

  // The controller, its Kubernetes client (each request a span) and Events, traced by `tracer`.
  // `status_writers`: threads that send status writes (0: the reconcile writes its own);
  // `workers` 0: the test drives reconcile() itself.
  void start_controller(Tracer& tracer, int status_writers = 0, int workers = 0,
                        controllers::ReconcileObserver* observer = nullptr) {
    kube::ClientOptions client_options;
    client_options.around_request = kube_request_spans(tracer);
    client_ = kube::RestKubeClient::from_config(ControlPlaneEnvironment::plane()->admin_config(),
                                                clock_, client_options);
    events_ = std::make_unique<kube::EventRecorder>(*client_, clock_, "lagpilot-test");
    controllers::ControllerOptions options;
    options.namespaces = {ns_->name()};
    options.workers = workers;
    options.status_writers = status_writers;
    options.tracer = &tracer;
    controller_ = std::make_unique<controllers::QueueMonitorController>(
        *client_, clock_, sources_, *events_, options, observer);
    ASSERT_TRUE(controller_->start());
  }

  // A Deployment at 1 replica, and a monitor of a 4,800-message backlog on 12 partitions with a
  // target of 500 per replica: its first reconcile scales the Deployment to 10.
  void create_backlogged_monitor() {
    kube::KubeClient& admin = ControlPlaneEnvironment::admin_client();
    ASSERT_TRUE(admin
                    .create(kube::resources::kDeployments, ns_->name(),
                            controlplane::deployment_manifest("consumer", 1))
                    .ok());
    auto first = clock_.now() - seconds(96);
    for (int partition = 0; partition < 12; ++partition) {
      kafka_.produce("orders", partition, 400, first, std::chrono::milliseconds(10));
    }
    std::map<int32_t, int64_t> zero;
    for (int p = 0; p < 12; ++p) zero[p] = 0;
    kafka_.commit("order-processor", "orders", zero);
    auto monitor = Json::parse(
        R"({"apiVersion":"lagpilot.io/v1alpha1","kind":"QueueMonitor","metadata":{"name":"orders"},
            "spec":{"source":{"kafka":{"bootstrapServers":")" +
        kafka_.bootstrap_servers() + R"(","topic":"orders","consumerGroup":"order-processor"}},
            "pollIntervalSeconds":1,
            "target":{"apiVersion":"apps/v1","kind":"Deployment","name":"consumer"},
            "scaling":{"policy":"lagPerReplica","targetLagPerReplica":500,"minReplicas":1,
                       "maxReplicas":24,"scaleUp":{"maxPodsPerPeriod":20}}}})");
    ASSERT_TRUE(admin.create(kube::resources::kQueueMonitors, ns_->name(), monitor).ok());
    ASSERT_TRUE(controlplane::eventually([&] {
      return controller_->cached_monitor(key()) &&
             controller_->cached_deployment(ns_->name() + "/consumer");
    }));
  }

  std::string key() const { return ns_->name() + "/orders"; }
  int consumer_replicas() {
    auto got = ControlPlaneEnvironment::admin_client().get(kube::resources::kDeployments,
                                                           ns_->name(), "consumer");
    return got.ok() ? got->value("/spec/replicas"_json_pointer, -1) : -1;
  }

  FakeClock clock_{std::chrono::system_clock::now()};
  testkit::KafkaMockCluster kafka_{1};
  std::unique_ptr<TestNamespace> ns_;
  SourceRegistry sources_;
  std::unique_ptr<kube::RestKubeClient> client_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<controllers::QueueMonitorController> controller_;
};

// A span of Jaeger's answer: its name, its parent's name and its tags.
struct StoredSpan {
  std::string name;
  std::string parent;  // "" for the root
  std::map<std::string, Json> tags;
};

std::vector<StoredSpan> stored_spans(const Json& trace) {
  std::map<std::string, std::string> names;
  for (const auto& span : trace["spans"]) names[span["spanID"]] = span["operationName"];
  std::vector<StoredSpan> spans;
  for (const auto& span : trace["spans"]) {
    StoredSpan stored;
    stored.name = span["operationName"];
    for (const auto& reference : span.value("references", Json::array())) {
      if (reference["refType"] == "CHILD_OF") stored.parent = names[reference["spanID"]];
    }
    for (const auto& tag : span["tags"]) stored.tags[tag["key"]] = tag["value"];
    spans.push_back(std::move(stored));
  }
  return spans;
}

TEST_F(TracingTest, AReconcileIsATraceOfItsPhasesAndKubernetesCalls) {
  testkit::JaegerServer jaeger(LAGPILOT_SOURCE_DIR);
  OtlpExporterOptions exporter_options;
  exporter_options.endpoint = jaeger.otlp_endpoint();
  exporter_options.service_version = "test";
  OtlpHttpExporter exporter(exporter_options, notify::make_cpprest_http_sender(), clock_);
  RootWatchingSink sink(exporter);
  SeededRandom random;
  SdkTracer tracer(clock_, random, sink, 1.0);
  exporter.start();
  start_controller(tracer);
  create_backlogged_monitor();

  auto result = controller_->reconcile(key());
  ASSERT_TRUE(result.requeue_after.has_value());
  exporter.stop();  // sends what is queued
  ASSERT_EQ(exporter.dropped(), 0u);
  ASSERT_EQ(exporter.exported(), sink.offered());
  ASSERT_EQ(sink.roots().size(), 1u) << "one trace: requests outside the reconcile have no span";

  const std::string trace_id = sink.roots().front();
  std::optional<Json> trace;
  ASSERT_TRUE(controlplane::eventually([&] {
    return (trace = jaeger.trace(trace_id)).has_value();
  })) << jaeger.log();
  EXPECT_EQ(trace->value("traceID", ""), trace_id);
  for (const auto& [id, process] : (*trace)["processes"].items()) {
    EXPECT_EQ(process["serviceName"], "lagpilot");
  }
  auto spans = stored_spans(*trace);
  std::multiset<std::pair<std::string, std::string>> tree;  // (parent, child)
  for (const auto& span : spans) tree.insert({span.parent, span.name});
  for (const auto& edge : std::vector<std::pair<std::string, std::string>>{
           {"", "reconcile"},
           {"reconcile", "read_spec"},
           {"reconcile", "poll_source"},
           {"reconcile", "evaluate_alerts"},
           {"reconcile", "decide"},
           {"reconcile", "kube POST"},  // the ScaledUp Event
           {"reconcile", "scale"},
           {"scale", "kube PATCH"},
           {"reconcile", "write_status"},
           {"write_status", "kube PATCH"}}) {
    EXPECT_TRUE(tree.count(edge)) << edge.first << " -> " << edge.second;
  }
  auto find = [&](const std::string& name) -> const StoredSpan& {
    for (const auto& span : spans)
      if (span.name == name) return span;
    throw std::runtime_error("no span " + name);
  };
  const StoredSpan& root = find("reconcile");
  EXPECT_EQ(root.tags.at("lagpilot.monitor.namespace"), ns_->name());
  EXPECT_EQ(root.tags.at("lagpilot.monitor.name"), "orders");
  EXPECT_GT(root.tags.at("lagpilot.reconcile.id").get<std::int64_t>(), 0);
  EXPECT_EQ(root.tags.at("lagpilot.reconcile.outcome"), "requeue");
  const StoredSpan& poll = find("poll_source");
  EXPECT_EQ(poll.tags.at("lagpilot.source.kind"), "kafka");
  EXPECT_EQ(poll.tags.at("lagpilot.source.result"), "ok");
  EXPECT_NE(
      poll.tags.at("lagpilot.source.server").get<std::string>().find(kafka_.bootstrap_servers()),
      std::string::npos)
      << poll.tags.at("lagpilot.source.server");
  EXPECT_EQ(poll.tags.at("span.kind"), "client");
  const StoredSpan& decide = find("decide");
  EXPECT_EQ(decide.tags.at("lagpilot.decision.rule"), "lagPerReplica");
  EXPECT_EQ(decide.tags.at("lagpilot.input.consumer_lag").get<std::int64_t>(), 4800);
  EXPECT_EQ(decide.tags.at("lagpilot.replicas.current").get<std::int64_t>(), 1);
  EXPECT_EQ(decide.tags.at("lagpilot.replicas.desired").get<std::int64_t>(), 10);
  EXPECT_TRUE(decide.tags.count("lagpilot.decision.guard_rail"));
  EXPECT_EQ(find("scale").tags.at("lagpilot.replicas").get<std::int64_t>(), 10);
  bool scale_patch = false;
  for (const auto& span : spans) {
    if (span.name == "kube PATCH" && span.parent == "scale") {
      scale_patch = true;
      EXPECT_EQ(span.tags.at("http.response.status_code").get<std::int64_t>(), 200);
      EXPECT_NE(span.tags.at("url.path").get<std::string>().find("/deployments/consumer/scale"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(scale_patch);
  EXPECT_TRUE(find("evaluate_alerts").tags.count("lagpilot.health"));
}

// With status writes off the poll path (--status-writers, the operator's default), the status
// PATCH is sent by a writer thread after the reconcile returned: its span still is a child of the
// reconcile's write_status span, in the reconcile's trace.
TEST_F(TracingTest, AQueuedStatusPatchIsAChildOfWriteStatus) {
  testkit::JaegerServer jaeger(LAGPILOT_SOURCE_DIR);
  OtlpExporterOptions exporter_options;
  exporter_options.endpoint = jaeger.otlp_endpoint();
  OtlpHttpExporter exporter(exporter_options, notify::make_cpprest_http_sender(), clock_);
  RootWatchingSink sink(exporter);
  SeededRandom random;
  SdkTracer tracer(clock_, random, sink, 1.0);
  exporter.start();
  start_controller(tracer, /*status_writers=*/2);
  create_backlogged_monitor();

  const std::uint64_t writes_before = controller_->status_writes();
  auto result = controller_->reconcile(key());
  ASSERT_TRUE(result.requeue_after.has_value());
  ASSERT_TRUE(controlplane::eventually([&] {
    return controller_->status_writes() > writes_before &&
           controller_->status_writes_pending() == 0;
  })) << "the writer thread sent the status";
  controller_->stop();
  exporter.stop();
  ASSERT_EQ(exporter.dropped(), 0u);
  ASSERT_EQ(sink.roots().size(), 1u);

  const std::string trace_id = sink.roots().front();
  std::optional<Json> trace;
  ASSERT_TRUE(controlplane::eventually([&] {
    return (trace = jaeger.trace(trace_id)).has_value();
  })) << jaeger.log();
  std::vector<StoredSpan> status_patches;
  for (auto& span : stored_spans(*trace)) {
    if (span.name == "kube PATCH" &&
        span.tags.at("url.path").get<std::string>().find("/queuemonitors/orders/status") !=
            std::string::npos) {
      status_patches.push_back(span);
    }
  }
  ASSERT_EQ(status_patches.size(), 1u) << trace->dump();
  EXPECT_EQ(status_patches[0].parent, "write_status");
  EXPECT_EQ(status_patches[0].tags.at("http.response.status_code").get<std::int64_t>(), 200);
  EXPECT_EQ(status_patches[0].tags.at("span.kind"), "client");
}

// The workers' reconciles hand their trace id to the observer, which keeps it as the exemplar of
// the reconcile-duration bucket (served with OpenMetrics): the id is the reconcile's trace.
TEST_F(TracingTest, TheReconcileDurationsExemplarIsTheReconcilesTrace) {
  OtlpExporterOptions exporter_options;
  exporter_options.endpoint = "http://127.0.0.1:" + std::to_string(testkit::free_loopback_port());
  OtlpHttpExporter exporter(exporter_options, notify::make_cpprest_http_sender(), clock_);
  RootWatchingSink sink(exporter);
  SeededRandom random;
  SdkTracer tracer(clock_, random, sink, 1.0);
  auto registry = std::make_shared<prometheus::Registry>();
  metrics::ExemplarStore exemplars(clock_);
  metrics::OperatorMetrics operator_metrics(registry, "test", false, &exemplars);
  operator_main::MetricsObserver observer(operator_metrics);
  exporter.start();
  start_controller(tracer, /*status_writers=*/2, /*workers=*/1, &observer);
  create_backlogged_monitor();

  // The worker may take the monitor before the Deployment reached the cache and come back a poll
  // interval later on the fake clock: move it on while waiting.
  ASSERT_TRUE(controlplane::eventually([&] {
    clock_.advance(std::chrono::milliseconds(500));
    return consumer_replicas() == 10;
  }));
  ASSERT_TRUE(controlplane::eventually([&] { return exemplars.size() > 0; }));
  controller_->stop();
  exporter.stop();
  const std::vector<std::string> roots = sink.roots();
  ASSERT_FALSE(roots.empty());
  const std::string exposition = metrics::serialize_openmetrics(registry->Collect(), &exemplars);
  std::size_t exemplar_lines = 0;
  for (std::size_t at = exposition.find(" # {trace_id=\""); at != std::string::npos;
       at = exposition.find(" # {trace_id=\"", at + 1)) {
    ++exemplar_lines;
    const std::string id = exposition.substr(at + 14, 32);
    EXPECT_NE(std::find(roots.begin(), roots.end(), id), roots.end())
        << id << " is no reconcile's trace";
    const std::size_t line = exposition.rfind('\n', at) + 1;
    const std::string bucket = "lagpilot_reconcile_duration_seconds_bucket{le=";
    EXPECT_EQ(exposition.compare(line, bucket.size(), bucket), 0)
        << exposition.substr(line, at - line);
  }
  EXPECT_GE(exemplar_lines, 1u) << exposition;
  EXPECT_LE(exemplar_lines, roots.size());
}

// The receiver's one request hangs; the reconcile finishes while it does (the exporter's queue
// is bounded and offering never waits), and what does not fit is dropped and counted.
TEST_F(TracingTest, AHangingReceiverCostsTheReconcileOnlyDroppedSpans) {
  testkit::TestHttpServer receiver([](const auto&) {
    testkit::HttpReply reply;
    reply.hang = true;
    return reply;
  });
  OtlpExporterOptions exporter_options;
  exporter_options.endpoint = receiver.url();
  exporter_options.max_batch = 1;
  exporter_options.max_queue = 4;
  exporter_options.request_timeout = seconds(2);
  OtlpHttpExporter exporter(exporter_options, notify::make_cpprest_http_sender(), clock_);
  RootWatchingSink sink(exporter);
  SeededRandom random;
  SdkTracer tracer(clock_, random, sink, 1.0);
  exporter.start();
  start_controller(tracer);
  create_backlogged_monitor();

  auto result = controller_->reconcile(key());
  ASSERT_TRUE(result.requeue_after.has_value());
  EXPECT_EQ(consumer_replicas(), 10);
  // The reconcile finished with the first export still hanging: it never waited for it.
  ASSERT_TRUE(receiver.wait_for_requests(1, std::chrono::seconds(20)));
  EXPECT_EQ(receiver.request_count(), 1u);
  EXPECT_EQ(exporter.in_flight(), 1u);
  const std::size_t spans = sink.offered();
  EXPECT_GE(spans, 10u);
  EXPECT_LE(exporter.queued(), 4u);
  EXPECT_EQ(exporter.dropped() + exporter.queued() + exporter.in_flight(), spans);
  EXPECT_GE(exporter.dropped(), spans - 5);
  exporter.stop();  // the hung request times out: everything was dropped, nothing exported
  EXPECT_EQ(exporter.dropped(), spans);
  EXPECT_EQ(exporter.exported(), 0u);
}

// Nothing listens at the endpoint: the reconcile does its work, every span is dropped.
TEST_F(TracingTest, AReceiverThatIsDownCostsTheReconcileOnlyDroppedSpans) {
  OtlpExporterOptions exporter_options;
  exporter_options.endpoint = "http://127.0.0.1:" + std::to_string(testkit::free_loopback_port());
  OtlpHttpExporter exporter(exporter_options, notify::make_cpprest_http_sender(), clock_);
  RootWatchingSink sink(exporter);
  SeededRandom random;
  SdkTracer tracer(clock_, random, sink, 1.0);
  exporter.start();
  start_controller(tracer);
  create_backlogged_monitor();

  auto result = controller_->reconcile(key());
  ASSERT_TRUE(result.requeue_after.has_value());
  EXPECT_EQ(consumer_replicas(), 10);
  exporter.stop();
  EXPECT_GE(sink.offered(), 10u);
  EXPECT_EQ(exporter.dropped(), sink.offered());
  EXPECT_EQ(exporter.exported(), 0u);
}

}  // namespace
}  // namespace lagpilot::tracing
