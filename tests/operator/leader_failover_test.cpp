// Leader election end to end: two `lagpilot run --leader-elect` processes against the local
// control plane and librdkafka's mock Kafka. Each process authenticates as its own
// ServiceAccount, so the API server's audit log (Metadata level, every request) tells whose
// request each one was: that is how these tests count scale PATCHes per process and check that
// every write came from the Lease's holder.
//
//   1. SIGKILL the leader: the standby takes over within the lease duration (+ retry period), and
//      no decision is applied twice.
//   2. SIGTERM the leader: it releases the Lease and the standby takes over at once, well before a
//      15 s lease would have run out.
//   3. Cut the leader off from the API server (a fault-injecting TCP proxy between them): it stops
//      writing within its renew deadline, gives up leadership, and the standby takes over only
//      after the lease ran out.
//
// And, in process, the two pieces of the fence those rely on: FencedKubeClient, and a candidate
// dating what it observed by when its read returned.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/crds.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/lease.h"
#include "operator/leader_election.h"
#include "tests/operator/audit_log.h"
#include "tests/operator/fault_proxy.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "tests/support/forwarding_kube_client.h"
#include "util/clock.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::eventually;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

constexpr const char* kLeaseName = "lagpilot-leader";
constexpr const char* kTarget = "order-consumer";
constexpr int kPartitions = 8;
constexpr int kMessages = 400;  // per partition

// Election timing handed to both processes (the flags take whole seconds).
struct Timing {
  seconds lease_duration;
  seconds renew_deadline;
  seconds retry_period;
};
constexpr Timing kShort{seconds(4), seconds(3), seconds(1)};

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string temp_path(const std::string& what) {
  return std::filesystem::temp_directory_path() /
         ("lagpilot-failover-" + std::to_string(::getpid()) + "-" + what);
}

// `lagpilot run` as a child process, named for the messages, its log removed when the test passed.
class OperatorProcess : public testkit::OperatorProcess {
 public:
  OperatorProcess(std::string name, const std::string& ns, const std::vector<std::string>& args)
      : testkit::OperatorProcess(args, temp_path(ns + "-" + name + ".log")),
        name_(std::move(name)) {}
  ~OperatorProcess() {
    if (!::testing::Test::HasFailure()) std::filesystem::remove(log_path());
  }

