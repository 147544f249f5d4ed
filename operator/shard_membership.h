#pragma once
// Shard membership's I/O (`--shards auto`): renews this replica's member Lease and lists the
// group's every retry period, feeding ShardView (shards.h: the rules). Talks to the API server
// through its own client with bounded requests (election_client_options), as the leader elector.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "kube/client.h"
#include "operator/leader_election.h"
#include "operator/shards.h"
#include "util/clock.h"

namespace lagpilot::operator_main {

// The label every member Lease carries; its value is the group (--leader-election-id).
inline constexpr const char* kMemberOfLabel = "lagpilot.io/member-of";

struct ShardMembershipConfig {
  std::string lease_namespace;
  std::string group = "lagpilot-leader";
  std::string member_name;  // this replica's Lease: lagpilot-member-<pod> (member_lease_name)
  std::string identity;     // holderIdentity: <pod>_<pid>
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);
  Duration retry_period = std::chrono::seconds(2);
};

// "lagpilot-member-" + `pod`, made a valid Lease name (lower case; other characters than a-z, 0-9,
// '-' and '.' become '-'; at most 253 characters).
std::string member_lease_name(const std::string& pod);

class ShardMembership {
 public:
  ShardMembership(kube::KubeClient& client, Clock& clock, ShardMembershipConfig config);

  // One turn: renew our Lease, list the group's, delete the stale ones if we are the deleter
  // (shards.h, "Clean-up"). True when the assignment changed or the fence reopened (writes refused
  // meanwhile are due again).
  bool sync_once();
  // Turns every retry period until stop(); calls on_assignment_changed after a turn that changed
  // who owns what (the controller then looks at every monitor again).
  void run(const std::function<void()>& on_assignment_changed);
  void stop();
  // Leaving: clears our Lease's holder (the others take our monitors at once), then deletes it.
  // Call after the controller stopped writing.
  bool release();

  bool may_write() const;
  bool owns(const std::string& key) const;
  std::vector<std::string> live() const;
  const ShardMembershipConfig& config() const { return config_; }

 private:
  void delete_stale(const std::vector<MemberLease>& stale);

  kube::KubeClient& client_;
  Clock& clock_;
  ShardMembershipConfig config_;
  LeaderElector lease_;  // our own Lease, with leader election's acquire/renew semantics
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  ShardView view_;
  std::string assignment_;
  bool fence_open_ = false;
};

}  // namespace lagpilot::operator_main
