// Informer resilience against real faults: the API server restarted mid-watch, and a watch
// resumed from a resourceVersion that etcd compaction removed (410 Gone -> relist). This binary
// runs its control plane with --watch-cache=false so that watches read etcd and compaction bites.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "tests/support/forwarding_kube_client.h"

namespace lagpilot::kube {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::TestNamespace;

const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment("--watch-cache=false"));

// Labelled so that informers ignore the namespace's own kube-root-ca.crt.
Json config_map(const std::string& name) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"watched", "yes"}}}}},
          {"data", {{"v", "1"}}}};
}

// Passes everything to the real client, but can cut watches: open watches are cancelled and new
// ones fail while `cut` is set (a network partition between informer and API server).
class PartitionableClient final : public testkit::ForwardingKubeClient {
 public:
  explicit PartitionableClient(KubeClient& real) : ForwardingKubeClient(real) {}
  void cut() {
    std::lock_guard lock(mutex_);
    cut_ = true;
    for (auto* stream : open_) stream->cancel_inner();
  }
  void heal() {
    std::lock_guard lock(mutex_);
    cut_ = false;
  }

  ApiResult<std::unique_ptr<WatchStream>> watch(const Gvr& g, const std::string& n,
                                                const WatchOptions& o) override {
    {
      std::lock_guard lock(mutex_);
      if (cut_) return ApiError(ApiReason::kTransport, 0, "partitioned");
    }
    auto inner = real_.watch(g, n, o);
    if (!inner) return inner.error();
    // The informer opens its first watch after wait_for_sync() has returned, so cut() can land
    // while the request is in flight: check again under the lock that registers the stream.
    std::lock_guard lock(mutex_);
    if (cut_) {
      (*inner)->cancel();
      return ApiError(ApiReason::kTransport, 0, "partitioned");
    }
    auto stream = std::make_unique<TrackedStream>(std::move(*inner), *this);
    open_.insert(stream.get());
    return std::unique_ptr<WatchStream>(std::move(stream));
  }

 private:
  class TrackedStream final : public WatchStream {
   public:
    TrackedStream(std::unique_ptr<WatchStream> inner, PartitionableClient& owner)
        : inner_(std::move(inner)), owner_(owner) {}
    ~TrackedStream() override {
      std::lock_guard lock(owner_.mutex_);
      owner_.open_.erase(this);
    }
    ApiResult<std::optional<WatchEvent>> next() override {
      auto event = inner_->next();
      if (severed_) return ApiError(ApiReason::kTransport, 0, "connection reset (partition)");
      return event;
    }
    void cancel() override { inner_->cancel(); }
    void cancel_inner() {
      severed_ = true;
      inner_->cancel();
    }

   private:
    std::unique_ptr<WatchStream> inner_;
    PartitionableClient& owner_;
    std::atomic<bool> severed_{false};
  };

  std::mutex mutex_;
  bool cut_ = false;
  std::set<TrackedStream*> open_;
};

std::set<std::string> names_in(const Informer& informer) {
  std::set<std::string> names;
  for (const auto& object : informer.list())
    names.insert((*object)["metadata"]["name"].get<std::string>());
  return names;
}

TEST(WatchResilience, RelistsAfterCompactionMakesTheResourceVersionGone) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  KubeClient& admin = ControlPlaneEnvironment::admin_client();
  TestNamespace ns(admin);
  ASSERT_TRUE(admin.create(resources::kConfigMaps, ns.name(), config_map("kept")).ok());
  ASSERT_TRUE(
      admin.create(resources::kConfigMaps, ns.name(), config_map("removed-while-away")).ok());

  PartitionableClient partitionable(admin);
  InformerOptions options;
  options.min_backoff = std::chrono::milliseconds(50);
  options.max_backoff = std::chrono::milliseconds(200);
  options.label_selector = "watched=yes";
  Informer informer(partitionable, resources::kConfigMaps, ns.name(),
                    ControlPlaneEnvironment::clock(), options);
  std::atomic<int> deletes{0};
  informer.add_handlers({nullptr, nullptr, [&](const Json&) { ++deletes; }});
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  ASSERT_EQ(names_in(informer), (std::set<std::string>{"kept", "removed-while-away"}));

  partitionable.cut();
  ASSERT_TRUE(admin.create(resources::kConfigMaps, ns.name(), config_map("added-while-away")).ok());
  ASSERT_TRUE(admin.remove(resources::kConfigMaps, ns.name(), "removed-while-away").ok());
  // Compact etcd up to its current revision: the informer's resourceVersion no longer exists.
  std::string etcd = ControlPlaneEnvironment::plane()->value("ETCD_ENDPOINT");
  auto revision = controlplane::run_command(
      "curl -s -X POST " + etcd +
      "/v3/kv/range -d '{\"key\":\"AA==\"}' | sed -E 's/.*\"revision\":\"([0-9]+)\".*/\\1/'");
  ASSERT_EQ(revision.exit_code, 0);
  std::string rev = revision.output.substr(0, revision.output.find_first_of("\r\n"));
  auto compacted = controlplane::run_command("curl -s -X POST " + etcd +
                                             "/v3/kv/compaction -d '{\"revision\":\"" + rev +
                                             "\",\"physical\":true}'");
  ASSERT_EQ(compacted.exit_code, 0) << compacted.output;
  partitionable.heal();

  ASSERT_TRUE(controlplane::eventually([&] {
    return names_in(informer) == std::set<std::string>{"kept", "added-while-away"};
  })) << "store did not converge after relist";
  auto stats = informer.stats();
  EXPECT_GE(stats.gone, 1) << "the watch was expected to be refused with 410 Gone";
  EXPECT_EQ(stats.lists, 2);
  EXPECT_EQ(deletes.load(), 1);  // the relist reported the object deleted while away
  informer.stop();
}

TEST(WatchResilience, ResumesAfterTheApiServerRestartsMidWatch) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  KubeClient& admin = ControlPlaneEnvironment::admin_client();
  TestNamespace ns(admin);
  InformerOptions options;
  options.min_backoff = std::chrono::milliseconds(100);
  options.max_backoff = std::chrono::seconds(1);
  options.label_selector = "watched=yes";
  Informer informer(admin, resources::kConfigMaps, ns.name(), ControlPlaneEnvironment::clock(),
                    options);
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  ASSERT_TRUE(admin.create(resources::kConfigMaps, ns.name(), config_map("before-restart")).ok());
  ASSERT_TRUE(controlplane::eventually(
      [&] { return informer.get(ns.name() + "/before-restart") != nullptr; }));

  auto restarted = ControlPlaneEnvironment::plane()->restart_apiserver();
  ASSERT_TRUE(restarted.ok()) << restarted.error().message;
  ApiResult<Json> created = ApiError();
  ASSERT_TRUE(controlplane::eventually([&] {
    created = admin.create(resources::kConfigMaps, ns.name(), config_map("after-restart"));
    return created.ok() || created.error().reason == ApiReason::kAlreadyExists;
  }));
  ASSERT_TRUE(controlplane::eventually([&] {
    return informer.get(ns.name() + "/after-restart") != nullptr;
  })) << "the informer did not see an object created after the restart";
  auto stats = informer.stats();
  EXPECT_GE(stats.watches, 2) << "the watch was expected to be re-opened";
  EXPECT_EQ(stats.lists, 1)
      << "with watch-cache off, the informer resumes from its resourceVersion";
  informer.stop();
}

}  // namespace
}  // namespace lagpilot::kube
