#pragma once
// Sharding monitors across operator replicas (`lagpilot run --shards auto`): who is a member, which
// monitors are whose, and when a replica may write. Pure and deterministic, no I/O, no clock (every
// call gets the time, read by the caller from its own clock); shard_membership.h does the I/O.
//
// Membership. Every replica holds its own Lease, lagpilot-member-<pod> (its member name), in the
// operator's namespace, labelled lagpilot.io/member-of=<group>, and renews it every retry period.
// Each retry period it also lists the group's Leases and hands the result to ShardView::listed. A
// member is live while its Lease has a holder and changed (resourceVersion) less than its
// leaseDurationSeconds ago, as observed on this replica's clock when the list returned (never
// comparing clocks across machines, as leader election). A Lease whose holder was cleared was
// released (its replica stopped writing first): it is gone at once. A Lease that disappears
// without being released stays live until its lease duration after its last observed change.
//
// Assignment. Rendezvous (highest random weight) hashing: monitor "namespace/name" goes to the
// live member with the highest hrw_score(member, key). Every replica computes the same order of
// members per key, so when one member joins only the keys it now tops move (about 1/(N+1) of
// them), and when one leaves only its own keys move, spread over the rest.
//
// Fencing. A replica writes (scale PATCH, status PATCH, Events, finalizers) only while both its own
// Lease renewal and its latest list of members were sent less than renew_deadline (the lease
// duration minus a safety margin) ago by its own clock: may_write(). A replica cut off from the API
// server therefore stops writing a safety margin before any other replica can see its Lease
// expire. The margin must exceed one retry period plus a request's round trip (options.cpp checks
// renew deadline + retry period < lease duration), so that a replica renewing normally is never
// seen expired by another.
//
// Hand-over. A replica acts on a key only when owns() says so:
//   1. it is a member (its Lease renewed at least once) and tops the key among the live members
//      (itself included), and
//   2. it also tops the key among the settled live members, or no live member is settled. A
//      member is young for one lease duration after this replica first saw it (by its Lease, a new
//      holder of it, or its renewal after it had expired), settled afterwards; the members of this
//      replica's first list (and of its first list after its own lists failed for the renew
//      deadline) are settled from the start, and this replica itself is young for one
//      lease duration after joining (its first renewal, or the first after its fence lapsed).
// Why no key is acted on by two replicas at once: two replicas that both know each other as live
// cannot both top one key. A replica X that does not yet know a live member Z listed before Z's
// Lease was created, so X stops writing by Z's creation + renew_deadline (the fence); Z, young in
// its own view, takes no key that a settled member could still hold until one lease duration
// after it joined (2). Members seen expired stopped writing at their renew deadline; members seen
// released stopped before releasing. The price: a key moving to a newcomer is not polled for up
// to one lease duration (plus a retry period); a key of a member that died, for up to its lease
// duration plus a retry period after its last renewal.
//
// Clean-up. A replica that was killed never deletes its Lease, and with rolling restarts (new pod
// names) such Leases would pile up in every list. A Lease this replica has seen unchanged for
// kStaleLeaseDurations of its lease durations (since it saw it change, or since this replica's
// first list that had it) is stale: its replica is long gone, or released it and failed to delete
// it. One live member deletes the stale Leases, the one with the lowest name, and only while its
// fence is open: stale(). The delete is conditional on the resourceVersion listed, so a Lease
// renewed meanwhile (its replica was only cut off) is kept.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"

namespace lagpilot::operator_main {

// HRW weight of `member` for monitor `key`: a 64-bit mix of both (FNV-1a, then splitmix64's
// finalizer), the same on every replica and every build.
std::uint64_t hrw_score(const std::string& member, const std::string& key);
// The member with the highest score for `key` (ties: the smaller name); nullopt when none.
std::optional<std::string> hrw_owner(const std::vector<std::string>& members,
                                     const std::string& key);

// One member Lease as listed.
struct MemberLease {
  std::string name;              // the Lease's name: the member's name, what HRW hashes
  std::string holder;            // holderIdentity; empty: released
  std::string resource_version;  // changes with every renewal
  Duration lease_duration = std::chrono::seconds(15);
};

// A member Lease unchanged for this many lease durations is stale (header).
inline constexpr int kStaleLeaseDurations = 10;

struct ShardTiming {
  Duration lease_duration = std::chrono::seconds(15);
  Duration renew_deadline = std::chrono::seconds(10);  // lease duration minus the safety margin
};

class ShardView {
 public:
  // `self`: this replica's member name (its Lease's name).
  ShardView(std::string self, ShardTiming timing);

  // Our own Lease was renewed (or acquired) by a request sent at `sent`.
  void renewed(WallTime sent);
  // The group's Leases, listed by a request sent at `sent` that returned at `returned`. Our own
  // Lease in it is ignored (renewed() dates it).
  void listed(const std::vector<MemberLease>& leases, WallTime sent, WallTime returned);

  // The fence: true while our renewal and our latest list were both sent within renew_deadline.
  bool may_write(WallTime now) const;
  // Whether this replica polls, scales and writes status for monitor `key` at `now` (header).
  bool owns(const std::string& key, WallTime now) const;
  // Live members' names at `now`, sorted (ourselves included once joined).
  std::vector<std::string> live(WallTime now) const;
  // Everything owns() depends on at `now` ("name" or "name(young)" per live member): when it
  // changes, ownership may have, and every monitor should be looked at again.
  std::string assignment(WallTime now) const;
  // The member Leases (name, resourceVersion as last listed) this replica should delete at `now`:
  // the stale ones, when it may write and is the live member with the lowest name; else none.
  std::vector<MemberLease> stale(WallTime now) const;
  const std::string& self() const { return self_; }

 private:
  struct Member {
    std::string holder;
    std::string resource_version;
    Duration lease_duration{};
    WallTime changed_at{};  // when we saw resource_version change (list returned)
    std::optional<WallTime> young_until;
    bool listed = true;  // present in the latest list (absent: it vanished, unreleased)
  };
  bool is_live(const Member& member, WallTime now) const;
  bool joined() const { return renewed_at_.has_value(); }

  std::string self_;
  ShardTiming timing_;
  std::optional<WallTime> renewed_at_;  // our latest renewal (sent)
  WallTime self_young_until_{};
  std::optional<WallTime> listed_at_;  // our latest list (sent)
  bool first_list_ = true;
  std::map<std::string, Member> members_;  // others, by name
};

}  // namespace lagpilot::operator_main
