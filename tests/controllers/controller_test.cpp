// The QueueMonitor reconciler against the real kube-apiserver and librdkafka's mock Kafka cluster.
// Reconciles are driven one at a time (no worker threads) with a fake clock, so stabilization
// windows and cooldowns pass without waiting.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "controllers/conditions.h"
#include "controllers/poll_schedule.h"
#include "controllers/queuemonitor_controller.h"
#include "controlplane/crds.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/rest_client.h"
#include "notify/http_sender.h"
#include "notify/webhook_notifier.h"
#include "sources/kafka/kafka_client.h"
#include "sources/kafka/kafka_source.h"
#include "sources/prometheus/prometheus_latency.h"
#include "sources/source_registry.h"
#include "tests/notify/test_http_server.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "tests/sources/prometheus/prometheus_fixture.h"
#include "tests/support/forwarding_kube_client.h"

namespace lagpilot::controllers {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::TestNamespace;
using kube::Json;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

// A watch that delivers late, as a slow or congested watch connection does: while held, the events
// of one resource wait before they reach the informer; released, they arrive in order. Every
// request goes straight to the real client.
class LateWatchClient final : public testkit::ForwardingKubeClient {
 public:
  LateWatchClient(kube::KubeClient& real, kube::Gvr late)
      : ForwardingKubeClient(real), late_(std::move(late)) {}
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    released_.notify_all();
  }

  kube::ApiResult<std::unique_ptr<kube::WatchStream>> watch(const kube::Gvr& g,
                                                            const std::string& n,
                                                            const kube::WatchOptions& o) override {
    auto inner = real_.watch(g, n, o);
    if (!inner || g.resource != late_.resource || g.group != late_.group) return inner;
    return std::unique_ptr<kube::WatchStream>(
        std::make_unique<LateStream>(std::move(*inner), *this));
  }

 private:
  class LateStream final : public kube::WatchStream {
   public:
    LateStream(std::unique_ptr<kube::WatchStream> inner, LateWatchClient& owner)
        : inner_(std::move(inner)), owner_(owner) {}
    kube::ApiResult<std::optional<kube::WatchEvent>> next() override {
      auto event = inner_->next();
      std::unique_lock lock(owner_.mutex_);
      owner_.released_.wait(lock, [&] { return !owner_.held_ || cancelled_; });
      return event;
    }
    void cancel() override {
      {
        std::lock_guard lock(owner_.mutex_);
        cancelled_ = true;
      }
      owner_.released_.notify_all();
      inner_->cancel();
    }

   private:
    std::unique_ptr<kube::WatchStream> inner_;
    LateWatchClient& owner_;
    bool cancelled_ = false;  // under owner_.mutex_
  };

  kube::Gvr late_;
  std::mutex mutex_;
  std::condition_variable released_;
  bool held_ = false;
};

// Status patches held until release(), as a slow API server holds them; every other request
// goes straight to the real client.
class HeldStatusPatchClient final : public testkit::ForwardingKubeClient {
 public:
  explicit HeldStatusPatchClient(kube::KubeClient& real) : ForwardingKubeClient(real) {}
  void release() {
    {
      std::lock_guard lock(mutex_);
      held_ = false;
    }
    released_.notify_all();
  }

  kube::ApiResult<kube::Json> patch(const kube::Gvr& g, const std::string& n, const std::string& m,
                                    kube::PatchType t, const kube::Json& p,
                                    const std::string& s) override {
    if (s == "status") {
      std::unique_lock lock(mutex_);
      released_.wait(lock, [&] { return !held_; });
    }
    return real_.patch(g, n, m, t, p, s);
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  bool held_ = true;
};

class ControllerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    auto installed = controlplane::install_crds(ControlPlaneEnvironment::admin_client(),
                                                LAGPILOT_SOURCE_DIR "/crds");
    ASSERT_TRUE(installed.ok()) << installed.error().message;
  }

  void SetUp() override {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    ns_ = std::make_unique<TestNamespace>(client(), "qm");
    kafka_.create_topic("orders", 12);
    KafkaOptions kafka_options;
    // Room for a fresh client's first poll (bootstrap, coordinator, head records) on a loaded
    // machine; the down-broker test waits it out once, later polls fail at once (outage gate).
    kafka_options.poll_timeout = std::chrono::milliseconds(4000);
    kafka_options.default_lag_seconds_method = LagSecondsMethod::kFetch;
    auto kafka_kind = std::make_unique<KafkaSourceKind>(kafka_options);
    context_ = kafka_kind.get();
    factory_ = std::make_unique<SourceRegistry>();
    factory_->add(std::move(kafka_kind));
    factory_->add(std::make_unique<PrometheusLatencyKind>());
    events_ = std::make_unique<kube::EventRecorder>(client(), clock_, "lagpilot-test");
    start_controller();
  }

  // A new controller in place of the old one: what an operator restart or failover does.
  void start_controller(notify::Notifier* notifier = nullptr, CredentialPolicy credentials = {}) {
    if (controller_) controller_->stop();
    controller_.reset();
    ControllerOptions options;
    options.credentials = std::move(credentials);
    options.namespaces = {ns_->name()};
    options.workers = 0;  // the test drives reconcile() itself
    options.notifier = notifier;
    options.status_writers = status_writers_;
    kube::KubeClient& through = late_watch_     ? *late_watch_
                                : held_patches_ ? *held_patches_
                                                : client();
    controller_ =
        std::make_unique<QueueMonitorController>(through, clock_, *factory_, *events_, options);
    ASSERT_TRUE(controller_->start());
  }

  void TearDown() override {
    if (controller_) controller_->stop();
    controller_.reset();
  }

  kube::KubeClient& client() { return ControlPlaneEnvironment::admin_client(); }

  // A Secret with these values; `allowed`: labelled lagpilot.io/allow: "true".
  void create_secret(const std::string& name, const Json& string_data, bool allowed = true) {
    Json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"metadata", {{"name", name}}},
                   {"stringData", string_data}};
    if (allowed) secret["metadata"]["labels"] = {{"lagpilot.io/allow", "true"}};
    auto created = client().create(kube::resources::kSecrets, ns(), secret);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  const std::string& ns() { return ns_->name(); }
  std::string key(const std::string& name) { return ns() + "/" + name; }

  Json monitor(const std::string& name, const std::string& scaling_json,
               const std::string& target = "consumer") {
    return Json::parse(
        R"({"apiVersion":"lagpilot.io/v1alpha1","kind":"QueueMonitor","metadata":{"name":")" +
        name + R"("},"spec":{"source":{"kafka":{"bootstrapServers":")" +
        kafka_.bootstrap_servers() +
        R"(","topic":"orders","consumerGroup":"order-processor"}},"pollIntervalSeconds":1,
                       "target":{"apiVersion":"apps/v1","kind":"Deployment","name":")" +
        target + R"("},"scaling":)" + scaling_json + "}}");
  }

  // Creates the object and waits until the controller's cache has it (at this generation).
  void create_monitor(const Json& object) {
    auto created = client().create(kube::resources::kQueueMonitors, ns(), object);
    ASSERT_TRUE(created.ok()) << created.error().message;
    std::string name = object["metadata"]["name"];
    ASSERT_TRUE(controlplane::eventually([&] {
      return cached_generation(name) == (*created)["metadata"]["generation"].get<int>();
    }));
  }

  int cached_generation(const std::string& name) {
    auto cached = controller_->cached_monitor(key(name));
    return cached ? cached->value("/metadata/generation"_json_pointer, 0) : -1;
  }

  // Creates the Deployment and waits until the controller's cache has it.
  void create_deployment(const std::string& name, int replicas) {
    ASSERT_TRUE(client()
                    .create(kube::resources::kDeployments, ns(),
                            controlplane::deployment_manifest(name, replicas))
                    .ok());
    ASSERT_TRUE(controlplane::eventually(
        [&] { return controller_->cached_deployment(key(name)) != nullptr; }));
  }

  int deployment_replicas(const std::string& name) {
    auto d = client().get(kube::resources::kDeployments, ns(), name);
    return d.ok() ? d->value("/spec/replicas"_json_pointer, -1) : -1;
  }

  Json status_of(const std::string& name) {
    auto got = client().get(kube::resources::kQueueMonitors, ns(), name);
    return got.ok() ? got->value("status", Json::object()) : Json::object();
  }

  std::string condition(const Json& status, const std::string& type, const char* field = "status") {
    const Json conditions = status.value("conditions", Json::array());
    const Json* found = find_condition(conditions, type);
    return found ? found->value(field, "") : "";
  }

  // 400 records on each of the 12 partitions, timestamped 96 s before now.
  void produce_backlog() {
    auto first = clock_.now() - seconds(96);
    for (int partition = 0; partition < 12; ++partition) {
      kafka_.produce("orders", partition, 400, first, std::chrono::milliseconds(10));
    }
    kafka_.commit("order-processor", "orders", [] {
      std::map<int32_t, int64_t> zero;
      for (int p = 0; p < 12; ++p) zero[p] = 0;
      return zero;
    }());
  }

  void drain_all() {
    std::map<int32_t, int64_t> all;
    for (int p = 0; p < 12; ++p) all[p] = 400;
    kafka_.commit("order-processor", "orders", all);
  }

  // Reconciles until the controller's informer reflects the latest object state.
  ReconcileResult reconcile(const std::string& name) { return controller_->reconcile(key(name)); }

  // Waits until the controller's caches hold the server's current version of every QueueMonitor
  // and Deployment in the namespace: reconciles read them there, and our own writes come back
  // through the watches.
  void settle() {
    const auto caught_up = [&](const kube::Gvr& resource, auto cached) {
      auto listed = client().list(resource, ns(), {});
      if (!listed.ok()) return false;
      for (const auto& item : (*listed)["items"]) {
        auto copy = cached(key(item["metadata"]["name"].get<std::string>()));
        if (!copy || copy->value("/metadata/resourceVersion"_json_pointer, "") !=
                         item["metadata"].value("resourceVersion", "")) {
          return false;
        }
      }
      return true;
    };
    ASSERT_TRUE(controlplane::eventually([&] {
      return caught_up(kube::resources::kQueueMonitors,
                       [&](const std::string& k) { return controller_->cached_monitor(k); }) &&
             caught_up(kube::resources::kDeployments,
                       [&](const std::string& k) { return controller_->cached_deployment(k); });
    })) << "the controller's caches did not catch up with the server";
  }

  FakeClock clock_;
  testkit::KafkaMockCluster kafka_{1};
  std::unique_ptr<TestNamespace> ns_;
  KafkaSourceKind* context_ = nullptr;  // owned by factory_
  std::unique_ptr<SourceRegistry> factory_;
  std::unique_ptr<kube::EventRecorder> events_;
  std::unique_ptr<QueueMonitorController> controller_;
  // The controller's client when set (before start_controller()); outlives the controller.
  std::unique_ptr<LateWatchClient> late_watch_;
  std::unique_ptr<HeldStatusPatchClient> held_patches_;  // the same, when set
  int status_writers_ = 0;  // 0: reconcile() writes its status itself
};

