// StatusWriter against the real API server: status patches off the poll path, at most one waiting
// and one in flight per monitor, the newest waiting one replacing older ones. The API server's
// slowness is injected (a patch waits at a gate); everything else is real.
#include "controllers/status_writer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "controlplane/crds.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "tests/support/forwarding_kube_client.h"

namespace lagpilot::controllers {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::TestNamespace;
using kube::Json;

// The real client, with status patches held at a gate until the test opens it: a slow server.
class GatedPatchClient final : public testkit::ForwardingKubeClient {
 public:
  explicit GatedPatchClient(kube::KubeClient& real) : ForwardingKubeClient(real) {}
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait_for_held(int count) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return held_ >= count; });
  }

  kube::ApiResult<Json> patch(const kube::Gvr& g, const std::string& n, const std::string& m,
                              kube::PatchType t, const Json& p, const std::string& s) override {
    {
      std::unique_lock lock(mutex_);
      ++held_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return real_.patch(g, n, m, t, p, s);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
  int held_ = 0;
};

// Opens the gate when a test ends early, before its writer joins threads held at the gate.
struct OpenAtExit {
  GatedPatchClient& client;
  ~OpenAtExit() { client.open(); }
};

class StatusWriterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    auto installed = controlplane::install_crds(ControlPlaneEnvironment::admin_client(),
                                                LAGPILOT_SOURCE_DIR "/crds");
    ASSERT_TRUE(installed.ok()) << installed.error().message;
  }
  void SetUp() override {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    ns_ = std::make_unique<TestNamespace>(client(), "sw");
  }
  kube::KubeClient& client() { return ControlPlaneEnvironment::admin_client(); }
  void create_monitor(const std::string& name) {
    auto created = client().create(
        kube::resources::kQueueMonitors, ns_->name(),
        Json::parse(
            R"({"apiVersion":"lagpilot.io/v1alpha1","kind":"QueueMonitor","metadata":{"name":")" +
            name +
            R"("},"spec":{"source":{"kafka":{"bootstrapServers":"127.0.0.1:1","topic":"t",
                    "consumerGroup":"g"}},"target":{"apiVersion":"apps/v1","kind":"Deployment",
                    "name":"consumer"},"scaling":{"policy":"lagPerReplica","maxReplicas":3}}})"));
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  Json server_status(const std::string& name) {
    auto got = client().get(kube::resources::kQueueMonitors, ns_->name(), name);
    return got ? got->value("status", Json::object()) : Json();
  }
  static Json health(const std::string& value) { return {{"status", {{"health", value}}}}; }

  std::unique_ptr<TestNamespace> ns_;
};

TEST_F(StatusWriterTest, ANewerWaitingPatchReplacesTheOlderAndEachMonitorWritesInOrder) {
  create_monitor("orders");
  create_monitor("billing");
  GatedPatchClient slow(client());
  std::mutex mutex;
  std::vector<std::size_t> pending_reports;
  StatusWriter writer(slow, {2, nullptr,
                             [&](std::size_t pending) {
                               std::lock_guard lock(mutex);
                               pending_reports.push_back(pending);
                             },
                             nullptr, nullptr});
  OpenAtExit open_at_exit{slow};
  writer.start();
  const std::string orders = ns_->name() + "/orders";
  ASSERT_TRUE(writer.submit(orders, ns_->name(), "orders", health("Degraded")));
  ASSERT_TRUE(slow.wait_for_held(1));  // in flight, held by the server
  // Two more for the same monitor while the first is in flight: the second replaces the first of
  // them, and neither overtakes the one in flight (the other thread stays idle for it).
  ASSERT_TRUE(writer.submit(orders, ns_->name(), "orders", health("Unhealthy")));
  ASSERT_TRUE(writer.submit(orders, ns_->name(), "orders", health("Healthy")));
  ASSERT_TRUE(writer.submit(ns_->name() + "/billing", ns_->name(), "billing", health("Unknown")));
  ASSERT_TRUE(slow.wait_for_held(2));  // billing's, on the other thread
  EXPECT_EQ(writer.pending(), 3u);     // orders in flight and waiting, billing in flight
  slow.open();
  ASSERT_TRUE(controlplane::eventually([&] { return writer.pending() == 0; }));
  EXPECT_EQ(writer.written(), 3u) << "orders twice (the middle patch replaced), billing once";
  EXPECT_EQ(server_status("orders").value("health", ""), "Healthy");
  EXPECT_EQ(server_status("billing").value("health", ""), "Unknown");
  {
    std::lock_guard lock(mutex);
    ASSERT_FALSE(pending_reports.empty());
    EXPECT_EQ(pending_reports.back(), 0u);
  }
  writer.stop();  // it reports to on_pending too: not under `mutex`
}

