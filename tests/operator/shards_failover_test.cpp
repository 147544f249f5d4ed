// Sharding end to end: three (then four) `lagpilot run --shards auto` processes against the local
// control plane and librdkafka's mock Kafka, 24 QueueMonitors, each scaling its own Deployment.
// Each process authenticates as its own ServiceAccount, so the API server's audit log (Metadata
// level, every request) tells whose every write was.
//
//   1. The monitors are spread over the three by rendezvous hashing of their member Leases' names;
//      each decision is applied once, by the monitor's owner. SIGKILL one: its monitors are taken
//      over by the others within the lease duration (+ a retry period and a poll). Start a fourth:
//      only the monitors it now tops move, to it.
//   2. Cut one off from the API server (the fault-injecting proxy): it stops writing by its renew
//      deadline, and the others take its monitors only after its lease ran out. Healed, it comes
//      back and takes its share again without any decision being applied twice.
// Throughout: every write came from a process whose member Lease it had renewed less than a lease
// duration before, and no monitor was written by a second replica while its owner still wrote.
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
#include <set>
#include <string>
#include <vector>

#include "controlplane/crds.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/lease.h"
#include "operator/shard_membership.h"
#include "operator/shards.h"
#include "tests/operator/audit_log.h"
#include "tests/operator/fault_proxy.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"
#include "util/clock.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::eventually;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

constexpr int kMonitors = 24;
constexpr int kPartitions = 8;
constexpr int kMessages = 400;  // per partition
// Membership timing handed to every process (whole seconds): margin 4 s > retry period 1 s plus a
// round trip on a loaded machine.
constexpr seconds kLeaseDuration{10};
constexpr seconds kRenewDeadline{6};
constexpr seconds kRetryPeriod{1};

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string temp_path(const std::string& what) {
  return std::filesystem::temp_directory_path() /
         ("lagpilot-shards-" + std::to_string(::getpid()) + "-" + what);
}

std::string monitor_name(int i) { return "orders-" + std::to_string(i); }
std::string deployment_name(int i) { return "consumer-" + std::to_string(i); }
std::string group_name(int i) { return "group-" + std::to_string(i); }

class OperatorProcess : public testkit::OperatorProcess {
 public:
  OperatorProcess(std::string name, std::string user, const std::string& ns,
                  const std::vector<std::string>& args)
      : testkit::OperatorProcess(args, temp_path(ns + "-" + name + ".log")),
        name_(std::move(name)),
        user_(std::move(user)) {}
  ~OperatorProcess() {
    if (!::testing::Test::HasFailure()) std::filesystem::remove(log_path());
  }
  const std::string& name() const { return name_; }
  const std::string& user() const { return user_; }
  // Its member Lease's name: outside a Pod lagpilot names it after <hostname>_<pid>.
  std::string member() const {
    char host[256] = "lagpilot";
    ::gethostname(host, sizeof host - 1);
    return operator_main::member_lease_name(std::string(host) + "_" + std::to_string(pid()));
  }
  // How often it found itself young again: its own turn overran its renew deadline (a loaded
  // machine), so it stopped writing and waits a lease duration as a newcomer.
  int lapses() const {
    const std::string text = log();
    const std::string marker = "now [" + member() + "(young)";
    int count = 0;
    for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1))
      ++count;
    return count - 1;  // its first view: joining
  }
  std::string describe() const { return "--- " + name_ + " log ---\n" + log_tail(20000); }
  // What it sends as its User-Agent: lagpilot/<version> (<hostname>_<pid>).
  std::string user_agent_suffix() const { return "_" + std::to_string(pid()) + ")"; }

 private:
  std::string name_;
  std::string user_;
};

// What the sharding checks count: successful writes, and which monitor a write is about.
struct AuditRecord : testkit::AuditEvent {
  bool is_write() const {
    return (verb == "create" || verb == "update" || verb == "patch" || verb == "delete") &&
           code / 100 == 2;
  }
  bool is_lease_write() const { return resource == "leases" && is_write(); }
  // The monitor a write is about: its status or finalizer, or its Deployment's scale; "" else.
  std::string monitor() const {
    if (!is_write()) return "";
    if (resource == "queuemonitors") return name;
    if (is_scale_patch() && name.rfind("consumer-", 0) == 0) return "orders-" + name.substr(9);
    return "";
  }
};