const char* kLagPerReplica =
    R"({"policy":"lagPerReplica","targetLagPerReplica":500,"minReplicas":1,"maxReplicas":24,
        "scaleUp":{"maxPodsPerPeriod":20}})";

TEST_F(ControllerTest, ScalesUpWritesStatusAndEventThenStaysQuiet) {
  create_deployment("consumer", 1);
  produce_backlog();
  create_monitor(monitor("orders", kLagPerReplica));
  settle();

  auto result = reconcile("orders");
  EXPECT_FALSE(result.retry_with_backoff);
  ASSERT_TRUE(result.requeue_after.has_value());
  // pollIntervalSeconds 1: the next of this monitor's slots (poll_schedule.h).
  EXPECT_GE(*result.requeue_after, min_poll_gap(seconds(1)));
  EXPECT_EQ(*result.requeue_after, next_poll_delay(key("orders"), seconds(1), clock_.now()));
  EXPECT_EQ(deployment_replicas("consumer"), 10);  // ceil(4,800 / 500)
  EXPECT_EQ(controller_->scale_patches(), 1u);
  EXPECT_EQ(controller_->status_writes(), 1u);

  Json status = status_of("orders");
  EXPECT_EQ(status["metrics"]["consumerLag"], 4800);
  EXPECT_EQ(status["metrics"]["partitions"], 12);
  EXPECT_NEAR(status["metrics"]["lagSeconds"].get<double>(), 96.0, 0.01);
  EXPECT_EQ(status["metrics"]["lagSecondsMethod"], "fetch");
  EXPECT_EQ(status["replicas"]["current"], 10);
  EXPECT_EQ(status["replicas"]["desired"], 10);
  ASSERT_EQ(status["scalingHistory"].size(), 1u);
  EXPECT_EQ(status["scalingHistory"][0]["from"], 1);
  EXPECT_EQ(status["scalingHistory"][0]["to"], 10);
  EXPECT_EQ(status["scalingHistory"][0]["policy"], "lagPerReplica");
  EXPECT_NE(status["scalingHistory"][0]["reason"].get<std::string>().find("lag 4,800"),
            std::string::npos)
      << status["scalingHistory"][0]["reason"];
  EXPECT_EQ(condition(status, "Ready"), "True");
  EXPECT_EQ(condition(status, "SourceReachable"), "True");
  EXPECT_EQ(condition(status, "ScalingActive"), "True");
  EXPECT_EQ(status["observedGeneration"], 1);
  EXPECT_EQ(status["health"], "Healthy");

  auto events = client().list(kube::resources::kEvents, ns(), {});
  ASSERT_TRUE(events.ok());
  bool scaled_up_event = false;
  for (const auto& e : (*events)["items"]) scaled_up_event |= e["reason"] == "ScaledUp";
  EXPECT_TRUE(scaled_up_event);

  // The second poll knows the rates (offset deltas between two polls): that is news, written.
  settle();
  clock_.advance(seconds(1));
  reconcile("orders");
  EXPECT_EQ(controller_->status_writes(), 2u);
  EXPECT_TRUE(status_of("orders")["metrics"].contains("ingressRate"));

  // Nothing changes: no scale patch, no status write, however often it polls.
  settle();  // the watch delivers our own write to the cache the reconciles read
  for (int i = 0; i < 5; ++i) {
    clock_.advance(seconds(1));
    reconcile("orders");
  }
  EXPECT_EQ(controller_->scale_patches(), 1u);
  EXPECT_EQ(controller_->status_writes(), 2u);
}

TEST_F(ControllerTest, ScalesDownOnlyAfterStabilizationAndWithinRateLimits) {
  create_deployment("consumer", 1);
  produce_backlog();
  create_monitor(monitor("orders", kLagPerReplica));
  settle();
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 10);

  drain_all();
  clock_.advance(seconds(1));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 10)
      << "scale-down must wait out the 300 s stabilization window";
  settle();
  clock_.advance(seconds(300));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 5) << "at most 50 % down per 60 s";
  settle();
  clock_.advance(seconds(61));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 1);
  Json status = status_of("orders");
  ASSERT_EQ(status["scalingHistory"].size(), 3u);
  EXPECT_EQ(status["scalingHistory"][0]["to"], 1);  // newest first
  EXPECT_EQ(status["scalingHistory"][1]["to"], 5);
  EXPECT_EQ(status["metrics"]["consumerLag"], 0);
  EXPECT_EQ(status["metrics"]["lagSeconds"], 0.0);
}

// A group whose committed offsets stand still while lag grows (a poison message, a stuck
// downstream) counts as stalled after 180 s and 3 polls: more pods would not help, so scale-up
// holds, with the reason in the history, until the offsets move again.
TEST_F(ControllerTest, AStalledGroupHoldsScaleUpUntilItsOffsetsMove) {
  create_deployment("consumer", 1);
  produce_backlog();
  // 1,000 a replica keeps every step below the cap at the 12 partitions.
  create_monitor(monitor(
      "orders", R"({"policy":"lagPerReplica","targetLagPerReplica":1000,"maxReplicas":24})"));
  settle();
  // A minute later, with `per_partition` more messages on each partition: the next poll.
  const auto next_minute = [&](int per_partition) {
    for (int partition = 0; partition < 12; ++partition) {
      kafka_.produce("orders", partition, per_partition, clock_.now(),
                     std::chrono::milliseconds(1));
    }
    settle();
    clock_.advance(seconds(60));
    reconcile("orders");
  };
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 5);  // 4,800 / 1,000
  for (int expected : {6, 8}) {                   // +1,200 a minute, offsets still at 0
    next_minute(100);
    ASSERT_EQ(deployment_replicas("consumer"), expected) << status_of("orders").dump(2);
  }
  next_minute(100);
  EXPECT_EQ(deployment_replicas("consumer"), 8) << "8,400 behind wants 9, but the group is stuck";
  Json status = status_of("orders");
  EXPECT_EQ(status["metrics"]["consumerLag"], 8400);
  EXPECT_EQ(status["replicas"]["desired"], 8);
  EXPECT_EQ(status["health"], "Degraded");
  EXPECT_NE(status.value("healthReasons", Json::array()).dump().find("consumer group stalled"),
            std::string::npos)
      << status.dump(2);
  ASSERT_EQ(status["scalingHistory"].size(), 3u) << "a hold is not an action";
  EXPECT_EQ(condition(status, "ScalingActive"), "True");

  // The offsets move (1,200 consumed) while 3,600 more arrive: 10,800 behind, scaling resumes.
  std::map<int32_t, int64_t> committed;
  for (int p = 0; p < 12; ++p) committed[p] = 100;
  kafka_.commit("order-processor", "orders", committed);
  next_minute(300);
  EXPECT_EQ(deployment_replicas("consumer"), 11);  // ceil(10,800 / 1,000)
}