  const std::string& name() const { return name_; }
  // Its Lease holderIdentity: lagpilot uses <hostname>_<pid> outside a Pod.
  bool is(const std::string& holder) const {
    std::string suffix = "_" + std::to_string(pid());
    return holder.size() > suffix.size() &&
           holder.compare(holder.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  std::string describe() const { return "--- " + name_ + " log ---\n" + log(); }

 private:
  std::string name_;
};

// What the fail-over checks count: any write (whatever its answer), successful Lease writes.
struct AuditRecord : testkit::AuditEvent {
  bool is_write() const {
    return verb == "create" || verb == "update" || verb == "patch" || verb == "delete" ||
           verb == "deletecollection";
  }
  bool is_lease_write() const {
    return resource == "leases" && (verb == "create" || verb == "update") && code / 100 == 2;
  }
};

std::vector<AuditRecord> audit_records(const std::string& ns) {
  return testkit::audit_records<AuditRecord>(ns);
}

// Only the leader writes: every write that any of `users` made (their Lease writes aside) reached
// the server while the latest successful Lease write was that user's own, and less than the lease
// duration after it (after that, the standby may already lead).
void expect_writes_only_while_leading(const std::vector<AuditRecord>& records,
                                      const std::vector<std::string>& users, Timing timing) {
  const AuditRecord* last_lease_write = nullptr;
  int writes = 0;
  for (const auto& record : records) {
    if (record.is_lease_write()) {
      last_lease_write = &record;
      continue;
    }
    if (!record.is_write() || record.resource == "leases") continue;
    if (std::find(users.begin(), users.end(), record.user) == users.end()) continue;
    ++writes;
    ASSERT_NE(last_lease_write, nullptr)
        << "a write before anyone held the Lease: " << record.describe();
    EXPECT_EQ(last_lease_write->user, record.user)
        << "written by one process while the other held the Lease: " << record.describe()
        << "; last Lease write: " << last_lease_write->describe();
    EXPECT_LT(record.received, last_lease_write->received + timing.lease_duration)
        << "written after its lease ran out: " << record.describe()
        << "; its last Lease write: " << last_lease_write->describe();
  }
  EXPECT_GT(writes, 0) << "no writes by the operators at all";
}

std::vector<AuditRecord> filter(const std::vector<AuditRecord>& records,
                                const std::function<bool(const AuditRecord&)>& keep) {
  std::vector<AuditRecord> kept;
  for (const auto& record : records)
    if (keep(record)) kept.push_back(record);
  return kept;
}

std::string describe(const std::vector<AuditRecord>& records) {
  std::string text;
  for (const auto& record : records) text += "  " + record.describe() + "\n";
  return text;
}

class LeaderFailover : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    auto& admin = ControlPlaneEnvironment::admin_client();
    static bool crds_installed = false;
    if (!crds_installed) {
      auto installed = controlplane::install_crds(admin, LAGPILOT_SOURCE_DIR "/crds");
      ASSERT_TRUE(installed.ok()) << installed.error().message;
      crds_installed = true;
    }
    ns_ = std::make_unique<controlplane::TestNamespace>(admin, "failover");
    const std::string& ns = ns_->name();

    kafka_ = std::make_unique<testkit::KafkaMockCluster>(1);
    kafka_->create_topic("orders", kPartitions);
    // A backlog before any operator runs: kMessages on every partition, none consumed (lag
    // 3,200 at 500 per replica: 7 replicas). It is all there at the first poll, so the first
    // leader makes exactly one decision (1 -> 7), not one per partition as it appears.
    auto now = std::chrono::system_clock::now();
    for (int p = 0; p < kPartitions; ++p)
      kafka_->produce("orders", p, kMessages, now - seconds(30), milliseconds(10));
    set_lag(kMessages);

    auto deployment = admin.create(kube::resources::kDeployments, ns,
                                   controlplane::deployment_manifest(kTarget, 1));
    ASSERT_TRUE(deployment.ok()) << deployment.error().message;
    Json monitor = {
        {"apiVersion", "lagpilot.io/v1alpha1"},
        {"kind", "QueueMonitor"},
        {"metadata", {{"name", "orders"}}},
        {"spec",
         {{"source",
           {{"kafka",
             {{"bootstrapServers", kafka_->bootstrap_servers()},
              {"topic", "orders"},
              {"consumerGroup", "order-processor"},
              {"lagSecondsMethod", "fetch"}}}}},
          {"pollIntervalSeconds", 1},
          {"target", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", kTarget}}},
          {"scaling",
           {{"policy", "lagPerReplica"},
            {"targetLagPerReplica", 500},
            {"minReplicas", 1},
            {"maxReplicas", 8},
            {"cooldownSeconds", 0},
            {"scaleUp", {{"maxPodsPerPeriod", 10}}},
            {"scaleDown",
             {{"stabilizationSeconds", 2},
              {"maxPercentPerPeriod", 100},
              {"periodSeconds", 1}}}}}}}};
    auto created = admin.create(kube::resources::kQueueMonitors, ns, monitor);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  void TearDown() override {
    processes_.clear();
    kafka_.reset();
    ns_.reset();
    for (const auto& file : files_) std::filesystem::remove(file);
  }

  const std::string& ns() const { return ns_->name(); }
  kube::KubeClient& admin() { return ControlPlaneEnvironment::admin_client(); }

  // A ServiceAccount bound to cluster-admin in the test namespace and a kubeconfig with its token
  // for `server` (the API server, or a proxy in front of it); `user` is what the audit log records.
  std::string identity(const std::string& account, const std::string& server, std::string& user) {
    std::string path = temp_path(ns() + "-" + account + ".kubeconfig");
    user = testkit::service_account_kubeconfig(ns(), account, server, path);
    files_.push_back(path);
    return path;
  }

  OperatorProcess& start_operator(const std::string& name, const std::string& kubeconfig,
                                  Timing timing) {
    auto flag = [](seconds s) { return std::to_string(s.count()) + "s"; };
    processes_.push_back(
        std::make_unique<OperatorProcess>(name, ns(),
                                          std::vector<std::string>{"run",
                                                                   "--kubeconfig",
                                                                   kubeconfig,
                                                                   "--namespaces",
                                                                   ns(),
                                                                   "--leader-elect",
                                                                   "--leader-election-namespace",
                                                                   ns(),
                                                                   "--lease-duration",
                                                                   flag(timing.lease_duration),
                                                                   "--renew-deadline",
                                                                   flag(timing.renew_deadline),
                                                                   "--retry-period",
                                                                   flag(timing.retry_period),
                                                                   "--metrics-bind-address",
                                                                   "0",
                                                                   "--health-probe-bind-address",
                                                                   "0",
                                                                   "--log-format",
                                                                   "json",
                                                                   "--log-level",
                                                                   "debug",
                                                                   "--kafka-poll-timeout-ms",
                                                                   "1000"}));
    return *processes_.back();
  }

  std::optional<kube::LeaseRecord> lease() {
    kube::LeaseClient leases(admin());
    auto got = leases.get(ns(), kLeaseName);
    if (!got.ok() || !got->has_value()) return std::nullopt;
    return **got;
  }
  std::string holder() {
    auto record = lease();
    return record ? record->holder_identity : "";
  }

  int replicas() {
    auto got = admin().get(kube::resources::kDeployments, ns(), kTarget);
    return got.ok() ? got->value("/spec/replicas"_json_pointer, -1) : -1;
  }

  Json monitor_status() {
    auto got = admin().get(kube::resources::kQueueMonitors, ns(), "orders");
    return got.ok() ? got->value("status", Json::object()) : Json::object();
  }

  // Applied scaling decisions recorded in status.scalingHistory, to `to` replicas.
  int history_entries_to(int to) {
    int count = 0;
    for (const auto& entry : monitor_status().value("scalingHistory", Json::array())) {
      if (entry.value("to", -1) == to && !entry.value("dryRun", false)) ++count;
    }
    return count;
  }

  // ScaledUp or ScaledDown Events, repeats included (the recorder counts them).
  int scaling_events(const std::string& reason) {
    kube::ListOptions options;
    options.field_selector = "reason=" + reason;
    auto events = kube::list_all(admin(), kube::resources::kEvents, ns(), options);
    if (!events.ok()) return -1;
    int total = 0;
    for (const auto& event : events->value("items", Json::array()))
      total += event.value("count", 1);
    return total;
  }

  // The consumers catch up to `per_partition` messages short of the end of every partition, in one
  // OffsetCommit: the new lag (kPartitions * per_partition) appears at once, never half-way, so
  // one change of lag is one scaling decision. Only forwards: lagpilot refuses to scale on a
  // rewinding group.
  void set_lag(int per_partition) {
    std::map<int32_t, int64_t> offsets;
    for (int p = 0; p < kPartitions; ++p) offsets[p] = kMessages - per_partition;
    kafka_->commit("order-processor", "orders", offsets);
  }

  // Waits until the current leader has polled Kafka `polls` more times (its OffsetFetch requests;
  // nothing else fetches offsets while one operator runs).
  bool polled(int polls) {
    kafka_->reset_request_counts();
    return eventually(
        [&] {
          auto counts = kafka_->request_counts();
          return counts.count("OffsetFetch") && counts["OffsetFetch"] >= polls;
        },
        seconds(15));
  }

  std::string logs() {
    std::string text;
    for (const auto& process : processes_) text += process->describe();
    return text;
  }

  std::unique_ptr<controlplane::TestNamespace> ns_;
  std::unique_ptr<testkit::KafkaMockCluster> kafka_;
  std::vector<std::unique_ptr<OperatorProcess>> processes_;
  std::vector<std::string> files_;
};

TEST_F(LeaderFailover, KilledLeaderIsReplacedWithinTheLeaseDurationAndNoDecisionRunsTwice) {
  const std::string server = ControlPlaneEnvironment::plane()->server();
  std::string user_a, user_b;
  std::string config_a = identity("lagpilot-a", server, user_a);
  std::string config_b = identity("lagpilot-b", server, user_b);
  OperatorProcess& a = start_operator("a", config_a, kShort);
  OperatorProcess& b = start_operator("b", config_b, kShort);

  // Exactly one of them takes the Lease; it starts its controller, the other waits.
  ASSERT_TRUE(eventually([&] { return a.is(holder()) || b.is(holder()); }, seconds(20)))
      << "holder \"" << holder() << "\"\n"
      << logs();
  const bool a_leads = a.is(holder());
  OperatorProcess& leader = a_leads ? a : b;
  OperatorProcess& standby = a_leads ? b : a;
  const std::string& leader_user = a_leads ? user_a : user_b;
  const std::string& standby_user = a_leads ? user_b : user_a;
  ASSERT_TRUE(eventually([&] { return standby.logged("waiting to lead"); }, seconds(10))) << logs();

  // Decision 1: the backlog (lag 3,200) -> 7 replicas, applied by the leader.
  ASSERT_TRUE(
      eventually([&] { return replicas() == 7 && history_entries_to(7) == 1; }, seconds(20)))
      << "replicas " << replicas() << " status " << monitor_status().dump() << "\n"
      << logs();
  EXPECT_FALSE(standby.logged("lagpilot running")) << "the standby started its controller\n"
                                                   << logs();

  // Kill the leader; the standby sees the lease lapse and takes over.
  WallTime killed = std::chrono::system_clock::now();
  leader.signal(SIGKILL);
  ASSERT_TRUE(leader.wait_exit(seconds(5)));
  ASSERT_TRUE(eventually([&] { return standby.is(holder()); }, seconds(20), milliseconds(20)))
      << logs();
  double takeover = seconds_between(killed, std::chrono::system_clock::now());
  std::cout << "[ measured ] SIGKILL -> standby holds the Lease: " << takeover << " s (lease "
            << kShort.lease_duration.count() << " s, retry " << kShort.retry_period.count()
            << " s)\n";
  RecordProperty("takeover_after_sigkill_ms", static_cast<int>(takeover * 1000));
  // The standby looks at the Lease every retry period, so it may see the last renewal up to one
  // period late and act on the expiry up to one period late; 2 s slack for a loaded machine.
  EXPECT_LE(takeover, std::chrono::duration<double>(kShort.lease_duration +
                                                    2 * kShort.retry_period + seconds(2))
                          .count())
      << logs();

  // It carries on. The same backlog is no new decision: two polls later still 7, no new scale.
  ASSERT_TRUE(eventually([&] { return standby.logged("lagpilot running"); }, seconds(20)))
      << logs();
  ASSERT_TRUE(polled(2)) << logs();
  EXPECT_EQ(replicas(), 7);
  // Decision 2: the consumers catch up to lag 1,600 -> 4 replicas, applied by the new leader.
  set_lag(kMessages / 2);
  ASSERT_TRUE(
      eventually([&] { return replicas() == 4 && history_entries_to(4) == 1; }, seconds(20)))
      << "replicas " << replicas() << " status " << monitor_status().dump() << "\n"
      << logs();

  // One application per decision: one scale PATCH each (audit log), one history entry each, one
  // Event each.
  EXPECT_EQ(history_entries_to(7), 1) << monitor_status().dump();
  EXPECT_EQ(monitor_status().value("scalingHistory", Json::array()).size(), 2u)
      << monitor_status().dump();
  EXPECT_TRUE(eventually(
      [&] { return scaling_events("ScaledUp") == 1 && scaling_events("ScaledDown") == 1; },
      seconds(5)))
      << scaling_events("ScaledUp") << " ScaledUp and " << scaling_events("ScaledDown")
      << " ScaledDown events for one decision each\n"
      << logs();
  auto records = audit_records(ns());
  auto scale_patches = filter(records, [](const AuditRecord& r) { return r.is_scale_patch(); });
  ASSERT_EQ(scale_patches.size(), 2u) << "one scale PATCH per decision:\n"
                                      << describe(scale_patches) << logs();
  EXPECT_EQ(scale_patches[0].user, leader_user);
  EXPECT_EQ(scale_patches[1].user, standby_user);
  expect_writes_only_while_leading(records, {user_a, user_b}, kShort);

  // Safety: the standby's takeover came a full lease duration after the leader's last renewal.
  auto leader_lease_writes = filter(
      records, [&](const AuditRecord& r) { return r.is_lease_write() && r.user == leader_user; });
  auto standby_lease_writes = filter(
      records, [&](const AuditRecord& r) { return r.is_lease_write() && r.user == standby_user; });
  ASSERT_FALSE(leader_lease_writes.empty());
  ASSERT_FALSE(standby_lease_writes.empty());
  WallTime last_renewal = leader_lease_writes.back().received;
  WallTime acquired = standby_lease_writes.front().received;
  EXPECT_GE(acquired, last_renewal + kShort.lease_duration)
      << "taken over before the lease ran out: last renewal " << format_rfc3339_micro(last_renewal)
      << ", acquired " << format_rfc3339_micro(acquired);
  std::cout << "[ measured ] leader's last renewal -> standby's acquiring write (audit log): "
            << seconds_between(last_renewal, acquired)
            << " s; SIGKILL -> acquiring write: " << seconds_between(killed, acquired) << " s\n";
  EXPECT_EQ(lease()->lease_transitions, 1);
}

TEST_F(LeaderFailover, TerminatedLeaderReleasesTheLeaseAndTheStandbyTakesOverAtOnce) {
  // A long lease: waiting it out would take 15 s; a released one is taken on the next retry.
  constexpr Timing kLong{seconds(15), seconds(10), seconds(1)};
  const std::string server = ControlPlaneEnvironment::plane()->server();
  std::string user_a, user_b;
  std::string config_a = identity("lagpilot-a", server, user_a);
  std::string config_b = identity("lagpilot-b", server, user_b);
  OperatorProcess& a = start_operator("a", config_a, kLong);
  ASSERT_TRUE(eventually([&] { return a.is(holder()); }, seconds(20))) << logs();
  ASSERT_TRUE(eventually([&] { return replicas() == 7; }, seconds(20))) << logs();
  OperatorProcess& b = start_operator("b", config_b, kLong);
  // b has read the Lease (held by a) and is campaigning.
  ASSERT_TRUE(eventually(
      [&] {
        return !filter(audit_records(ns()), [&](const AuditRecord& r) {
                  return r.user == user_b && r.resource == "leases" && r.verb == "get";
                }).empty();
      },
      seconds(20)))
      << logs();
  EXPECT_TRUE(a.is(holder()));

  WallTime terminated = std::chrono::system_clock::now();
  a.signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return b.is(holder()); }, seconds(20), milliseconds(20))) << logs();
  double takeover = seconds_between(terminated, std::chrono::system_clock::now());
  std::cout << "[ measured ] SIGTERM -> standby holds the Lease: " << takeover << " s (lease "
            << kLong.lease_duration.count() << " s, retry " << kLong.retry_period.count()
            << " s)\n";
  RecordProperty("takeover_after_sigterm_ms", static_cast<int>(takeover * 1000));
  // Shutdown (in-flight reconciles finish), the release, then the standby's next retry: well under
  // the 15 s it would wait for an unreleased lease (the slack is for a loaded machine).
  EXPECT_LT(takeover, 10.0)
      << "the standby waited out the lease instead of taking the released one\n"
      << logs();
  ASSERT_TRUE(a.wait_exit(seconds(15))) << logs();
  EXPECT_EQ(a.exit_code(), 0) << logs();
  EXPECT_TRUE(a.logged("leader-election lease released")) << logs();
  EXPECT_EQ(lease()->lease_transitions, 1);

  // The new leader works: the consumers catch up and b scales down, once.
  ASSERT_TRUE(eventually([&] { return b.logged("lagpilot running"); }, seconds(20))) << logs();
  set_lag(kMessages / 2);
  ASSERT_TRUE(eventually([&] { return replicas() == 4; }, seconds(20)))
      << monitor_status().dump() << "\n"
      << logs();

  auto records = audit_records(ns());
  auto scale_patches = filter(records, [](const AuditRecord& r) { return r.is_scale_patch(); });
  ASSERT_EQ(scale_patches.size(), 2u) << describe(scale_patches);
  EXPECT_EQ(scale_patches[0].user, user_a);
  EXPECT_EQ(scale_patches[1].user, user_b);
  expect_writes_only_while_leading(records, {user_a, user_b}, kLong);
  // Nothing from a after its release (its last Lease write).
  auto a_lease_writes =
      filter(records, [&](const AuditRecord& r) { return r.is_lease_write() && r.user == user_a; });
  ASSERT_FALSE(a_lease_writes.empty());
  auto after_release = filter(records, [&](const AuditRecord& r) {
    return r.user == user_a && r.is_write() && r.received > a_lease_writes.back().received;
  });
  EXPECT_TRUE(after_release.empty()) << describe(after_release);
}

