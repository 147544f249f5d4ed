// Lease-based leader election against the real API server, with a fake clock driving expiry.
#include <gtest/gtest.h>

#include "controlplane/test_environment.h"
#include "kube/lease.h"
#include "operator/leader_election.h"

#include <atomic>
#include <thread>

namespace lagpilot::operator_main {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::TestNamespace;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

LeaderElectionConfig config_for(const std::string& ns, const std::string& identity) {
  LeaderElectionConfig config;
  config.lease_namespace = ns;
  config.lease_name = "lagpilot-leader";
  config.identity = identity;
  config.lease_duration = seconds(15);
  config.renew_deadline = seconds(10);
  config.retry_period = seconds(2);
  return config;
}

TEST(LeaderElection, OneLeadsTheOtherTakesOverOnlyAfterTheLeaseExpires) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto& client = ControlPlaneEnvironment::admin_client();
  TestNamespace ns(client);
  FakeClock clock_a, clock_b;  // two machines: their clocks need not agree
  clock_b.advance(std::chrono::hours(3));
  LeaderElector a(client, clock_a, config_for(ns.name(), "a"));
  LeaderElector b(client, clock_b, config_for(ns.name(), "b"));

  ASSERT_TRUE(a.try_acquire_or_renew());
  EXPECT_TRUE(a.holds_lease());
  EXPECT_FALSE(b.try_acquire_or_renew());  // b first sees the record now
  clock_a.advance(seconds(2));
  ASSERT_TRUE(a.try_acquire_or_renew());  // a renews
  clock_b.advance(seconds(14));
  EXPECT_FALSE(b.try_acquire_or_renew());  // renewed 12 s ago by b's clock: not expired

  // a stops renewing (crashed or cut off). Its own fence closes after the renew deadline ...
  clock_a.advance(seconds(10));
  EXPECT_FALSE(a.holds_lease());
  // ... before b may take over: 15 s after b last saw the record change.
  clock_b.advance(seconds(14));
  EXPECT_FALSE(b.try_acquire_or_renew());
  clock_b.advance(seconds(2));
  ASSERT_TRUE(b.try_acquire_or_renew());
  EXPECT_TRUE(b.holds_lease());

  kube::LeaseClient leases(client);
  auto lease = leases.get(ns.name(), "lagpilot-leader");
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_EQ((*lease)->holder_identity, "b");
  EXPECT_EQ((*lease)->lease_transitions, 1);
  // The old leader's stale write loses (it would need the current resourceVersion).
  EXPECT_FALSE(a.try_acquire_or_renew());
}

TEST(LeaderElection, ReleaseHandsOverAtOnce) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto& client = ControlPlaneEnvironment::admin_client();
  TestNamespace ns(client);
  FakeClock clock_a, clock_b;
  LeaderElector a(client, clock_a, config_for(ns.name(), "a"));
  LeaderElector b(client, clock_b, config_for(ns.name(), "b"));
  ASSERT_TRUE(a.try_acquire_or_renew());
  EXPECT_FALSE(b.try_acquire_or_renew());
  ASSERT_TRUE(a.release());
  EXPECT_FALSE(a.holds_lease());
  EXPECT_TRUE(b.try_acquire_or_renew());  // no waiting out the 15 s
}

TEST(LeaderElection, RunCallsBackWhenLeadingAndStopsCleanly) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto& client = ControlPlaneEnvironment::admin_client();
  TestNamespace ns(client);
  SystemClock clock;
  auto config = config_for(ns.name(), "runner");
  config.retry_period = std::chrono::milliseconds(100);
  LeaderElector elector(client, clock, config);
  std::atomic<bool> started{false}, stopped{false};
  std::thread runner([&] { elector.run([&] { started = true; }, [&] { stopped = true; }); });
  for (int i = 0; i < 200 && !started; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_TRUE(started.load());
  EXPECT_TRUE(elector.holds_lease());
  elector.stop();
  runner.join();
  EXPECT_FALSE(stopped.load());  // stopping on request is not losing the lease
  EXPECT_TRUE(elector.release());
}

}  // namespace
}  // namespace lagpilot::operator_main