TEST_F(ControllerTest, DryRunRecordsDecisionsWithoutTouchingTheTarget) {
  create_deployment("consumer", 2);
  produce_backlog();
  create_monitor(
      monitor("orders", R"({"mode":"DryRun","policy":"lagPerReplica","targetLagPerReplica":500,
    "maxReplicas":24,"scaleUp":{"maxPodsPerPeriod":20}})"));
  settle();
  reconcile("orders");
  clock_.advance(seconds(1));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 2);
  EXPECT_EQ(controller_->scale_patches(), 0u);
  Json status = status_of("orders");
  EXPECT_EQ(status["replicas"]["current"], 2);
  EXPECT_EQ(status["replicas"]["desired"], 10);
  ASSERT_EQ(status["scalingHistory"].size(), 1u);  // recorded once, not every poll
  EXPECT_EQ(status["scalingHistory"][0]["dryRun"], true);
  EXPECT_EQ(status["scalingHistory"][0]["to"], 10);
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "DryRun");
}

TEST_F(ControllerTest, PausedMonitorObservesButNeverScales) {
  create_deployment("consumer", 2);
  produce_backlog();
  Json paused = monitor("orders", kLagPerReplica);
  paused["metadata"]["annotations"] = {{"lagpilot.io/paused", "true"}};
  create_monitor(paused);
  settle();
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 2);
  Json status = status_of("orders");
  EXPECT_EQ(status["metrics"]["consumerLag"], 4800);
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "Paused");
  EXPECT_EQ(status["replicas"]["desired"], 10);  // what it would do
}

TEST_F(ControllerTest, InvalidSpecIsReportedWithTheFieldAndNotRetried) {
  create_deployment("consumer", 2);
  create_monitor(monitor("orders", R"({"minReplicas":5,"maxReplicas":3})"));
  settle();
  auto result = reconcile("orders");
  EXPECT_FALSE(result.retry_with_backoff);
  EXPECT_FALSE(result.requeue_after.has_value());
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "Ready"), "False");
  EXPECT_EQ(condition(status, "Ready", "reason"), "InvalidSpec");
  EXPECT_NE(condition(status, "Ready", "message").find("spec.scaling.maxReplicas"),
            std::string::npos);
  EXPECT_EQ(deployment_replicas("consumer"), 2);
  EXPECT_EQ(context_->live_sources(), 0);
}

TEST_F(ControllerTest, MissingTargetIsRetriedWithBackoffUntilItAppears) {
  produce_backlog();
  create_monitor(monitor("orders", kLagPerReplica, "not-yet"));
  settle();
  auto result = reconcile("orders");
  EXPECT_TRUE(result.retry_with_backoff);
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "TargetNotFound");
  EXPECT_NE(condition(status, "ScalingActive", "message").find("not-yet"), std::string::npos);

  create_deployment("not-yet", 1);
  settle();
  clock_.advance(seconds(1));
  result = reconcile("orders");
  EXPECT_FALSE(result.retry_with_backoff);
  EXPECT_EQ(deployment_replicas("not-yet"), 10);
}

TEST_F(ControllerTest, UnreachableBrokerNeverScalesDownAndFallsBackAfterThreshold) {
  create_deployment("consumer", 8);
  create_monitor(
      monitor("orders", R"({"policy":"lagPerReplica","targetLagPerReplica":500,"maxReplicas":24,
    "fallback":{"failureThreshold":2,"replicas":6}})"));
  settle();
  kafka_.set_all_brokers_down();
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 8) << "a failed poll must not scale down";
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "SourceReachable"), "False");
  EXPECT_EQ(status["health"], "Unhealthy");
  clock_.advance(seconds(1));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 6) << "fallback replicas after 2 failed polls";
  status = status_of("orders");
  EXPECT_EQ(status["scalingHistory"][0]["policy"], "fallback");

  kafka_.set_all_brokers_up();
  ASSERT_TRUE(controlplane::eventually(
      [&] {
        clock_.advance(seconds(1));
        reconcile("orders");
        return condition(status_of("orders"), "SourceReachable") == "True";
      },
      seconds(30)));
}

TEST_F(ControllerTest, MissingAuthSecretIsNamedAndSecretKeysAreUsed) {
  create_deployment("consumer", 1);
  Json with_secret = monitor("orders", kLagPerReplica);
  with_secret["spec"]["source"]["kafka"]["authSecretRef"] = {{"name", "kafka-client"}};
  create_monitor(with_secret);
  settle();
  reconcile("orders");
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "SourceReachable", "reason"), "SecretNotFound");
  EXPECT_NE(condition(status, "SourceReachable", "message").find("kafka-client"),
            std::string::npos);

  create_secret("kafka-client", {{"security.protocol", "plaintext"}});
  produce_backlog();
  clock_.advance(seconds(61));  // past the Secret re-read interval
  reconcile("orders");
  status = status_of("orders");
  EXPECT_EQ(condition(status, "SourceReachable"), "True")
      << condition(status, "SourceReachable", "message");
  EXPECT_EQ(deployment_replicas("consumer"), 10);
}

TEST_F(ControllerTest, DeletingAMonitorReleasesItsSource) {
  create_deployment("consumer", 1);
  create_monitor(monitor("first", kLagPerReplica));
  create_monitor(monitor("second", kLagPerReplica));
  settle();
  reconcile("first");
  reconcile("second");
  EXPECT_EQ(controller_->live_monitors(), 2u);
  EXPECT_EQ(context_->live_sources(), 2);
  EXPECT_EQ(context_->kafka_clients().size(), 1u) << "monitors of one cluster share one client";

  ASSERT_TRUE(client().remove(kube::resources::kQueueMonitors, ns(), "first").ok());
  ASSERT_TRUE(controlplane::eventually([&] {
    reconcile("first");
    return controller_->live_monitors() == 1u;
  }));
  EXPECT_EQ(context_->live_sources(), 1);
  ASSERT_TRUE(client().remove(kube::resources::kQueueMonitors, ns(), "second").ok());
  ASSERT_TRUE(controlplane::eventually([&] {
    reconcile("second");
    return controller_->live_monitors() == 0u;
  }));
  EXPECT_EQ(context_->live_sources(), 0);
  EXPECT_EQ(context_->kafka_clients().size(), 0u);
}

TEST_F(ControllerTest, OneBadMonitorDoesNotStopTheOthers) {
  create_deployment("consumer", 1);
  produce_backlog();
  Json bad = monitor("bad", R"({"minReplicas":9,"maxReplicas":2})");
  create_monitor(bad);
  Json unreachable = monitor("unreachable", kLagPerReplica, "ghost");
  unreachable["spec"]["source"]["kafka"]["bootstrapServers"] = "127.0.0.1:1";
  create_monitor(unreachable);
  create_monitor(monitor("good", kLagPerReplica));
  settle();
  reconcile("bad");
  reconcile("unreachable");
  reconcile("good");
  EXPECT_EQ(deployment_replicas("consumer"), 10);
  EXPECT_EQ(condition(status_of("bad"), "Ready", "reason"), "InvalidSpec");
  EXPECT_EQ(condition(status_of("unreachable"), "SourceReachable"), "False");
}

// An Event of `reason` whose message contains `text`.
bool has_event(kube::KubeClient& client, const std::string& ns, const std::string& reason,
               const std::string& text) {
  auto events = client.list(kube::resources::kEvents, ns, {});
  if (!events.ok()) return false;
  for (const auto& e : (*events)["items"]) {
    if (e.value("reason", "") == reason && e.value("message", "").find(text) != std::string::npos)
      return true;
  }
  return false;
}

const char* kLagAlert = R"([{"name":"LagHigh","metric":"consumerLag","op":">","threshold":1000,
    "forSeconds":2,"severity":"critical","summary":"lag is {{ .value }} on {{ .topic }}"}])";