std::vector<AuditRecord> audit_records(const std::string& ns) {
  return testkit::audit_records<AuditRecord>(ns);
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

// The fence, from the server's side: every write of a monitor by a process reached the server
// less than a lease duration after that process's latest write of its member Lease.
void expect_writes_only_while_renewed(const std::vector<AuditRecord>& records,
                                      const std::set<std::string>& users) {
  std::map<std::string, WallTime> renewed;
  int writes = 0;
  for (const auto& record : records) {
    if (!users.count(record.user)) continue;
    if (record.is_lease_write()) {
      renewed[record.user] = record.received;
      continue;
    }
    if (record.monitor().empty()) continue;
    ++writes;
    auto last = renewed.find(record.user);
    ASSERT_NE(last, renewed.end()) << "a write before its member Lease: " << record.describe();
    EXPECT_LT(record.received, last->second + kLeaseDuration)
        << "written after its member lease ran out: " << record.describe();
  }
  EXPECT_GT(writes, 0) << "no writes by the operators at all";
}

// One replica at a time: once a second process wrote a monitor, the one before it writes that
// monitor no more for at least the renew deadline (a monitor comes back to a replica only after
// its next owner died or left and a lease duration passed). Two replicas acting on one monitor
// at once would interleave their writes.
void expect_one_writer_at_a_time(const std::vector<AuditRecord>& records) {
  std::map<std::string, std::vector<const AuditRecord*>> by_monitor;
  for (const auto& record : records) {
    if (!record.monitor().empty()) by_monitor[record.monitor()].push_back(&record);
  }
  for (const auto& [monitor, writes] : by_monitor) {
    for (std::size_t i = 1; i < writes.size(); ++i) {
      if (writes[i]->user == writes[i - 1]->user) continue;
      // writes[i] starts a new writer's run: the previous writer must be quiet for a while.
      const std::string& previous = writes[i - 1]->user;
      for (std::size_t j = i + 1; j < writes.size(); ++j) {
        if (writes[j]->received >= writes[i]->received + kRenewDeadline) break;
        EXPECT_NE(writes[j]->user, previous)
            << monitor << " written by two replicas at once: " << writes[i - 1]->describe()
            << ", then " << writes[i]->describe() << ", then " << writes[j]->describe();
      }
    }
  }
}

// Replicas of one ServiceAccount are told apart by their User-Agent, which names the process.
void expect_user_agents_name_the_replica(const std::vector<AuditRecord>& records,
                                         const std::vector<const OperatorProcess*>& processes) {
  for (const auto* process : processes) {
    int writes = 0;
    for (const auto& record : records) {
      if (record.user != process->user() || !record.is_write()) continue;
      ++writes;
      const std::string& agent = record.user_agent;
      const std::string suffix = process->user_agent_suffix();
      EXPECT_TRUE(agent.rfind("lagpilot/", 0) == 0 && agent.size() > suffix.size() &&
                  agent.compare(agent.size() - suffix.size(), suffix.size(), suffix) == 0)
          << process->name() << ": " << agent << " in " << record.describe();
    }
    EXPECT_GT(writes, 0) << process->name() << " wrote nothing";
  }
}

class Shards : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
    static bool crds_installed = false;
    if (!crds_installed) {
      auto installed = controlplane::install_crds(admin(), LAGPILOT_SOURCE_DIR "/crds");
      ASSERT_TRUE(installed.ok()) << installed.error().message;
      crds_installed = true;
    }
    ns_ = std::make_unique<controlplane::TestNamespace>(admin(), "shards");
    kafka_ = std::make_unique<testkit::KafkaMockCluster>(1);
    kafka_->create_topic("orders", kPartitions);
    auto now = std::chrono::system_clock::now();
    for (int p = 0; p < kPartitions; ++p)
      kafka_->produce("orders", p, kMessages, now - seconds(30), milliseconds(10));
    set_lag(kMessages);  // 3,200 per group: 7 replicas at 500 each
    for (int i = 0; i < kMonitors; ++i) {
      auto deployment = admin().create(kube::resources::kDeployments, ns(),
                                       controlplane::deployment_manifest(deployment_name(i), 1));
      ASSERT_TRUE(deployment.ok()) << deployment.error().message;
      auto created = admin().create(kube::resources::kQueueMonitors, ns(), monitor_manifest(i));
      ASSERT_TRUE(created.ok()) << created.error().message;
    }
  }

  void TearDown() override {
    processes_.clear();
    kafka_.reset();
    ns_.reset();
    for (const auto& file : files_) std::filesystem::remove(file);
  }

  Json monitor_manifest(int i) {
    return {{"apiVersion", "lagpilot.io/v1alpha1"},
            {"kind", "QueueMonitor"},
            {"metadata", {{"name", monitor_name(i)}}},
            {"spec",
             {{"source",
               {{"kafka",
                 {{"bootstrapServers", kafka_->bootstrap_servers()},
                  {"topic", "orders"},
                  {"consumerGroup", group_name(i)},
                  {"lagSecondsMethod", "interpolate"}}}}},
              {"pollIntervalSeconds", 1},
              {"target",
               {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", deployment_name(i)}}},
              {"scaling",
               {{"policy", "lagPerReplica"},
                {"targetLagPerReplica", 500},
                {"minReplicas", 1},
                {"maxReplicas", 8},
                {"cooldownSeconds", 0},
                {"scaleUp", {{"maxPodsPerPeriod", 10}}},
                {"scaleDown",
                 {{"stabilizationSeconds", 0},
                  {"maxPercentPerPeriod", 100},
                  {"periodSeconds", 1}}}}}}}};
  }

  const std::string& ns() const { return ns_->name(); }
  static kube::KubeClient& admin() { return ControlPlaneEnvironment::admin_client(); }

  // A ServiceAccount bound to cluster-admin in the test namespace and a kubeconfig with its token
  // for `server` (the API server, or a proxy in front of it); `user` is what the audit log records.
  std::string identity(const std::string& account, const std::string& server, std::string& user) {
    std::string path = temp_path(ns() + "-" + account + ".kubeconfig");
    user = testkit::service_account_kubeconfig(ns(), account, server, path);
    files_.push_back(path);
    return path;
  }

  OperatorProcess& start_operator(const std::string& name, const std::string& server = "") {
    std::string user;
    std::string kubeconfig =
        identity("lagpilot-" + name,
                 server.empty() ? ControlPlaneEnvironment::plane()->server() : server, user);
    auto flag = [](seconds s) { return std::to_string(s.count()) + "s"; };
    processes_.push_back(
        std::make_unique<OperatorProcess>(name, user, ns(),
                                          std::vector<std::string>{"run",
                                                                   "--kubeconfig",
                                                                   kubeconfig,
                                                                   "--namespaces",
                                                                   ns(),
                                                                   "--shards",
                                                                   "auto",
                                                                   "--leader-election-namespace",
                                                                   ns(),
                                                                   "--lease-duration",
                                                                   flag(kLeaseDuration),
                                                                   "--renew-deadline",
                                                                   flag(kRenewDeadline),
                                                                   "--retry-period",
                                                                   flag(kRetryPeriod),
                                                                   "--metrics-bind-address",
                                                                   "0",
                                                                   "--health-probe-bind-address",
                                                                   "0",
                                                                   "--log-format",
                                                                   "json",
                                                                   "--kafka-poll-timeout-ms",
                                                                   "1000"}));
    return *processes_.back();
  }

  // Live member Leases' names (holder set) in the namespace.
  std::set<std::string> member_leases() {
    kube::ListOptions selector;
    selector.label_selector = std::string(operator_main::kMemberOfLabel) + "=lagpilot-leader";
    auto listed = admin().list(kube::resources::kLeases, ns(), selector);
    std::set<std::string> names;
    if (!listed.ok()) return names;
    for (const auto& item : listed->value("items", Json::array())) {
      if (!kube::lease_from_json(item).holder_identity.empty())
        names.insert(item.value("/metadata/name"_json_pointer, ""));
    }
    return names;
  }

  // Which of `members` owns monitor i (HRW over the members' Lease names): its user.
  std::string owner_of(const std::vector<const OperatorProcess*>& members, int i) {
    std::vector<std::string> names;
    for (const auto* member : members) names.push_back(member->member());
    auto top = operator_main::hrw_owner(names, ns() + "/" + monitor_name(i));
    for (const auto* member : members)
      if (member->member() == *top) return member->user();
    return "";
  }

  // Every one of `members` has logged, as its latest view, exactly these members' count and none of
  // them young: the hand-overs are done.
  static bool settled(const std::vector<const OperatorProcess*>& members) {
    const std::string marker = "live members now [";
    for (const auto* member : members) {
      const std::string log = member->log();
      const auto at = log.rfind(marker);
      if (at == std::string::npos) return false;
      const auto start = at + marker.size();
      const std::string view = log.substr(start, log.find(']', start) - start);
      if (view.find("(young)") != std::string::npos) return false;
      if (static_cast<std::size_t>(std::count(view.begin(), view.end(), ' ')) + 1 != members.size())
        return false;
    }
    return true;
  }

  int replicas(int i) {
    auto got = admin().get(kube::resources::kDeployments, ns(), deployment_name(i));
    return got.ok() ? got->value("/spec/replicas"_json_pointer, -1) : -1;
  }
  bool all_at(int wanted) {
    for (int i = 0; i < kMonitors; ++i)
      if (replicas(i) != wanted) return false;
    return true;
  }
  std::string replicas_summary() {
    std::string text;
    for (int i = 0; i < kMonitors; ++i) text += std::to_string(replicas(i)) + " ";
    return text;
  }

  // Every group's consumers catch up to `per_partition` short of the end, in one commit each.
  void set_lag(int per_partition) {
    std::map<int32_t, int64_t> offsets;
    for (int p = 0; p < kPartitions; ++p) offsets[p] = kMessages - per_partition;
    for (int i = 0; i < kMonitors; ++i) kafka_->commit(group_name(i), "orders", offsets);
  }

  // The scale PATCHes of monitor i's Deployment, in order.
  std::vector<AuditRecord> scale_patches(const std::vector<AuditRecord>& records, int i) {
    return filter(records, [&](const AuditRecord& r) {
      return r.is_scale_patch() && r.name == deployment_name(i);
    });
  }

  std::string logs() {
    std::string text;
    for (const auto& process : processes_) text += process->describe();
    return text;
  }
  std::set<std::string> users() {
    std::set<std::string> all;
    for (const auto& process : processes_) all.insert(process->user());
    return all;
  }

  std::unique_ptr<controlplane::TestNamespace> ns_;
  std::unique_ptr<testkit::KafkaMockCluster> kafka_;
  std::vector<std::unique_ptr<OperatorProcess>> processes_;
  std::vector<std::string> files_;
};

TEST_F(Shards, KilledReplicasMonitorsAreTakenOverAndANewReplicaTakesOnlyItsShare) {
  OperatorProcess& a = start_operator("a");
  OperatorProcess& b = start_operator("b");
  OperatorProcess& c = start_operator("c");
  ASSERT_TRUE(eventually([&] { return member_leases().size() == 3; }, seconds(30))) << logs();
  // Decision 1 (lag 3,200 -> 7) for every monitor, by whoever owned it then.
  ASSERT_TRUE(eventually([&] { return all_at(7); }, seconds(40))) << replicas_summary() << "\n"
                                                                  << logs();
  // Wait until the newcomers settled (a lease duration after the last joined), then decision 2
  // (lag 1,600 -> 4): each applied by the monitor's owner among the three.
  const std::vector<const OperatorProcess*> three = {&a, &b, &c};
  ASSERT_TRUE(eventually([&] { return settled(three); }, seconds(60))) << logs();
  WallTime decided = std::chrono::system_clock::now();
  set_lag(kMessages / 2);
  ASSERT_TRUE(eventually([&] { return all_at(4); }, seconds(30))) << replicas_summary() << "\n"
                                                                  << logs();
  auto records = audit_records(ns());
  std::map<std::string, int> share;
  for (int i = 0; i < kMonitors; ++i) {
    auto patches = scale_patches(records, i);
    ASSERT_EQ(patches.size(), 2u) << monitor_name(i) << ": one scale PATCH per decision\n"
                                  << describe(patches);
    EXPECT_GE(patches[1].received, decided);
    EXPECT_EQ(patches[1].user, owner_of(three, i)) << monitor_name(i);
    ++share[patches[1].user];
  }
  std::cout << "[ measured ] 24 monitors over 3 replicas: " << share[a.user()] << ", "
            << share[b.user()] << ", " << share[c.user()] << "\n";

  // SIGKILL the replica that owns the most (which one depends on the pids: HRW over 24 names
  // leaves a replica empty about once in 6,000 runs); decision 3 (lag 800 -> 2) at once: its
  // monitors wait for its lease to run out.
  OperatorProcess* victim = &a;
  for (OperatorProcess* process : {&b, &c})
    if (share[process->user()] > share[victim->user()]) victim = process;
  std::vector<const OperatorProcess*> two;
  for (const OperatorProcess* process : three)
    if (process != victim) two.push_back(process);
  std::vector<int> victim_monitors;
  for (int i = 0; i < kMonitors; ++i)
    if (owner_of(three, i) == victim->user()) victim_monitors.push_back(i);
  ASSERT_FALSE(victim_monitors.empty());
  const int lapses_before = two[0]->lapses() + two[1]->lapses();
  WallTime killed = std::chrono::system_clock::now();
  victim->signal(SIGKILL);
  ASSERT_TRUE(victim->wait_exit(seconds(5)));
  set_lag(kMessages / 4);
  ASSERT_TRUE(eventually(
      [&] {
        return std::all_of(victim_monitors.begin(), victim_monitors.end(),
                           [&](int i) { return replicas(i) == 2; });
      },
      seconds(30), milliseconds(50)))
      << replicas_summary() << "\n"
      << logs();
  double takeover = seconds_between(killed, std::chrono::system_clock::now());
  std::cout << "[ measured ] SIGKILL -> the killed replica's " << victim_monitors.size()
            << " monitors decided by the others: " << takeover << " s (lease "
            << kLeaseDuration.count() << " s, retry " << kRetryPeriod.count() << " s, poll 1 s)\n";
  RecordProperty("takeover_after_sigkill_ms", static_cast<int>(takeover * 1000));
  // Seen expired up to a retry period late, acted on at the next turn, polled within a second;
  // 4 s slack. Unless a survivor's own turn overran its renew deadline meanwhile (a loaded
  // machine): it then stopped writing and waits a lease duration as a newcomer, safe but slower.
  const int lapses = two[0]->lapses() + two[1]->lapses() - lapses_before;
  if (lapses == 0) {
    EXPECT_LE(takeover, std::chrono::duration<double>(kLeaseDuration + 2 * kRetryPeriod +
                                                      seconds(1) + seconds(4))
                            .count())
        << logs();
  } else {
    std::cout << "[ measured ] (the survivors' fences lapsed " << lapses
              << " time(s) meanwhile: the machine is loaded; no bound on the take-over)\n";
  }
  ASSERT_TRUE(eventually([&] { return all_at(2); }, seconds(20))) << replicas_summary();
  records = audit_records(ns());
  auto victim_lease = filter(records, [&](const AuditRecord& r) {
    return r.user == victim->user() && r.is_lease_write();
  });
  ASSERT_FALSE(victim_lease.empty());
  for (int i = 0; i < kMonitors; ++i) {
    auto patches = scale_patches(records, i);
    ASSERT_EQ(patches.size(), 3u) << monitor_name(i) << "\n" << describe(patches);
    EXPECT_EQ(patches[2].user, owner_of(two, i)) << monitor_name(i);
    if (std::find(victim_monitors.begin(), victim_monitors.end(), i) != victim_monitors.end()) {
      // Taken only after b's lease ran out (its last renewal + the lease duration).
      EXPECT_GE(patches[2].received, victim_lease.back().received + kLeaseDuration)
          << monitor_name(i) << " taken over before the killed replica's lease ran out";
    }
  }

  // A fourth replica: only what it now tops moves, to it, a lease duration after it joined.
  OperatorProcess& d = start_operator("d");
  ASSERT_TRUE(eventually([&] { return member_leases().count(d.member()) == 1; }, seconds(20)))
      << logs();
  const std::vector<const OperatorProcess*> three_again = {two[0], two[1], &d};
  int expected_moves = 0;
  for (int i = 0; i < kMonitors; ++i)
    if (owner_of(three_again, i) == d.user()) ++expected_moves;
  ASSERT_TRUE(eventually([&] { return settled(three_again); }, seconds(60))) << logs();
  set_lag(kMessages / 8);  // lag 400 -> 1
  ASSERT_TRUE(eventually([&] { return all_at(1); }, seconds(30))) << replicas_summary() << "\n"
                                                                  << logs();
  records = audit_records(ns());
  int moved = 0;
  for (int i = 0; i < kMonitors; ++i) {
    auto patches = scale_patches(records, i);
    ASSERT_EQ(patches.size(), 4u) << monitor_name(i) << "\n" << describe(patches);
    EXPECT_EQ(patches[3].user, owner_of(three_again, i)) << monitor_name(i);
    if (patches[3].user != patches[2].user) {
      ++moved;
      EXPECT_EQ(patches[3].user, d.user()) << monitor_name(i) << " moved between old replicas";
    }
  }
  std::cout << "[ measured ] a 4th process joining the 2 live replicas: " << moved << " of "
            << kMonitors << " monitors moved, all to it (1/3 = " << kMonitors / 3 << ")\n";
  // Exactly what HRW predicts moved (none only if d tops none of the 24 names: 1 run in 17,000).
  EXPECT_EQ(moved, expected_moves);

  expect_writes_only_while_renewed(records, users());
  expect_one_writer_at_a_time(records);
  expect_user_agents_name_the_replica(records, {&a, &b, &c, &d});
}

TEST_F(Shards, ReplicaCutOffFromTheApiServerStopsWritingBeforeItsMonitorsAreTaken) {
  const std::string server = ControlPlaneEnvironment::plane()->server();
  testkit::FaultProxy proxy(std::stoi(server.substr(server.rfind(':') + 1)));
  OperatorProcess& a = start_operator("a", "https://127.0.0.1:" + std::to_string(proxy.port()));
  OperatorProcess& b = start_operator("b");
  OperatorProcess& c = start_operator("c");
  ASSERT_TRUE(eventually([&] { return member_leases().size() == 3; }, seconds(30))) << logs();
  ASSERT_TRUE(eventually([&] { return all_at(7); }, seconds(40))) << replicas_summary() << "\n"
                                                                  << logs();
  const std::vector<const OperatorProcess*> three = {&a, &b, &c};
  const std::vector<const OperatorProcess*> two = {&b, &c};
  ASSERT_TRUE(eventually([&] { return settled(three); }, seconds(60))) << logs();
  std::vector<int> a_monitors;
  for (int i = 0; i < kMonitors; ++i)
    if (owner_of(three, i) == a.user()) a_monitors.push_back(i);
  ASSERT_FALSE(a_monitors.empty());

  // The partition, then a change for every monitor (lag 1,600 -> 4): a still polls Kafka and
  // decides for its monitors, but must not write.
  proxy.cut(testkit::FaultProxy::Cut::kBlackhole);
  WallTime cut = std::chrono::system_clock::now();
  set_lag(kMessages / 2);
  ASSERT_TRUE(eventually([&] { return all_at(4); }, seconds(30))) << replicas_summary() << "\n"
                                                                  << logs();
  double takeover = seconds_between(cut, std::chrono::system_clock::now());
  std::cout << "[ measured ] cut -> the cut-off replica's " << a_monitors.size()
            << " monitors decided by the others: " << takeover << " s\n";
  RecordProperty("takeover_after_cut_ms", static_cast<int>(takeover * 1000));

  auto records = audit_records(ns());
  auto a_lease = filter(
      records, [&](const AuditRecord& r) { return r.user == a.user() && r.is_lease_write(); });
  ASSERT_FALSE(a_lease.empty());
  EXPECT_LE(a_lease.back().received, cut);
  auto late = filter(records, [&](const AuditRecord& r) {
    return r.user == a.user() && r.is_write() && r.received > cut + kRenewDeadline;
  });
  EXPECT_TRUE(late.empty()) << "the cut-off replica wrote after its renew deadline:\n"
                            << describe(late);
  for (int i : a_monitors) {
    auto patches = scale_patches(records, i);
    ASSERT_EQ(patches.size(), 2u) << monitor_name(i) << "\n" << describe(patches);
    EXPECT_EQ(patches[1].user, owner_of(two, i)) << monitor_name(i);
    EXPECT_GE(patches[1].received, a_lease.back().received + kLeaseDuration)
        << monitor_name(i) << " taken before the cut-off replica's lease ran out";
  }

  // Healed: a renews again, the others give its share back at once and a takes it a lease
  // duration later; the next decision (lag 800 -> 2) is applied once per monitor.
  proxy.heal();
  WallTime healed = std::chrono::system_clock::now();
  ASSERT_TRUE(eventually(
      [&] {
        return !filter(audit_records(ns()), [&](const AuditRecord& r) {
                  return r.user == a.user() && r.is_lease_write() && r.received > healed;
                }).empty();
      },
      seconds(20)))
      << logs();
  ASSERT_TRUE(eventually([&] { return settled(three); }, seconds(60))) << logs();
  set_lag(kMessages / 4);
  ASSERT_TRUE(eventually([&] { return all_at(2); }, seconds(30))) << replicas_summary() << "\n"
                                                                  << logs();
  records = audit_records(ns());
  for (int i = 0; i < kMonitors; ++i) {
    auto patches = scale_patches(records, i);
    ASSERT_EQ(patches.size(), 3u) << monitor_name(i) << "\n" << describe(patches);
    EXPECT_EQ(patches[2].user, owner_of(three, i)) << monitor_name(i);
  }
  expect_writes_only_while_renewed(records, users());
  expect_one_writer_at_a_time(records);
  EXPECT_TRUE(a.running()) << "a replica back from a partition carries on\n" << logs();
}

}  // namespace
}  // namespace lagpilot
