#include "operator/shards.h"

#include <algorithm>

namespace lagpilot::operator_main {
namespace {

std::uint64_t fnv1a(const std::string& text, std::uint64_t hash = 14695981039346656037ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t hrw_score(const std::string& member, const std::string& key) {
  // A separator no Lease name contains, so ("ab", "c") and ("a", "bc") differ.
  return splitmix64(fnv1a(key, fnv1a("/", fnv1a(member))));
}

std::optional<std::string> hrw_owner(const std::vector<std::string>& members,
                                     const std::string& key) {
  std::optional<std::string> best;
  std::uint64_t best_score = 0;
  for (const auto& member : members) {
    std::uint64_t score = hrw_score(member, key);
    if (!best || score > best_score || (score == best_score && member < *best)) {
      best = member;
      best_score = score;
    }
  }
  return best;
}

ShardView::ShardView(std::string self, ShardTiming timing)
    : self_(std::move(self)), timing_(timing) {}

void ShardView::renewed(WallTime sent) {
  // Joining, or back after our fence lapsed (others may have seen our Lease expire): young again.
  if (!renewed_at_ || sent >= *renewed_at_ + timing_.renew_deadline)
    self_young_until_ = sent + timing_.lease_duration;
  if (!renewed_at_ || sent > *renewed_at_) renewed_at_ = sent;
}

void ShardView::listed(const std::vector<MemberLease>& leases, WallTime sent, WallTime returned) {
  // Our first list, or the first after our fence lapsed (lists failing: what seemed to expire
  // meanwhile may be our own blindness), is taken as it is: nobody in it is new.
  const bool fresh_start =
      first_list_ || (listed_at_ && sent >= *listed_at_ + timing_.renew_deadline);
  for (auto& [name, member] : members_) member.listed = false;
  for (const auto& lease : leases) {
    if (lease.name == self_) continue;
    auto found = members_.find(lease.name);
    if (found == members_.end()) {
      Member member;
      member.holder = lease.holder;
      member.resource_version = lease.resource_version;
      member.lease_duration = lease.lease_duration;
      member.changed_at = returned;
      // Members already there when we (re)started looking have had their view of the group for as
      // long as they have been live; later ones are new to everybody.
      if (!fresh_start) member.young_until = returned + timing_.lease_duration;
      members_.emplace(lease.name, member);
      continue;
    }
    Member& member = found->second;
    const bool was_live = is_live(member, returned);
    member.listed = true;
    if (member.resource_version == lease.resource_version) continue;
    const bool new_holder = member.holder != lease.holder;
    member.holder = lease.holder;
    member.resource_version = lease.resource_version;
    member.lease_duration = lease.lease_duration;
    member.changed_at = returned;
    // A new process behind the name, or one back after we saw its Lease expire: new to the group.
    if (!fresh_start && !lease.holder.empty() && (new_holder || !was_live))
      member.young_until = returned + timing_.lease_duration;
  }
  // Forget what vanished and can no longer be live (released, or expired).
  std::erase_if(members_, [&](const auto& entry) {
    return !entry.second.listed && !is_live(entry.second, returned);
  });
  first_list_ = false;
  if (!listed_at_ || sent > *listed_at_) listed_at_ = sent;
}

bool ShardView::is_live(const Member& member, WallTime now) const {
  return !member.holder.empty() && now < member.changed_at + member.lease_duration;
}

bool ShardView::may_write(WallTime now) const {
  return renewed_at_ && listed_at_ && now < *renewed_at_ + timing_.renew_deadline &&
         now < *listed_at_ + timing_.renew_deadline;
}

std::vector<std::string> ShardView::live(WallTime now) const {
  std::vector<std::string> names;
  if (joined()) names.push_back(self_);
  for (const auto& [name, member] : members_)
    if (is_live(member, now)) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

bool ShardView::owns(const std::string& key, WallTime now) const {
  if (!joined()) return false;
  std::vector<std::string> live_members = {self_};
  std::vector<std::string> settled;
  if (now >= self_young_until_) settled.push_back(self_);
  for (const auto& [name, member] : members_) {
    if (!is_live(member, now)) continue;
    live_members.push_back(name);
    if (!member.young_until || now >= *member.young_until) settled.push_back(name);
  }
  if (hrw_owner(live_members, key) != self_) return false;
  return settled.empty() || hrw_owner(settled, key) == self_;
}

std::vector<MemberLease> ShardView::stale(WallTime now) const {
  std::vector<MemberLease> leases;
  if (!may_write(now)) return leases;
  const std::vector<std::string> live_members = live(now);
  if (live_members.empty() || live_members.front() != self_) return leases;
  for (const auto& [name, member] : members_) {
    if (!member.listed || is_live(member, now)) continue;
    if (now < member.changed_at + kStaleLeaseDurations * member.lease_duration) continue;
    leases.push_back({name, member.holder, member.resource_version, member.lease_duration});
  }
  return leases;
}

std::string ShardView::assignment(WallTime now) const {
  std::string text;
  if (joined()) text = self_ + (now < self_young_until_ ? "(young)" : "");
  for (const auto& [name, member] : members_) {
    if (!is_live(member, now)) continue;
    text += " " + name + (member.young_until && now < *member.young_until ? "(young)" : "");
  }
  return text;
}

}  // namespace lagpilot::operator_main