TEST_F(ControllerTest, BacklogFiresAnAlertAndDrainingResolvesIt) {
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alerts"] = Json::parse(kLagAlert);
  create_monitor(object);
  settle();

  reconcile("orders");  // lag 4,800 > 1,000: pending for forSeconds
  settle();
  Json status = status_of("orders");
  ASSERT_EQ(status["alerts"].size(), 1u) << status.dump();
  EXPECT_EQ(status["alerts"][0]["name"], "LagHigh");
  EXPECT_EQ(status["alerts"][0]["state"], "pending");
  EXPECT_EQ(status["health"], "Healthy") << "a pending alert does not affect health";

  clock_.advance(seconds(2));
  reconcile("orders");
  settle();
  status = status_of("orders");
  ASSERT_EQ(status["alerts"].size(), 1u) << status.dump();
  EXPECT_EQ(status["alerts"][0]["state"], "firing");
  EXPECT_EQ(status["alerts"][0]["severity"], "critical");
  EXPECT_EQ(status["alerts"][0]["value"], 4800);
  EXPECT_EQ(status["alerts"][0]["summary"], "lag is 4800 on orders");
  EXPECT_EQ(status["health"], "Unhealthy");
  EXPECT_EQ(condition(status, "Healthy"), "False");
  EXPECT_EQ(condition(status, "Healthy", "reason"), "Unhealthy");
  EXPECT_TRUE(has_event(client(), ns(), "AlertFiring", "LagHigh"));
  EXPECT_EQ(deployment_replicas("consumer"), 10) << "alerting does not change scaling";

  drain_all();
  clock_.advance(seconds(1));
  reconcile("orders");
  settle();
  status = status_of("orders");
  EXPECT_TRUE(status["alerts"].empty()) << status.dump();
  ASSERT_EQ(status["alertHistory"].size(), 1u) << status.dump();
  EXPECT_EQ(status["alertHistory"][0]["name"], "LagHigh");
  EXPECT_EQ(status["alertHistory"][0]["peakValue"], 4800);
  EXPECT_EQ(status["health"], "Healthy");
  EXPECT_EQ(condition(status, "Healthy"), "True");
  EXPECT_TRUE(has_event(client(), ns(), "AlertResolved", "LagHigh"));
}

TEST_F(ControllerTest, SourceDownMakesItUnhealthyAndFiresThePresetAlert) {
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alertsPreset"] = "default";
  create_monitor(object);
  settle();
  reconcile("orders");
  settle();
  kafka_.set_all_brokers_down();
  for (int i = 0; i < 3; ++i) {  // SourceUnreachable fires on the failureThreshold-th (3rd) failure
    clock_.advance(seconds(1));
    reconcile("orders");
    settle();
  }
  Json status = status_of("orders");
  EXPECT_EQ(status["health"], "Unhealthy") << status.dump();
  bool unreachable_firing = false;
  for (const auto& alert : status["alerts"])
    unreachable_firing |= alert["name"] == "SourceUnreachable" && alert["state"] == "firing";
  EXPECT_TRUE(unreachable_firing) << status["alerts"].dump();
  EXPECT_EQ(deployment_replicas("consumer"), 10) << "missing data never scales down";
  kafka_.set_all_brokers_up();
}

TEST_F(ControllerTest, InvalidAlertRuleIsNamedAndTheRestKeepsWorking) {
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alerts"] = Json::parse(kLagAlert);
  object["spec"]["alerts"].push_back({{"name", "Broken"},
                                      {"metric", "consumerLag"},
                                      {"op", ">"},
                                      {"threshold", 1},
                                      {"summary", "lag {{ .valu }}"}});
  create_monitor(object);
  settle();
  reconcile("orders");
  settle();
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "Ready"), "False");
  EXPECT_EQ(condition(status, "Ready", "reason"), "InvalidSpec");
  EXPECT_NE(condition(status, "Ready", "message").find("spec.alerts[1].summary"), std::string::npos)
      << condition(status, "Ready", "message");
  EXPECT_EQ(deployment_replicas("consumer"), 10) << "scaling keeps working";
  ASSERT_EQ(status["alerts"].size(), 1u) << "the valid rule keeps working";
  EXPECT_EQ(status["alerts"][0]["name"], "LagHigh");
}

TEST_F(ControllerTest, AlertAndSloStateContinueAfterARestart) {
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alerts"] = Json::parse(
      R"([{"name":"LagSlow","metric":"consumerLag","op":">","threshold":1000,"forSeconds":600}])");
  object["spec"]["slos"] = Json::parse(
      R"([{"name":"fresh","metric":"lagSeconds","goodWhen":{"op":"<=","threshold":30},
           "objectivePercent":99,"windowDays":1}])");
  create_monitor(object);
  settle();
  // 5 minutes behind (lagSeconds ~96 s > 30): bad time.
  for (int i = 0; i <= 300; i += 10) {
    reconcile("orders");
    clock_.advance(seconds(10));
  }
  settle();
  clock_.advance(seconds(31));  // past the throttle: the running figures are written
  reconcile("orders");
  settle();
  // The SLO's burn-rate alerts fire too; LagSlow waits out its 600 s.
  auto lag_slow = [](const Json& status) {
    for (const auto& alert : status.value("alerts", Json::array())) {
      if (alert.value("name", "") == "LagSlow") return alert;
    }
    return Json();
  };
  Json before = status_of("orders");
  ASSERT_TRUE(lag_slow(before).is_object()) << before.dump();
  EXPECT_EQ(lag_slow(before)["state"], "pending");
  const std::string pending_since = lag_slow(before)["since"];
  bool page_firing = false;
  for (const auto& alert : before["alerts"])
    page_firing |= alert["name"] == "fresh-burn-page" && alert["state"] == "firing";
  EXPECT_TRUE(page_firing) << "100 % bad time burns the budget at 100x";
  ASSERT_EQ(before["slos"].size(), 1u) << before.dump();
  const double budget_before = before["slos"][0]["errorBudgetRemainingSeconds"].get<double>();
  // 1 % of a day is 864 s; about 5 minutes of it are spent.
  EXPECT_LT(budget_before, 864 - 250);
  EXPECT_GT(budget_before, 864 - 400);

  start_controller();  // the operator restarts
  settle();
  // Two more minutes behind. Up to a minute before the restart may count as unknown (only closed
  // minutes are persisted), never twice.
  for (int i = 0; i < 120; i += 10) {
    clock_.advance(seconds(10));
    reconcile("orders");
  }
  settle();
  clock_.advance(seconds(31));
  reconcile("orders");
  settle();
  Json after = status_of("orders");
  ASSERT_TRUE(lag_slow(after).is_object()) << after.dump();
  EXPECT_EQ(lag_slow(after)["state"], "pending");
  EXPECT_EQ(lag_slow(after)["since"], pending_since) << "pending-since continues";
  const double budget_after = after["slos"][0]["errorBudgetRemainingSeconds"].get<double>();
  EXPECT_LT(budget_after, budget_before) << "the budget continues, not reset to the full 864 s";
  EXPECT_GE(budget_after, budget_before - 151 - 1) << "nothing counted twice";
}

TEST_F(ControllerTest, FiringAlertsReachAWebhookFromASecretAndResolve) {
  testkit::TestHttpServer receiver;
  notify::WebhookNotifier notifier(clock_, notify::make_cpprest_http_sender());
  start_controller(&notifier);
  create_secret("oncall-hook", {{"url", receiver.url("/hook")}});
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alerts"] = Json::parse(kLagAlert);
  object["spec"]["alerts"][0]["forSeconds"] = 0;
  object["spec"]["notifications"] = {
      {"webhooks", {{{"name", "oncall"}, {"urlSecretRef", {{"name", "oncall-hook"}}}}}}};
  create_monitor(object);
  settle();
  reconcile("orders");
  ASSERT_TRUE(receiver.wait_for_requests(1, std::chrono::seconds(10)));
  auto first = Json::parse(receiver.requests()[0].body);
  EXPECT_EQ(receiver.requests()[0].target, "/hook");
  EXPECT_EQ(first["status"], "firing") << first.dump();
  EXPECT_EQ(first["alerts"][0]["labels"]["alertname"], "LagHigh");
  EXPECT_EQ(first["alerts"][0]["labels"]["queuemonitor"], "orders");
  settle();
  EXPECT_EQ(condition(status_of("orders"), "NotificationsReady"), "True");
  EXPECT_EQ(condition(status_of("orders"), "NotificationsReady", "message"),
            "receivers in use: 1 (webhooks: 1, alertmanagers: 0, pagerduty: 0)");

  clock_.advance(seconds(1));
  reconcile("orders");  // still firing, nothing new: de-duplicated
  drain_all();
  clock_.advance(seconds(1));
  reconcile("orders");  // resolved
  ASSERT_TRUE(receiver.wait_for_requests(2, std::chrono::seconds(10)));
  ASSERT_TRUE(notifier.wait_idle(std::chrono::seconds(10)));
  ASSERT_EQ(receiver.request_count(), 2u);
  auto resolved = Json::parse(receiver.requests()[1].body);
  EXPECT_EQ(resolved["status"], "resolved") << resolved.dump();
  start_controller();  // detach the notifier before it goes out of scope
}