// The controller builds a monitor's next status on its last write: it waits while pending_for()
// and learns the written object from on_written.
TEST_F(StatusWriterTest, PendingUntilWrittenThenOnWrittenGetsTheServersAnswer) {
  create_monitor("orders");
  GatedPatchClient slow(client());
  StatusWriter writer(slow, {1, nullptr, nullptr, nullptr, nullptr});
  OpenAtExit open_at_exit{slow};
  writer.start();
  const std::string orders = ns_->name() + "/orders";
  std::mutex mutex;
  Json answered;
  EXPECT_FALSE(writer.pending_for(orders));
  ASSERT_TRUE(
      writer.submit(orders, ns_->name(), "orders", health("Degraded"), [&](const Json& object) {
        std::lock_guard lock(mutex);
        answered = object;
      }));
  EXPECT_TRUE(writer.pending_for(orders)) << "waiting";
  ASSERT_TRUE(slow.wait_for_held(1));
  EXPECT_TRUE(writer.pending_for(orders)) << "in flight";
  EXPECT_FALSE(writer.pending_for(ns_->name() + "/billing"));
  slow.open();
  ASSERT_TRUE(controlplane::eventually([&] { return !writer.pending_for(orders); }));
  std::lock_guard lock(mutex);
  EXPECT_EQ(answered.value("/status/health"_json_pointer, ""), "Degraded") << answered.dump();
  EXPECT_FALSE(answered.value("/metadata/resourceVersion"_json_pointer, "").empty());
}

TEST_F(StatusWriterTest, WithoutThreadsASubmitWritesAtOnceAndTheFenceStopsWrites) {
  create_monitor("orders");
  StatusWriter inline_writer(client(), {0, nullptr, nullptr, nullptr, nullptr});
  ASSERT_TRUE(
      inline_writer.submit(ns_->name() + "/orders", ns_->name(), "orders", health("Degraded")));
  EXPECT_EQ(inline_writer.written(), 1u);
  EXPECT_EQ(server_status("orders").value("health", ""), "Degraded");

  StatusWriter fenced(client(), {0, [] { return false; }, nullptr, nullptr, nullptr});
  EXPECT_FALSE(fenced.submit(ns_->name() + "/orders", ns_->name(), "orders", health("Healthy")));
  EXPECT_EQ(fenced.written(), 0u);
  EXPECT_EQ(server_status("orders").value("health", ""), "Degraded");
}

// With shards: a patch that waited while its monitor moved to another replica is dropped; the
// ownership is checked right before each write, so the one already in flight goes through.
TEST_F(StatusWriterTest, APatchWhoseMonitorMovedToAnotherReplicaWhileItWaitedIsNotWritten) {
  create_monitor("orders");
  create_monitor("billing");
  GatedPatchClient slow(client());
  std::mutex mutex;
  std::set<std::string> owned = {ns_->name() + "/orders", ns_->name() + "/billing"};
  StatusWriterOptions options;
  options.threads = 1;
  options.owns = [&](const std::string& key) {
    std::lock_guard lock(mutex);
    return owned.count(key) > 0;
  };
  StatusWriter writer(slow, options);
  OpenAtExit open_at_exit{slow};
  writer.start();
  ASSERT_TRUE(writer.submit(ns_->name() + "/orders", ns_->name(), "orders", health("Degraded")));
  ASSERT_TRUE(slow.wait_for_held(1));
  ASSERT_TRUE(writer.submit(ns_->name() + "/billing", ns_->name(), "billing", health("Degraded")));
  {
    std::lock_guard lock(mutex);
    owned.erase(ns_->name() + "/billing");  // the membership handed it to another replica
  }
  slow.open();
  ASSERT_TRUE(controlplane::eventually([&] { return writer.pending() == 0; }));
  EXPECT_EQ(writer.written(), 1u);
  EXPECT_EQ(server_status("orders").value("health", ""), "Degraded");
  EXPECT_FALSE(server_status("billing").contains("health")) << "written by a non-owner";
  writer.stop();

  StatusWriterOptions inline_options;
  inline_options.owns = [](const std::string&) { return false; };
  StatusWriter inline_writer(client(), inline_options);
  EXPECT_FALSE(
      inline_writer.submit(ns_->name() + "/orders", ns_->name(), "orders", health("Healthy")));
  EXPECT_EQ(server_status("orders").value("health", ""), "Degraded");
}

TEST_F(StatusWriterTest, ACancelledPatchIsNotWrittenAndStopDropsWhatWaits) {
  create_monitor("orders");
  create_monitor("billing");
  GatedPatchClient slow(client());
  StatusWriter writer(slow, {1, nullptr, nullptr, nullptr, nullptr});
  OpenAtExit open_at_exit{slow};
  writer.start();
  ASSERT_TRUE(writer.submit(ns_->name() + "/orders", ns_->name(), "orders", health("Degraded")));
  ASSERT_TRUE(slow.wait_for_held(1));
  ASSERT_TRUE(writer.submit(ns_->name() + "/billing", ns_->name(), "billing", health("Degraded")));
  writer.cancel(ns_->name() + "/billing");  // deleted while its patch waited
  EXPECT_EQ(writer.pending(), 1u);
  slow.open();
  ASSERT_TRUE(controlplane::eventually([&] { return writer.pending() == 0; }));
  EXPECT_EQ(writer.written(), 1u);
  EXPECT_FALSE(server_status("billing").contains("health"));
  writer.stop();
  EXPECT_FALSE(writer.submit(ns_->name() + "/orders", ns_->name(), "orders", health("Healthy")))
      << "a stopped writer takes nothing";
}

}  // namespace
}  // namespace lagpilot::controllers
