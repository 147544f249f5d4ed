// Stale member Leases against the real API server (operator/shards.h, "Clean-up"): two live
// members (ShardMembership, fake clocks) and the Leases of two replicas that stopped renewing,
// one killed for good and one only cut off. After 10 lease durations the live member with the
// lowest name deletes the killed one's Lease; the cut-off one renews between the list and the
// delete, and the conditional delete (preconditions.resourceVersion) keeps its Lease.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "controlplane/test_environment.h"
#include "operator/shard_membership.h"
#include "tests/support/forwarding_kube_client.h"
#include "util/clock.h"

namespace lagpilot::operator_main {
namespace {

using controlplane::ControlPlaneEnvironment;
using std::chrono::seconds;

constexpr seconds kLeaseDuration{10};
constexpr seconds kRetryPeriod{2};

ShardMembershipConfig member_config(const std::string& ns, const std::string& name) {
  ShardMembershipConfig config;
  config.lease_namespace = ns;
  config.member_name = name;
  config.identity = name + "_1";
  config.lease_duration = kLeaseDuration;
  config.renew_deadline = seconds(6);
  config.retry_period = kRetryPeriod;
  return config;
}

// The real client; counts conditional deletes and runs `before_delete` (the test's injected
// timing: a renewal racing the delete) before sending one.
class DeleteObservingClient final : public testkit::ForwardingKubeClient {
 public:
  using ForwardingKubeClient::ForwardingKubeClient;
  kube::ApiStatus remove_if_unchanged(const kube::Gvr& g, const std::string& n,
                                      const std::string& m, const std::string& v) override {
    deleted.push_back(m);
    if (before_delete) before_delete(m);
    return real_.remove_if_unchanged(g, n, m, v);
  }
  std::vector<std::string> deleted;
  std::function<void(const std::string&)> before_delete;
};

TEST(ShardLeaseCleanup, TheLowestLiveMemberDeletesLeasesUnchangedForTenLeaseDurationsOnly) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  kube::KubeClient& admin = ControlPlaneEnvironment::admin_client();
  controlplane::TestNamespace ns(admin, "shard-leases");
  const std::string dead_name = "lagpilot-member-0-dead";  // lower than the live ones: no matter
  const std::string cut_name = "lagpilot-member-1-cut";
  FakeClock dead_clock, cut_clock, clock;
  ShardMembership dead(admin, dead_clock, member_config(ns.name(), dead_name));
  ShardMembership cut(admin, cut_clock, member_config(ns.name(), cut_name));
  dead.sync_once();  // each renews its Lease once and stops: one killed, one cut off
  cut.sync_once();

  DeleteObservingClient a_client(admin), b_client(admin);
  int cut_renewals = 0;
  a_client.before_delete = [&](const std::string& name) {
    if (name != cut_name) return;
    cut_clock.advance(kRetryPeriod);
    cut.sync_once();  // back from its partition: renews, so its resourceVersion changes
    ++cut_renewals;
  };
  ShardMembership a(a_client, clock, member_config(ns.name(), "lagpilot-member-a"));
  ShardMembership b(b_client, clock, member_config(ns.name(), "lagpilot-member-b"));

  const auto leases = [&] {
    kube::ListOptions selector;
    selector.label_selector = std::string(kMemberOfLabel) + "=lagpilot-leader";
    auto listed = admin.list(kube::resources::kLeases, ns.name(), selector);
    std::set<std::string> names;
    EXPECT_TRUE(listed.ok()) << listed.error().message;
    if (!listed.ok()) return names;
    for (const auto& item : listed->value("items", kube::Json::array()))
      names.insert(item.value("/metadata/name"_json_pointer, ""));
    return names;
  };
  const std::set<std::string> all = {dead_name, cut_name, "lagpilot-member-a", "lagpilot-member-b"};
  // a's and b's turns every retry period; both first listed the stopped ones at +0 s.
  const seconds stale_after = kStaleLeaseDurations * kLeaseDuration;
  for (seconds elapsed{0}; elapsed < stale_after; elapsed += kRetryPeriod) {
    a.sync_once();
    b.sync_once();
    ASSERT_EQ(leases(), all) << "at +" << elapsed.count() << " s";
    clock.advance(kRetryPeriod);
  }
  EXPECT_TRUE(a_client.deleted.empty());
  a.sync_once();
  b.sync_once();
  // At +100 s: the killed replica's Lease is gone; the cut-off one renewed before the delete
  // reached the server, which refused it (409); the live ones stay. Only a (lowest live) deleted.
  EXPECT_EQ(leases(), (std::set<std::string>{cut_name, "lagpilot-member-a", "lagpilot-member-b"}));
  EXPECT_EQ(a_client.deleted, (std::vector<std::string>{dead_name, cut_name}));
  EXPECT_EQ(cut_renewals, 1);
  EXPECT_TRUE(b_client.deleted.empty()) << "b is not the lowest live member";
  // a's next turn: the cut-off one is live again, the killed one gone; nothing more deleted.
  clock.advance(kRetryPeriod);
  a.sync_once();
  EXPECT_EQ(a.live(),
            (std::vector<std::string>{cut_name, "lagpilot-member-a", "lagpilot-member-b"}));
  EXPECT_EQ(a_client.deleted.size(), 2u);
}

}  // namespace
}  // namespace lagpilot::operator_main