// Issue 16: a restart (or another replica) continues from status.webhookDeliveries: the alert the
// receiver was told about is not announced again; its resolution still arrives.
TEST_F(ControllerTest, AWebhookIsNotToldTwiceAfterARestart) {
  testkit::TestHttpServer receiver;
  auto before =
      std::make_unique<notify::WebhookNotifier>(clock_, notify::make_cpprest_http_sender());
  start_controller(before.get());
  create_secret("oncall-hook", {{"url", receiver.url("/hook")}});
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alerts"] = Json::parse(kLagAlert);
  object["spec"]["alerts"][0]["forSeconds"] = 0;
  object["spec"]["notifications"] = {
      {"webhooks", {{{"name", "oncall"}, {"urlSecretRef", {{"name", "oncall-hook"}}}}}}};
  create_monitor(object);
  settle();
  reconcile("orders");
  ASSERT_TRUE(receiver.wait_for_requests(1, std::chrono::seconds(10)));
  ASSERT_TRUE(before->wait_idle(std::chrono::seconds(10)));
  settle();
  clock_.advance(seconds(1));
  reconcile("orders");  // the delivery reaches status
  settle();
  Json status = status_of("orders");
  ASSERT_TRUE(status.contains("webhookDeliveries")) << status.dump();
  ASSERT_EQ(status["webhookDeliveries"].size(), 1u);
  EXPECT_EQ(status["webhookDeliveries"][0]["receiver"], "oncall");
  EXPECT_EQ(status["webhookDeliveries"][0]["firing"].size(), 1u);
  const std::string fingerprint =
      Json::parse(receiver.requests()[0].body)["alerts"][0]["fingerprint"];
  EXPECT_EQ(status["webhookDeliveries"][0]["firing"][0], fingerprint);

  auto after =
      std::make_unique<notify::WebhookNotifier>(clock_, notify::make_cpprest_http_sender());
  start_controller(after.get());  // the operator restarts
  before.reset();
  settle();
  clock_.advance(seconds(10));
  reconcile("orders");
  ASSERT_TRUE(after->wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(receiver.request_count(), 1u) << "the same firing alert is not announced again";

  drain_all();
  clock_.advance(seconds(1));
  reconcile("orders");  // resolved
  ASSERT_TRUE(receiver.wait_for_requests(2, std::chrono::seconds(10)));
  ASSERT_TRUE(after->wait_idle(std::chrono::seconds(10)));
  ASSERT_EQ(receiver.request_count(), 2u);
  auto resolved = Json::parse(receiver.requests()[1].body);
  EXPECT_EQ(resolved["status"], "resolved") << resolved.dump();
  settle();
  clock_.advance(seconds(1));
  reconcile("orders");
  settle();
  EXPECT_FALSE(status_of("orders").contains("webhookDeliveries"))
      << "nothing firing was delivered last: nothing to keep";
  start_controller();  // detach the notifier before it goes out of scope
}

// The latency comes from a real Prometheus evaluating real PromQL: vector(0.75) answers 0.75 s,
// a series that does not exist answers no sample.
TEST_F(ControllerTest, LatencyFromPrometheusReachesStatusAndDrivesDepthLatency) {
  testkit::PrometheusServer prometheus({});
  create_deployment("consumer", 1);
  produce_backlog();  // depth 4,800 > 1,000
  Json object = monitor("orders", R"({"policy":"depthLatency","minReplicas":1,"maxReplicas":24})");
  object["spec"]["latency"] = {
      {"prometheus", {{"serverUrl", prometheus.url()}, {"query", "vector(0.75)"}}}};
  create_monitor(object);
  settle();
  reconcile("orders");
  settle();
  Json status = status_of("orders");
  EXPECT_EQ(status["metrics"]["latencyP95Seconds"], 0.75) << status["metrics"].dump();
  EXPECT_EQ(status["metrics"]["latency"]["latencyP95Seconds"], 0.75);
  EXPECT_EQ(condition(status, "LatencyAvailable"), "True");
  EXPECT_EQ(deployment_replicas("consumer"), 2) << "depth > 1,000 and latency > 500 ms: doubled";

  // No sample: a condition and no value, never a zero that looks healthy; no scaling on it.
  auto patched = client().patch(
      kube::resources::kQueueMonitors, ns(), "orders", kube::PatchType::kMerge,
      {{"spec", {{"latency", {{"prometheus", {{"query", "lagpilot_test_no_such_series"}}}}}}}}, "");
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  settle();
  clock_.advance(seconds(60));
  reconcile("orders");
  settle();
  status = status_of("orders");
  EXPECT_EQ(condition(status, "LatencyAvailable"), "False");
  EXPECT_EQ(condition(status, "LatencyAvailable", "reason"), "LatencyNoData");
  EXPECT_FALSE(status["metrics"].contains("latencyP95Seconds")) << status["metrics"].dump();
  EXPECT_EQ(deployment_replicas("consumer"), 2) << "unknown latency holds the replicas";
  EXPECT_TRUE(has_event(client(), ns(), "LatencyNoData", "")) << "an Event when it goes missing";
}

// ---------------------------------------------------------------------------------------------
// Ownership of the target (issue 14): one controller scales a target.

const kube::Gvr kHpaV1{"autoscaling", "v1", "horizontalpodautoscalers", true};
const kube::Gvr kScaledObjects{"keda.sh", "v1alpha1", "scaledobjects", true};

class OwnershipTest : public ControllerTest {
 protected:
  // True once `key` has been added to the work queue (drains what is ready, with workers 0).
  bool was_queued(const std::string& monitor_key) {
    bool found = false;
    while (controller_->queue().ready_count() > 0) {
      auto next = controller_->queue().get();
      if (!next) break;
      found |= *next == monitor_key;
      controller_->queue().done(*next);
    }
    return found;
  }
  void wait_for_autoscalers(std::size_t count) {
    ASSERT_TRUE(controlplane::eventually([&] {
      return controller_->cached_autoscalers(ns(), "Deployment", "consumer").size() == count;
    })) << "the controller's caches did not see the autoscalers";
  }
  void scale_by_hand(const std::string& name, int replicas) {
    auto patched = client().patch_scale(kube::resources::kDeployments, ns(), name, replicas);
    ASSERT_TRUE(patched.ok()) << patched.error().message;
  }
  bool server_has_monitor(const std::string& name) {
    auto got = client().get(kube::resources::kQueueMonitors, ns(), name);
    return got.ok() || got.error().reason != kube::ApiReason::kNotFound;
  }
  Json server_monitor(const std::string& name) {
    auto got = client().get(kube::resources::kQueueMonitors, ns(), name);
    return got.ok() ? *got : Json::object();
  }
};

TEST_F(OwnershipTest, TheYoungerOfTwoMonitorsNeverScalesAndResumesWhenTheOlderIsDeleted) {
  create_deployment("consumer", 1);
  produce_backlog();
  create_monitor(monitor("orders-a", kLagPerReplica));  // 500 a replica: 10
  create_monitor(
      monitor("orders-b", R"({"policy":"lagPerReplica","targetLagPerReplica":400,"maxReplicas":24,
                      "scaleUp":{"maxPodsPerPeriod":20}})"));  // 400 a replica: 12
  settle();
  reconcile("orders-a");
  ASSERT_EQ(deployment_replicas("consumer"), 10);
  // Polls over less than the 180 s after which a group without progress counts as stalled.
  for (int i = 0; i < 2; ++i) {
    reconcile("orders-b");
    settle();
    clock_.advance(seconds(30));
  }
  EXPECT_EQ(deployment_replicas("consumer"), 10) << "the younger monitor must not scale";
  EXPECT_EQ(controller_->scale_patches(), 1u);
  Json status = status_of("orders-b");
  EXPECT_EQ(condition(status, "ScalingActive"), "False");
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "TargetConflict");
  EXPECT_NE(condition(status, "ScalingActive", "message").find("QueueMonitor orders-a"),
            std::string::npos)
      << condition(status, "ScalingActive", "message");
  EXPECT_EQ(status["metrics"]["consumerLag"], 4800) << "it keeps observing";
  EXPECT_EQ(status["replicas"]["desired"], 12) << "and says what it would do";
  EXPECT_FALSE(status.contains("originalReplicas")) << "it never took the target";
  EXPECT_TRUE(has_event(client(), ns(), "TargetConflict", "QueueMonitor orders-a"));
  EXPECT_EQ(condition(status_of("orders-a"), "ScalingActive"), "True");
  EXPECT_EQ(status_of("orders-a")["originalReplicas"], 1);

  // The older one goes: the younger is queued at once and scales.
  was_queued(key("orders-b"));
  ASSERT_TRUE(client().remove(kube::resources::kQueueMonitors, ns(), "orders-a").ok());
  ASSERT_TRUE(controlplane::eventually([&] { return was_queued(key("orders-b")); }))
      << "deleting the owner must queue the monitor that lost to it";
  settle();
  reconcile("orders-b");
  EXPECT_EQ(deployment_replicas("consumer"), 12);
  EXPECT_EQ(condition(status_of("orders-b"), "ScalingActive"), "True");
}