TEST_F(LeaderFailover, LeaderCutOffFromTheApiServerStopsWritingBeforeItsLeaseRunsOut) {
  const std::string server = ControlPlaneEnvironment::plane()->server();
  int api_port = std::stoi(server.substr(server.rfind(':') + 1));
  testkit::FaultProxy proxy(api_port);
  std::string user_a, user_b;
  // a reaches the API server only through the proxy (the serving certificate is for 127.0.0.1,
  // so TLS verifies through it too); b directly.
  std::string config_a =
      identity("lagpilot-a", "https://127.0.0.1:" + std::to_string(proxy.port()), user_a);
  std::string config_b = identity("lagpilot-b", server, user_b);
  OperatorProcess& a = start_operator("a", config_a, kShort);
  ASSERT_TRUE(eventually([&] { return a.is(holder()); }, seconds(20))) << logs();
  ASSERT_TRUE(
      eventually([&] { return replicas() == 7 && history_entries_to(7) == 1; }, seconds(20)))
      << logs();
  OperatorProcess& b = start_operator("b", config_b, kShort);
  ASSERT_TRUE(eventually([&] { return b.logged("waiting to lead"); }, seconds(10))) << logs();

  // The partition: a's connections drop, new ones hang. Then a change that calls for 4 replicas:
  // a still polls Kafka and decides, but must not act.
  proxy.cut(testkit::FaultProxy::Cut::kBlackhole);
  WallTime cut = std::chrono::system_clock::now();
  set_lag(kMessages / 2);

  // a notices on its own (still cut off) that it could not renew within the renew deadline.
  ASSERT_TRUE(eventually([&] { return a.logged("lost leadership"); }, seconds(30))) << logs();
  double gave_up = seconds_between(cut, std::chrono::system_clock::now());
  ASSERT_TRUE(eventually([&] { return b.is(holder()); }, seconds(20), milliseconds(20))) << logs();
  double takeover = seconds_between(cut, std::chrono::system_clock::now());
  std::cout << "[ measured ] cut -> old leader logs \"lost leadership\": " << gave_up
            << " s; cut -> standby holds the Lease: " << takeover << " s\n";
  RecordProperty("cut_to_lost_leadership_ms", static_cast<int>(gave_up * 1000));
  RecordProperty("cut_to_takeover_ms", static_cast<int>(takeover * 1000));
  // It gives up at its renew deadline (counted from its last renewal, at most a retry period
  // before the cut); slack for a loaded machine.
  EXPECT_LE(gave_up,
            std::chrono::duration<double>(kShort.renew_deadline + kShort.retry_period + seconds(2))
                .count())
      << logs();
  EXPECT_LE(takeover, std::chrono::duration<double>(kShort.lease_duration +
                                                    2 * kShort.retry_period + seconds(2))
                          .count())
      << logs();

  // Heal: whatever a still does now reaches the server; it must not write.
  proxy.heal();
  ASSERT_TRUE(a.wait_exit(seconds(30))) << logs();
  EXPECT_EQ(a.exit_code(), 1) << logs();
  // The decision a could no longer act on is applied once, by b.
  ASSERT_TRUE(
      eventually([&] { return replicas() == 4 && history_entries_to(4) == 1; }, seconds(20)))
      << monitor_status().dump() << "\n"
      << logs();
  EXPECT_FALSE(a.logged("scaled 7 -> 4")) << "the cut-off leader applied the second decision\n"
                                          << logs();

  auto records = audit_records(ns());
  auto late = filter(records, [&](const AuditRecord& r) {
    return r.user == user_a && r.is_write() && r.received > cut + kShort.renew_deadline;
  });
  EXPECT_TRUE(late.empty()) << "the cut-off leader wrote after its renew deadline:\n"
                            << describe(late);
  auto scale_patches = filter(records, [](const AuditRecord& r) { return r.is_scale_patch(); });
  ASSERT_EQ(scale_patches.size(), 2u) << describe(scale_patches);
  EXPECT_EQ(scale_patches[0].user, user_a);
  EXPECT_EQ(scale_patches[1].user, user_b);
  expect_writes_only_while_leading(records, {user_a, user_b}, kShort);
  auto a_lease_writes =
      filter(records, [&](const AuditRecord& r) { return r.is_lease_write() && r.user == user_a; });
  auto b_lease_writes =
      filter(records, [&](const AuditRecord& r) { return r.is_lease_write() && r.user == user_b; });
  ASSERT_FALSE(a_lease_writes.empty());
  ASSERT_FALSE(b_lease_writes.empty());
  EXPECT_LE(a_lease_writes.back().received, cut);
  EXPECT_GE(b_lease_writes.front().received, a_lease_writes.back().received + kShort.lease_duration)
      << "the standby took over before the cut-off leader's lease ran out";
}

