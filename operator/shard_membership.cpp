#include "operator/shard_membership.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "kube/lease.h"

namespace lagpilot::operator_main {
namespace {

LeaderElectionConfig own_lease_config(const ShardMembershipConfig& config) {
  LeaderElectionConfig lease;
  lease.lease_namespace = config.lease_namespace;
  lease.lease_name = config.member_name;
  lease.identity = config.identity;
  lease.lease_duration = config.lease_duration;
  lease.renew_deadline = config.renew_deadline;
  lease.retry_period = config.retry_period;
  lease.labels[kMemberOfLabel] = config.group;
  return lease;
}

}  // namespace

std::string member_lease_name(const std::string& pod) {
  std::string name = "lagpilot-member-";
  for (unsigned char c : pod) {
    char lower = static_cast<char>(std::tolower(c));
    name += (std::isalnum(lower) || lower == '-' || lower == '.') ? lower : '-';
  }
  if (name.size() > 253) name.resize(253);
  while (!name.empty() && !std::isalnum(static_cast<unsigned char>(name.back()))) name.pop_back();
  return name;
}

ShardMembership::ShardMembership(kube::KubeClient& client, Clock& clock,
                                 ShardMembershipConfig config)
    : client_(client),
      clock_(clock),
      config_(std::move(config)),
      lease_(client, clock, own_lease_config(config_)),
      view_(config_.member_name, ShardTiming{config_.lease_duration, config_.renew_deadline}) {}

bool ShardMembership::sync_once() {
  const WallTime renew_sent = clock_.now();
  const bool renewed = lease_.try_acquire_or_renew();
  kube::ListOptions selector;
  selector.label_selector = std::string(kMemberOfLabel) + "=" + config_.group;
  const WallTime list_sent = clock_.now();
  auto listed = client_.list(kube::resources::kLeases, config_.lease_namespace, selector);
  const WallTime list_returned = clock_.now();
  if (!listed) {
    spdlog::warn("shards: listing member Leases in {} failed: {}", config_.lease_namespace,
                 listed.error().message);
  }
  std::vector<MemberLease> members;
  if (listed) {
    for (const auto& item : listed->value("items", kube::Json::array())) {
      kube::LeaseRecord record = kube::lease_from_json(item);
      MemberLease member;
      member.name = item.value("/metadata/name"_json_pointer, "");
      member.holder = record.holder_identity;
      member.resource_version = record.resource_version;
      member.lease_duration = std::chrono::seconds(record.lease_duration_seconds);
      members.push_back(std::move(member));
    }
  }
  std::vector<MemberLease> stale;
  bool changed = false;
  {
    std::lock_guard lock(mutex_);
    if (renewed) view_.renewed(renew_sent);
    if (listed) view_.listed(members, list_sent, list_returned);
    const bool fence_open = view_.may_write(list_returned);
    changed = fence_open && !fence_open_;  // reopened
    if (fence_open != fence_open_) {
      if (fence_open)
        spdlog::info("shards: writing again: member Lease renewed and members listed");
      else
        spdlog::warn(
            "shards: not writing: member Lease not renewed or members not listed within {} s",
            std::chrono::duration_cast<std::chrono::seconds>(config_.renew_deadline).count());
    }
    fence_open_ = fence_open;
    std::string assignment = view_.assignment(list_returned);
    if (assignment != assignment_) {
      spdlog::info("shards: live members now [{}] (was [{}])", assignment, assignment_);
      assignment_ = std::move(assignment);
      changed = true;
    }
    if (listed) stale = view_.stale(list_returned);
  }
  delete_stale(stale);
  return changed;
}

void ShardMembership::delete_stale(const std::vector<MemberLease>& stale) {
  for (const auto& lease : stale) {
    auto removed = client_.remove_if_unchanged(kube::resources::kLeases, config_.lease_namespace,
                                               lease.name, lease.resource_version);
    if (removed) {
      spdlog::info("shards: deleted stale member Lease {}/{} (unchanged for {} lease durations)",
                   config_.lease_namespace, lease.name, kStaleLeaseDurations);
    } else if (removed.error().reason == kube::ApiReason::kConflict) {
      spdlog::info("shards: member Lease {}/{} renewed meanwhile: kept", config_.lease_namespace,
                   lease.name);
    } else if (removed.error().reason != kube::ApiReason::kNotFound) {
      spdlog::warn("shards: deleting stale member Lease {}/{} failed: {}", config_.lease_namespace,
                   lease.name, removed.error().message);
    }
  }
}

void ShardMembership::run(const std::function<void()>& on_assignment_changed) {
  while (true) {
    if (sync_once() && on_assignment_changed) on_assignment_changed();
    std::unique_lock lock(mutex_);
    const WallTime until = clock_.now() + config_.retry_period;
    clock_.wait_until(lock, stop_cv_, until, [this] { return stopping_; });
    if (stopping_) return;
  }
}

void ShardMembership::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
}

bool ShardMembership::release() {
  if (!lease_.release()) return false;
  auto removed =
      client_.remove(kube::resources::kLeases, config_.lease_namespace, config_.member_name);
  if (!removed && removed.error().reason != kube::ApiReason::kNotFound) {
    spdlog::warn("shards: member Lease {}/{} released but not deleted: {}", config_.lease_namespace,
                 config_.member_name, removed.error().message);
  }
  return true;
}

bool ShardMembership::may_write() const {
  std::lock_guard lock(mutex_);
  return view_.may_write(clock_.now());
}

bool ShardMembership::owns(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return view_.owns(key, clock_.now());
}

std::vector<std::string> ShardMembership::live() const {
  std::lock_guard lock(mutex_);
  return view_.live(clock_.now());
}

}  // namespace lagpilot::operator_main