TEST_F(OwnershipTest, AHorizontalPodAutoscalerOnTheTargetIsAConflict) {
  const std::string release =
      controlplane::ControlPlaneEnvironment::plane()->value("LAGPILOT_KUBE_GIT_VERSION");
  ASSERT_TRUE(controller_->hpa_resource().has_value());
  EXPECT_EQ(controller_->hpa_resource()->version,
            release.rfind("v1.20.", 0) == 0 ? "v2beta2" : "v2")
      << release;
  create_deployment("consumer", 2);
  produce_backlog();
  // Created as autoscaling/v1, served to the controller in the version it watches.
  Json hpa = {{"apiVersion", "autoscaling/v1"},
              {"kind", "HorizontalPodAutoscaler"},
              {"metadata", {{"name", "consumer-cpu"}}},
              {"spec",
               {{"scaleTargetRef",
                 {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", "consumer"}}},
                {"minReplicas", 1},
                {"maxReplicas", 20},
                {"targetCPUUtilizationPercentage", 80}}}};
  ASSERT_TRUE(client().create(kHpaV1, ns(), hpa).ok());
  wait_for_autoscalers(1);
  create_monitor(monitor("orders", kLagPerReplica));
  settle();
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 2);
  EXPECT_EQ(controller_->scale_patches(), 0u);
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "TargetConflict");
  EXPECT_NE(
      condition(status, "ScalingActive", "message").find("HorizontalPodAutoscaler consumer-cpu"),
      std::string::npos)
      << condition(status, "ScalingActive", "message");
  EXPECT_TRUE(has_event(client(), ns(), "TargetConflict", "HorizontalPodAutoscaler consumer-cpu"));

  was_queued(key("orders"));
  ASSERT_TRUE(client().remove(kHpaV1, ns(), "consumer-cpu").ok());
  wait_for_autoscalers(0);
  EXPECT_TRUE(was_queued(key("orders"))) << "the HPA's deletion must queue the monitor";
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 10);
  EXPECT_EQ(condition(status_of("orders"), "ScalingActive"), "True");
}

TEST_F(OwnershipTest, AKedaScaledObjectOnTheTargetIsAConflict) {
  auto installed =
      controlplane::install_crds(client(), LAGPILOT_SOURCE_DIR "/tests/controllers/data/keda");
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  start_controller();  // discovery at start-up now finds keda.sh/v1alpha1
  ASSERT_TRUE(controller_->watches_scaled_objects());
  create_deployment("consumer", 2);
  produce_backlog();
  Json scaled_object = {{"apiVersion", "keda.sh/v1alpha1"},
                        {"kind", "ScaledObject"},
                        {"metadata", {{"name", "consumer-kafka"}}},
                        {"spec", {{"scaleTargetRef", {{"name", "consumer"}}}}}};  // kind omitted
  auto created = client().create(kScaledObjects, ns(), scaled_object);
  ASSERT_TRUE(created.ok()) << created.error().message;
  wait_for_autoscalers(1);
  create_monitor(monitor("orders", kLagPerReplica));
  settle();
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 2);
  EXPECT_EQ(condition(status_of("orders"), "ScalingActive", "reason"), "TargetConflict");
  EXPECT_NE(condition(status_of("orders"), "ScalingActive", "message")
                .find("ScaledObject consumer-kafka"),
            std::string::npos);

  ASSERT_TRUE(client().remove(kScaledObjects, ns(), "consumer-kafka").ok());
  wait_for_autoscalers(0);
  clock_.advance(seconds(1));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 10);
}

TEST_F(OwnershipTest, PausedReplicasPinsTheTarget) {
  create_deployment("consumer", 2);
  produce_backlog();
  Json pinned = monitor("orders", kLagPerReplica);
  pinned["metadata"]["annotations"] = {{"lagpilot.io/paused-replicas", "4"}};
  create_monitor(pinned);
  settle();
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 4);
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "ScalingActive"), "False");
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "Paused");
  EXPECT_NE(condition(status, "ScalingActive", "message").find("lagpilot.io/paused-replicas"),
            std::string::npos);
  EXPECT_EQ(status["replicas"]["desired"], 10) << "what it would do unpinned";
  ASSERT_FALSE(status["scalingHistory"].empty());
  EXPECT_EQ(status["scalingHistory"][0]["policy"], "pausedReplicas");
  EXPECT_EQ(status["scalingHistory"][0]["to"], 4);

  settle();
  for (int i = 0; i < 2; ++i) {
    clock_.advance(seconds(30));
    reconcile("orders");
  }
  EXPECT_EQ(deployment_replicas("consumer"), 4) << "held, whatever the backlog";
  EXPECT_EQ(controller_->scale_patches(), 1u);

  // A bad value names the annotation and scales nothing.
  ASSERT_TRUE(
      client()
          .patch(kube::resources::kQueueMonitors, ns(), "orders", kube::PatchType::kMerge,
                 {{"metadata", {{"annotations", {{"lagpilot.io/paused-replicas", "four"}}}}}})
          .ok());
  settle();
  clock_.advance(seconds(61));
  reconcile("orders");
  status = status_of("orders");
  EXPECT_EQ(condition(status, "Ready", "reason"), "InvalidSpec");
  EXPECT_NE(condition(status, "Ready", "message").find("lagpilot.io/paused-replicas"),
            std::string::npos)
      << condition(status, "Ready", "message");
  EXPECT_EQ(condition(status, "ScalingActive", "reason"), "InvalidSpec");
  EXPECT_EQ(deployment_replicas("consumer"), 4);

  // Unpinned: scaling resumes (the group makes progress: 100 of 400 consumed on each partition,
  // 3,600 behind).
  std::map<int32_t, int64_t> committed;
  for (int p = 0; p < 12; ++p) committed[p] = 100;
  kafka_.commit("order-processor", "orders", committed);
  ASSERT_TRUE(
      client()
          .patch(kube::resources::kQueueMonitors, ns(), "orders", kube::PatchType::kMerge,
                 {{"metadata", {{"annotations", {{"lagpilot.io/paused-replicas", nullptr}}}}}})
          .ok());
  settle();
  clock_.advance(seconds(30));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 8);
}

TEST_F(OwnershipTest, AManualScaleIsRecordedAndAnnouncedThenOverridden) {
  create_deployment("consumer", 1);
  produce_backlog();
  create_monitor(monitor("orders", kLagPerReplica));
  settle();
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 10);
  scale_by_hand("consumer", 3);  // kubectl scale --replicas=3
  settle();
  clock_.advance(seconds(61));
  reconcile("orders");
  EXPECT_TRUE(has_event(client(), ns(), "ScaledOutsideLagpilot", "10 -> 3 outside lagpilot"));
  EXPECT_EQ(deployment_replicas("consumer"), 10) << "lagpilot owns the replicas";
  Json history = status_of("orders")["scalingHistory"];
  ASSERT_GE(history.size(), 3u) << history.dump();
  EXPECT_EQ(history[0]["from"], 3);  // newest first: the override,
  EXPECT_EQ(history[0]["to"], 10);
  EXPECT_EQ(history[1]["policy"], "external");  // the change by hand,
  EXPECT_EQ(history[1]["reason"], "changed outside lagpilot");
  EXPECT_EQ(history[1]["from"], 10);
  EXPECT_EQ(history[1]["to"], 3);
  EXPECT_EQ(history[2]["to"], 10);  // the first scale-up

  // Paused, a change by hand is the user's: no record.
  ASSERT_TRUE(client()
                  .patch(kube::resources::kQueueMonitors, ns(), "orders", kube::PatchType::kMerge,
                         {{"metadata", {{"annotations", {{"lagpilot.io/paused", "true"}}}}}})
                  .ok());
  settle();
  clock_.advance(seconds(61));
  reconcile("orders");
  scale_by_hand("consumer", 5);
  settle();
  clock_.advance(seconds(61));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 5);
  EXPECT_EQ(status_of("orders")["scalingHistory"].size(), history.size());
}