// Every write through the fence fails without reaching the server while the lease is not held;
// reads pass.
TEST(LeaderElectionFence, WritesAreRefusedWhileNotLeadingAndNeverReachTheServer) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto& admin = ControlPlaneEnvironment::admin_client();
  controlplane::TestNamespace ns(admin, "fence");
  bool leading = false;
  operator_main::FencedKubeClient fenced(admin, [&] { return leading; });
  Json config_map = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "fenced"}}},
                     {"data", {{"k", "v"}}}};
  auto created = fenced.create(kube::resources::kConfigMaps, ns.name(), config_map);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().reason, kube::ApiReason::kCancelled);
  EXPECT_FALSE(fenced
                   .patch(kube::resources::kConfigMaps, ns.name(), "fenced",
                          kube::PatchType::kMerge, Json{{"data", {{"k", "w"}}}}, "")
                   .ok());
  EXPECT_FALSE(fenced.update(kube::resources::kConfigMaps, ns.name(), config_map).ok());
  EXPECT_FALSE(fenced.remove(kube::resources::kConfigMaps, ns.name(), "fenced").ok());
  EXPECT_FALSE(fenced.patch_scale(kube::resources::kDeployments, ns.name(), "any", 3).ok());
  auto absent = fenced.get(kube::resources::kConfigMaps, ns.name(), "fenced");  // reads pass
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().reason, kube::ApiReason::kNotFound)
      << "a fenced write reached the server";
  auto writes = filter(audit_records(ns.name()), [](const AuditRecord& r) {
    return r.is_write() && r.resource == "configmaps" && r.name == "fenced";
  });
  EXPECT_TRUE(writes.empty()) << describe(writes);

  leading = true;
  ASSERT_TRUE(fenced.create(kube::resources::kConfigMaps, ns.name(), config_map).ok());
  EXPECT_TRUE(fenced.get(kube::resources::kConfigMaps, ns.name(), "fenced").ok());
}