TEST_F(OwnershipTest, OnDeleteRestorePutsTheOriginalReplicasBack) {
  create_deployment("consumer", 2);
  produce_backlog();
  create_monitor(
      monitor("orders", R"({"policy":"lagPerReplica","targetLagPerReplica":500,"maxReplicas":24,
                    "scaleUp":{"maxPodsPerPeriod":20},"onDelete":"Restore"})"));
  settle();
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 10);
  EXPECT_EQ(status_of("orders")["originalReplicas"], 2);
  Json finalizers = server_monitor("orders")["metadata"].value("finalizers", Json::array());
  EXPECT_EQ(finalizers, Json::array({"lagpilot.io/restore-replicas"}));

  ASSERT_TRUE(client().remove(kube::resources::kQueueMonitors, ns(), "orders").ok());
  ASSERT_TRUE(controlplane::eventually([&] {
    auto cached = controller_->cached_monitor(key("orders"));
    return cached && cached->contains("/metadata/deletionTimestamp"_json_pointer);
  }));
  reconcile("orders");
  EXPECT_EQ(deployment_replicas("consumer"), 2);
  EXPECT_TRUE(has_event(client(), ns(), "ReplicasRestored", "restored to 2 replicas"));
  EXPECT_TRUE(controlplane::eventually([&] { return !server_has_monitor("orders"); }))
      << "the finalizer must be gone";
}

TEST_F(OwnershipTest, OnDeleteRestoreLetsGoWhenTheTargetIsGone) {
  create_deployment("consumer", 2);
  produce_backlog();
  create_monitor(
      monitor("orders", R"({"policy":"lagPerReplica","targetLagPerReplica":500,"maxReplicas":24,
                    "scaleUp":{"maxPodsPerPeriod":20},"onDelete":"Restore"})"));
  settle();
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 10);
  settle();
  ASSERT_TRUE(client().remove(kube::resources::kDeployments, ns(), "consumer").ok());
  ASSERT_TRUE(client().remove(kube::resources::kQueueMonitors, ns(), "orders").ok());
  ASSERT_TRUE(controlplane::eventually([&] {
    reconcile("orders");
    return !server_has_monitor("orders");
  })) << "a target that is gone must not hold the deletion";
  EXPECT_TRUE(has_event(client(), ns(), "ReplicasNotRestored", "not restored to 2"));
}

TEST_F(OwnershipTest, OnDeleteRestoreNeverBlocksNamespaceDeletion) {
  create_deployment("consumer", 2);
  produce_backlog();
  create_monitor(
      monitor("orders", R"({"policy":"lagPerReplica","targetLagPerReplica":500,"maxReplicas":24,
                    "onDelete":"Restore"})"));
  settle();
  reconcile("orders");
  ASSERT_FALSE(server_monitor("orders")["metadata"].value("finalizers", Json::array()).empty());
  ASSERT_TRUE(client().remove(kube::resources::kNamespaces, "", ns()).ok());
  EXPECT_TRUE(controlplane::eventually(
      [&] {
        reconcile("orders");  // what the workers do as the namespace controller deletes it
        auto got = client().get(kube::resources::kNamespaces, "", ns());
        return !got.ok() && got.error().reason == kube::ApiReason::kNotFound;
      },
      seconds(90), std::chrono::milliseconds(200)))
      << "the namespace is still there: " << server_monitor("orders").dump();
}

// A Prometheus on loopback that answers every instant query with 0.75 and records each request:
// what reaches it is what the operator sent.
testkit::HttpReply prometheus_answer(const testkit::HttpRequestRecord&) {
  return {200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},)"
               R"("value":[1700000000,"0.75"]}]}})"};
}

Json latency_from(const testkit::TestHttpServer& prometheus, const std::string& secret) {
  return {{"prometheus",
           {{"serverUrl", "http://127.0.0.1:" + std::to_string(prometheus.port())},
            {"query", "vector(0.75)"},
            {"authSecretRef", {{"name", secret}}}}}};
}

constexpr const char* kToken = "tok-3f9a-never-anywhere";

// Issue 14: a QueueMonitor must not be a way to send a Secret that its owner did not allow.
TEST_F(ControllerTest, ASecretWithoutTheAllowLabelIsNeverSentAnywhere) {
  testkit::TestHttpServer prometheus(prometheus_answer);
  create_deployment("consumer", 1);
  create_secret("prom-token", {{"token", kToken}}, /*allowed=*/false);
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["latency"] = latency_from(prometheus, "prom-token");
  create_monitor(object);
  settle();
  reconcile("orders");
  settle();
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "LatencyAvailable"), "False");
  EXPECT_EQ(condition(status, "LatencyAvailable", "reason"), "SecretNotAllowed");
  const std::string message = condition(status, "LatencyAvailable", "message");
  EXPECT_NE(message.find("spec.latency.prometheus.authSecretRef: Secret " + ns() + "/prom-token"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("lagpilot.io/allow: \"true\""), std::string::npos) << message;
  EXPECT_TRUE(has_event(client(), ns(), "SecretNotAllowed", "prom-token"));
  EXPECT_EQ(prometheus.request_count(), 0u) << "nothing may be sent without the label";
  EXPECT_EQ(condition(status, "SourceReachable"), "True") << "the rest of the monitor works";

  // Its owner allows it: the token goes to the server, as a bearer token.
  auto labelled =
      client().patch(kube::resources::kSecrets, ns(), "prom-token", kube::PatchType::kMerge,
                     {{"metadata", {{"labels", {{"lagpilot.io/allow", "true"}}}}}}, "");
  ASSERT_TRUE(labelled.ok()) << labelled.error().message;
  clock_.advance(seconds(61));  // past the Secret re-read interval
  reconcile("orders");
  settle();
  status = status_of("orders");
  EXPECT_EQ(condition(status, "LatencyAvailable"), "True")
      << condition(status, "LatencyAvailable", "message");
  ASSERT_GE(prometheus.request_count(), 1u);
  EXPECT_EQ(prometheus.requests()[0].headers["authorization"], std::string("Bearer ") + kToken);

  // Allowed no more (the label is read again at every re-read): the source built from it goes.
  auto unlabelled =
      client().patch(kube::resources::kSecrets, ns(), "prom-token", kube::PatchType::kMerge,
                     {{"metadata", {{"labels", {{"lagpilot.io/allow", "no"}}}}}}, "");
  ASSERT_TRUE(unlabelled.ok()) << unlabelled.error().message;
  const auto sent = prometheus.request_count();
  clock_.advance(seconds(61));
  reconcile("orders");
  clock_.advance(seconds(1));
  reconcile("orders");
  settle();
  EXPECT_EQ(condition(status_of("orders"), "LatencyAvailable", "reason"), "SecretNotAllowed");
  EXPECT_EQ(prometheus.request_count(), sent) << "no request after the label went";
}

TEST_F(ControllerTest, CredentialsGoOnlyToAllowedDestinations) {
  testkit::TestHttpServer prometheus(prometheus_answer);
  auto policy = CredentialPolicy::from_patterns({"prometheus/prometheus.monitoring.svc"});
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  start_controller(nullptr, *policy);
  create_deployment("consumer", 1);
  create_secret("prom-token", {{"token", kToken}});
  create_secret("kafka-client", {{"security.protocol", "plaintext"}});
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["latency"] = latency_from(prometheus, "prom-token");
  object["spec"]["source"]["kafka"]["authSecretRef"] = {{"name", "kafka-client"}};
  create_monitor(object);
  settle();
  reconcile("orders");
  settle();
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "LatencyAvailable", "reason"), "DestinationNotAllowed");
  const std::string latency = condition(status, "LatencyAvailable", "message");
  EXPECT_NE(latency.find("spec.latency.prometheus.serverUrl: http://127.0.0.1:"), std::string::npos)
      << latency;
  EXPECT_NE(latency.find("--allowed-credential-destinations"), std::string::npos) << latency;
  EXPECT_EQ(condition(status, "SourceReachable", "reason"), "DestinationNotAllowed")
      << "a Kafka bootstrap server outside the list: the SASL Secret is not used either";
  EXPECT_NE(condition(status, "SourceReachable", "message")
                .find("spec.source.kafka.bootstrapServers: " + kafka_.bootstrap_servers()),
            std::string::npos);
  EXPECT_EQ(prometheus.request_count(), 0u);
  EXPECT_EQ(deployment_replicas("consumer"), 1) << "nothing known, nothing scaled";

  // The same servers, allowed: both work.
  policy = CredentialPolicy::from_patterns({"prometheus/127.0.0.1", "kafka/127.0.0.1"});
  ASSERT_TRUE(policy.ok());
  start_controller(nullptr, *policy);
  settle();
  reconcile("orders");
  settle();
  status = status_of("orders");
  EXPECT_EQ(condition(status, "LatencyAvailable"), "True")
      << condition(status, "LatencyAvailable", "message");
  EXPECT_EQ(condition(status, "SourceReachable"), "True")
      << condition(status, "SourceReachable", "message");
  EXPECT_GE(prometheus.request_count(), 1u);
}

TEST_F(ControllerTest, AWebhookSecretWithoutTheAllowLabelIsNotUsed) {
  testkit::TestHttpServer receiver;
  notify::WebhookNotifier notifier(clock_, notify::make_cpprest_http_sender());
  start_controller(&notifier);
  create_secret("oncall-hook", {{"url", receiver.url("/hook")}}, /*allowed=*/false);
  create_deployment("consumer", 1);
  produce_backlog();
  Json object = monitor("orders", kLagPerReplica);
  object["spec"]["alerts"] = Json::parse(kLagAlert);
  object["spec"]["alerts"][0]["forSeconds"] = 0;
  object["spec"]["notifications"] = {
      {"webhooks", {{{"name", "oncall"}, {"urlSecretRef", {{"name", "oncall-hook"}}}}}}};
  create_monitor(object);
  settle();
  reconcile("orders");
  settle();
  ASSERT_TRUE(notifier.wait_idle(std::chrono::seconds(10)));
  EXPECT_TRUE(has_event(client(), ns(), "AlertFiring", "LagHigh")) << "the alert fires";
  EXPECT_EQ(receiver.request_count(), 0u) << "but goes nowhere";
  Json status = status_of("orders");
  EXPECT_EQ(condition(status, "NotificationsReady"), "False");
  const std::string message = condition(status, "NotificationsReady", "message");
  EXPECT_NE(message.find("Secret " + ns() + "/oncall-hook is not labelled lagpilot.io/allow"),
            std::string::npos)
      << message;
  start_controller();  // detach the notifier before it goes out of scope
}

// Reconciles that follow one another faster than the watch brings back the operator's own status
// writes (a Deployment event right after a scale, a short pollInterval on a loaded apiserver)
// start from a cached status without the last write. Each must still build on what was written
// last: every scaling decision stays in scalingHistory, and a quiet poll writes nothing.
TEST_F(ControllerTest, ScalingHistoryKeepsEveryEntryWhenTheWatchLagsOurOwnWrites) {
  late_watch_ = std::make_unique<LateWatchClient>(client(), kube::resources::kQueueMonitors);
  LateWatchClient& late = *late_watch_;
  start_controller();
  create_deployment("consumer", 1);
  produce_backlog();
  create_monitor(monitor("orders", kLagPerReplica));
  settle();

  late.hold();  // from here the cache keeps the monitor without any status
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 10);
  drain_all();
  clock_.advance(seconds(1));
  reconcile("orders");  // holds 10 (stabilization)
  clock_.advance(seconds(300));
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 5);
  clock_.advance(seconds(61));
  reconcile("orders");
  ASSERT_EQ(deployment_replicas("consumer"), 1);
  const auto writes = controller_->status_writes();
  clock_.advance(seconds(1));
  reconcile("orders");  // nothing new: built on the last write, it writes nothing
  EXPECT_EQ(controller_->status_writes(), writes);
  auto cached = controller_->cached_monitor(key("orders"));
  ASSERT_TRUE(cached);
  EXPECT_FALSE(cached->contains("status")) << "the watch was expected to lag: " << cached->dump();

  Json status = status_of("orders");
  ASSERT_EQ(status["scalingHistory"].size(), 3u) << status["scalingHistory"].dump(2);
  EXPECT_EQ(status["scalingHistory"][0]["to"], 1);  // newest first
  EXPECT_EQ(status["scalingHistory"][1]["to"], 5);
  EXPECT_EQ(status["scalingHistory"][2]["to"], 10);
  EXPECT_EQ(status["replicas"]["current"], 1);

  // Once the watch catches up the cache is the source again: still nothing to write.
  late.release();
  settle();
  clock_.advance(seconds(1));
  reconcile("orders");
  EXPECT_EQ(controller_->status_writes(), writes);
  EXPECT_EQ(status_of("orders")["scalingHistory"].size(), 3u);
}

// The same with status writes off the poll path (--status-writers, the operator's default): a
// reconcile that comes while its monitor's write is on its way waits for it (requeued, no poll),
// then builds on what the server answered.
TEST_F(ControllerTest, ScalingHistoryKeepsEveryEntryWithStatusWritersOffThePollPath) {
  late_watch_ = std::make_unique<LateWatchClient>(client(), kube::resources::kQueueMonitors);
  LateWatchClient& late = *late_watch_;
  status_writers_ = 2;
  start_controller();
  create_deployment("consumer", 1);
  produce_backlog();
  create_monitor(monitor("orders", kLagPerReplica));
  settle();
  // Reconciles at once, as a Deployment event would, and again while the write is pending.
  auto reconcile_now = [&] {
    auto result = reconcile("orders");
    while (controller_->status_writes_pending() > 0) {
      auto again = reconcile("orders");
      ASSERT_TRUE(again.requeue_after) << "a pending write requeues";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    (void)result;
  };

  late.hold();
  reconcile_now();
  ASSERT_EQ(deployment_replicas("consumer"), 10);
  drain_all();
  clock_.advance(seconds(1));
  reconcile_now();
  clock_.advance(seconds(300));
  reconcile_now();
  ASSERT_EQ(deployment_replicas("consumer"), 5);
  clock_.advance(seconds(61));
  reconcile_now();
  ASSERT_EQ(deployment_replicas("consumer"), 1);
  const auto writes = controller_->status_writes();
  clock_.advance(seconds(1));
  reconcile_now();
  EXPECT_EQ(controller_->status_writes(), writes) << "nothing new: nothing written";

  Json status = status_of("orders");
  ASSERT_EQ(status["scalingHistory"].size(), 3u) << status["scalingHistory"].dump(2);
  EXPECT_EQ(status["scalingHistory"][0]["to"], 1);
  EXPECT_EQ(status["scalingHistory"][1]["to"], 5);
  EXPECT_EQ(status["scalingHistory"][2]["to"], 10);
  late.release();
}

// A reconcile that finds its monitor's status write still on its way does not look again every
// 100 ms (10,000 first status writes waiting at start-up made that 100,000 idle reconciles a
// second in front of the polls): it is due at the monitor's next poll slot, and the write, once
// it lands, brings it forward to 100 ms later.
TEST_F(ControllerTest, AReconcileWaitingForItsStatusWriteComesBackWhenTheWriteLands) {
  held_patches_ = std::make_unique<HeldStatusPatchClient>(client());
  status_writers_ = 2;
  start_controller();
  struct ReleaseAtExit {  // a failed assertion must not leave the writer held when it is joined
    HeldStatusPatchClient& client;
    ~ReleaseAtExit() { client.release(); }
  } release_at_exit{*held_patches_};
  create_deployment("consumer", 1);
  create_monitor(monitor("orders", kLagPerReplica));
  settle();

  (void)reconcile("orders");  // its first status: held at the server
  ASSERT_EQ(controller_->status_writes_pending(), 1u);
  auto waiting = reconcile("orders");
  ASSERT_TRUE(waiting.requeue_after.has_value());
  EXPECT_EQ(*waiting.requeue_after, next_poll_delay(key("orders"), seconds(1), clock_.now()));
  EXPECT_FALSE(controller_->queue().deadline(key("orders")).has_value());

  held_patches_->release();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!controller_->queue().deadline(key("orders")) &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the writer thread's answer
  }
  auto due = controller_->queue().deadline(key("orders"));
  ASSERT_TRUE(due.has_value()) << "the landed write did not bring the reconcile back";
  EXPECT_EQ(*due - clock_.now(), std::chrono::milliseconds(100));
  while (controller_->status_writes_pending() > 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(controller_->status_writes(), 1u) << "one write: the reconcile that waited wrote none";
}

}  // namespace
}  // namespace lagpilot::controllers