// Reads that take `delay` on a fake clock (a slow API server), otherwise the real client.
class SlowReads final : public testkit::ForwardingKubeClient {
 public:
  SlowReads(kube::KubeClient& inner, FakeClock& clock)
      : ForwardingKubeClient(inner), clock_(clock) {}
  Duration delay{0};

  kube::ApiResult<Json> get(const kube::Gvr& gvr, const std::string& ns,
                            const std::string& name) override {
    clock_.advance(delay);
    return real_.get(gvr, ns, name);
  }

 private:
  FakeClock& clock_;
};

// A holder's renewal may land while a candidate's read is under way: the candidate's lease
// duration runs from when the read returned, not from when it was sent, or it could take over
// while the holder (whose renewal counts from before its own request) still writes.
TEST(LeaderElectionFence, CandidateDatesWhatItSawByWhenTheReadReturned) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto& admin = ControlPlaneEnvironment::admin_client();
  controlplane::TestNamespace ns(admin, "observe");
  auto config_for = [&](const std::string& identity) {
    operator_main::LeaderElectionConfig config;
    config.lease_namespace = ns.name();
    config.identity = identity;
    config.lease_duration = seconds(15);
    config.renew_deadline = seconds(10);
    config.retry_period = seconds(2);
    return config;
  };
  FakeClock clock_a, clock_b;
  SlowReads slow(admin, clock_b);
  operator_main::LeaderElector a(admin, clock_a, config_for("a"));
  operator_main::LeaderElector b(slow, clock_b, config_for("b"));
  ASSERT_TRUE(a.try_acquire_or_renew());
  slow.delay = seconds(3);  // b's read takes 3 s by b's clock
  EXPECT_FALSE(b.try_acquire_or_renew());
  slow.delay = Duration(0);
  // 15 s after b sent that read, but only 12 s after it returned: not expired yet.
  clock_b.advance(seconds(12) + milliseconds(500));
  EXPECT_FALSE(b.try_acquire_or_renew()) << "took over a lease that had not run out";
  clock_b.advance(seconds(3));
  EXPECT_TRUE(b.try_acquire_or_renew());
}

}  // namespace
}  // namespace lagpilot
