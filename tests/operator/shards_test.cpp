// The pure sharding rules (operator/shards.h): HRW balance and minimal movement, membership
// expiry and release, the write fence, and hand-over timing. Time is injected: every call is
// given the instant it happens at.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "operator/options.h"
#include "operator/shard_membership.h"
#include "operator/shards.h"

namespace lagpilot::operator_main {
namespace {

using std::chrono::seconds;

const WallTime kStart = WallTime{} + std::chrono::hours(24 * 365 * 50);
constexpr ShardTiming kTiming{seconds(15), seconds(10)};

std::vector<std::string> monitor_keys(int count) {
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i)
    keys.push_back("team-" + std::to_string(i % 37) + "/monitor-" + std::to_string(i));
  return keys;
}

std::vector<std::string> member_names(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i)
    names.push_back("lagpilot-member-lagpilot-7d9f-" + std::to_string(i));
  return names;
}

MemberLease lease(const std::string& name, const std::string& version,
                  const std::string& holder = "holder") {
  return MemberLease{name, holder.empty() ? "" : name + "_" + holder, version, seconds(15)};
}

// The membership loop's turns from `from` to `to`, one every 2 s: renew, then list `others` (each
// renewing at every turn) and ourselves.
void turns(ShardView& view, WallTime from, WallTime to, const std::vector<std::string>& others) {
  for (WallTime now = from; now <= to; now += seconds(2)) {
    const std::string version = std::to_string((now - kStart).count());
    view.renewed(now);
    std::vector<MemberLease> leases = {lease(view.self(), version)};
    for (const auto& other : others) leases.push_back(lease(other, version));
    view.listed(leases, now, now);
  }
}

TEST(Hrw, SpreadsMonitorsEvenlyOverMembers) {
  const auto keys = monitor_keys(30000);
  for (int n : {2, 3, 5, 10}) {
    const auto members = member_names(n);
    std::map<std::string, int> counts;
    for (const auto& key : keys) ++counts[*hrw_owner(members, key)];
    ASSERT_EQ(counts.size(), static_cast<std::size_t>(n));
    const double fair = static_cast<double>(keys.size()) / n;
    for (const auto& [member, count] : counts) {
      EXPECT_NEAR(count, fair, fair * 0.05) << n << " members: " << member;
    }
  }
}

TEST(Hrw, AMemberJoiningTakesAboutOneInNPlusOneAndNothingElseMoves) {
  const auto keys = monitor_keys(30000);
  for (int n : {1, 2, 3, 9}) {
    const auto before = member_names(n);
    const auto after = member_names(n + 1);
    const std::string newcomer = after.back();
    int moved = 0;
    for (const auto& key : keys) {
      auto old_owner = *hrw_owner(before, key);
      auto new_owner = *hrw_owner(after, key);
      if (old_owner == new_owner) continue;
      ++moved;
      EXPECT_EQ(new_owner, newcomer) << key << " moved between two old members";
    }
    const double expected = static_cast<double>(keys.size()) / (n + 1);
    std::cout << "[ measured ] " << n << " -> " << n + 1 << " members: " << moved << " of "
              << keys.size() << " monitors moved (1/(N+1) = " << expected << ")\n";
    EXPECT_NEAR(moved, expected, expected * 0.05);
  }
}

TEST(Hrw, AMemberLeavingMovesOnlyItsOwnMonitors) {
  const auto keys = monitor_keys(10000);
  auto members = member_names(4);
  const std::string leaving = members[2];
  auto remaining = members;
  remaining.erase(remaining.begin() + 2);
  for (const auto& key : keys) {
    auto old_owner = *hrw_owner(members, key);
    if (old_owner != leaving) {
      EXPECT_EQ(*hrw_owner(remaining, key), old_owner) << key;
    }
  }
  EXPECT_FALSE(hrw_owner({}, "a/b").has_value());
  // The same on every replica and build: fixed values.
  EXPECT_EQ(hrw_score("a", "b/c"), hrw_score("a", "b/c"));
  EXPECT_NE(hrw_score("ab", "c"), hrw_score("a", "bc"));
}

// A replica alone: it owns everything at once (no other member could be writing), writes while
// its renewal and list are fresh, and stops writing at its renew deadline.
TEST(ShardView, ALoneReplicaOwnsEverythingAndTheFenceClosesAtTheRenewDeadline) {
  ShardView view("a", kTiming);
  EXPECT_FALSE(view.owns("ns/m", kStart)) << "not a member before its first renewal";
  EXPECT_FALSE(view.may_write(kStart));
  view.renewed(kStart);
  EXPECT_FALSE(view.may_write(kStart)) << "no list of the members yet";
  view.listed({lease("a", "1")}, kStart, kStart + seconds(1));
  EXPECT_TRUE(view.may_write(kStart + seconds(1)));
  for (const auto& key : monitor_keys(50)) EXPECT_TRUE(view.owns(key, kStart + seconds(1)));
  EXPECT_TRUE(view.may_write(kStart + seconds(10) - std::chrono::milliseconds(1)));
  EXPECT_FALSE(view.may_write(kStart + seconds(10)));
  // A later renewal but a stale list: still fenced.
  view.renewed(kStart + seconds(9));
  EXPECT_FALSE(view.may_write(kStart + seconds(11)));
  view.listed({lease("a", "2")}, kStart + seconds(10), kStart + seconds(11));
  EXPECT_TRUE(view.may_write(kStart + seconds(11)));
}

// Expiry: a member not renewed within its lease duration (on our clock, from when we saw its last
// change) is dead and its monitors are ours; a released one is gone at once.
TEST(ShardView, DeadMembersExpireAfterTheirLeaseDurationAndReleasedOnesAtOnce) {
  ShardView view("a", kTiming);
  view.renewed(kStart);
  view.listed({lease("a", "1"), lease("b", "1"), lease("c", "1")}, kStart, kStart);
  const std::vector<std::string> all = {"a", "b", "c"};
  EXPECT_EQ(view.live(kStart), all);
  std::string b_key;
  std::string c_key;
  for (const auto& key : monitor_keys(100)) {
    if (hrw_owner(all, key) == "b" && b_key.empty()) b_key = key;
    if (hrw_owner(all, key) == "c" && c_key.empty()) c_key = key;
  }
  ASSERT_FALSE(b_key.empty());
  ASSERT_FALSE(c_key.empty());
  // b and c were there at our first list: settled. We are young, so we take nothing they top.
  EXPECT_FALSE(view.owns(b_key, kStart));
  // b keeps renewing, c stops; we keep renewing and listing every 2 s.
  WallTime now = kStart;
  for (int turn = 1; turn <= 8; ++turn) {
    now = kStart + seconds(2 * turn);
    view.renewed(now);
    view.listed(
        {lease("a", std::to_string(turn)), lease("b", std::to_string(turn + 1)), lease("c", "1")},
        now, now);
    const bool c_expired = now >= kStart + seconds(15);
    EXPECT_EQ(view.live(now).size(), c_expired ? 2u : 3u) << "at +" << 2 * turn << " s";
  }
  // c died 16 s ago by our clock: its monitors are b's or ours, never c's.
  const std::vector<std::string> left = {"a", "b"};
  EXPECT_EQ(view.owns(c_key, now), hrw_owner(left, c_key) == "a");
  EXPECT_FALSE(view.owns(b_key, now));
  // b releases (holder cleared): gone at the next list, its monitors ours at once.
  now += seconds(1);
  view.renewed(now);
  view.listed({lease("a", "20"), lease("b", "21", "")}, now, now);
  EXPECT_EQ(view.live(now), std::vector<std::string>{"a"});
  EXPECT_TRUE(view.owns(b_key, now));
  EXPECT_TRUE(view.owns(c_key, now));
}

// A Lease that vanishes without being released (deleted by someone) stays live for its lease
// duration: its holder may not know.
TEST(ShardView, AVanishedLeaseCountsUntilItsDurationRanOut) {
  ShardView view("a", kTiming);
  view.renewed(kStart);
  view.listed({lease("a", "1"), lease("b", "1")}, kStart, kStart);
  view.listed({lease("a", "1")}, kStart + seconds(2), kStart + seconds(2));
  EXPECT_EQ(view.live(kStart + seconds(14)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(view.live(kStart + seconds(15)), std::vector<std::string>{"a"});
}

// Hand-over to a newcomer: the old owner gives a monitor up as soon as it sees the newcomer; the
// newcomer takes it one lease duration after it joined, never before, so the two never both act.
TEST(ShardView, ANewcomerTakesWhatItGainsFromLiveMembersOneLeaseDurationAfterJoining) {
  const auto keys = monitor_keys(3000);
  ShardView old_member("a", kTiming);
  // a has been a member for a while; b too (both in a's first list).
  const WallTime t = kStart + seconds(20);
  turns(old_member, kStart, t, {"b"});

  // c joins at t + 1 (its first renewal) and lists at once: a and b are settled in its view.
  const WallTime c_joined = t + seconds(1);
  ShardView newcomer("c", kTiming);
  newcomer.renewed(c_joined);
  newcomer.listed({lease("a", "20"), lease("b", "20"), lease("c", "1")}, c_joined, c_joined);
  const std::vector<std::string> after = {"a", "b", "c"};
  int gained = 0;
  for (const auto& key : keys) {
    if (hrw_owner(after, key) != "c") continue;
    ++gained;
    EXPECT_FALSE(newcomer.owns(key, c_joined)) << key;
    EXPECT_FALSE(newcomer.owns(key, c_joined + seconds(15) - std::chrono::milliseconds(1)));
  }
  EXPECT_GT(gained, 800);
  // a has not seen c yet (its last list was before c's Lease existed): it still acts on c's share
  // until its fence closes, 10 s after that list, before c may start.
  int still_a = 0;
  for (const auto& key : keys) {
    if (hrw_owner(after, key) == "c" && old_member.owns(key, c_joined)) ++still_a;
  }
  EXPECT_GT(still_a, 0);
  EXPECT_FALSE(old_member.may_write(t + kTiming.renew_deadline));
  EXPECT_LT(t + kTiming.renew_deadline, c_joined + kTiming.lease_duration);
  // a sees c at its next list: it gives c's share up at once.
  const WallTime a_sees = t + seconds(2);
  old_member.renewed(a_sees);
  old_member.listed({lease("a", "22"), lease("b", "22"), lease("c", "1")}, a_sees, a_sees);
  for (const auto& key : keys) {
    if (hrw_owner(after, key) == "c") {
      EXPECT_FALSE(old_member.owns(key, a_sees)) << key;
    }
    if (hrw_owner(after, key) == "a") {
      EXPECT_TRUE(old_member.owns(key, a_sees)) << key;
    }
  }
  // One lease duration after joining, c takes its share (and never what a or b top).
  const WallTime settled = c_joined + kTiming.lease_duration;
  turns(newcomer, c_joined + seconds(2), settled - seconds(1), {"a", "b"});
  for (const auto& key : keys) EXPECT_EQ(newcomer.owns(key, settled), hrw_owner(after, key) == "c");
  EXPECT_NE(newcomer.assignment(settled), newcomer.assignment(c_joined));
}

// Monitors of a dead member go to their new owner once the lease expired, without the newcomer
// wait, when the new owner is settled.
TEST(ShardView, ASettledMemberTakesADeadMembersMonitorsAtExpiry) {
  ShardView view("a", kTiming);
  view.renewed(kStart);
  view.listed({lease("a", "1"), lease("b", "1")}, kStart, kStart);
  const WallTime later = kStart + seconds(30);  // a settled; b never renewed since kStart
  view.renewed(later);
  view.listed({lease("a", "5"), lease("b", "1")}, later, later);
  for (const auto& key : monitor_keys(200)) EXPECT_TRUE(view.owns(key, later)) << key;
}

// A member back after its Lease expired (a partition healed) is young again for everybody, and
// its own fence lapse makes it young in its own view: it takes nothing back at once.
TEST(ShardView, AMemberBackFromAPartitionWaitsALeaseDurationBeforeTakingMonitorsBack) {
  const auto keys = monitor_keys(500);
  const std::vector<std::string> both = {"a", "b"};
  ShardView a("a", kTiming);
  a.renewed(kStart);
  a.listed({lease("a", "1"), lease("b", "1")}, kStart, kStart);
  WallTime t = kStart + seconds(20);
  a.renewed(t);
  a.listed({lease("a", "2"), lease("b", "1")}, t, t);  // b cut off since kStart: dead
  for (const auto& key : keys) EXPECT_TRUE(a.owns(key, t));
  // b renews again at t + 1 and a sees it: a gives b's share back at once...
  t += seconds(1);
  a.renewed(t);
  a.listed({lease("a", "3"), lease("b", "2")}, t, t);
  for (const auto& key : keys) EXPECT_EQ(a.owns(key, t), hrw_owner(both, key) == "a");

  // ...and b, whose fence lapsed, is young in its own view: nothing a tops... and nothing it
  // gains back from a until one lease duration passed.
  ShardView b("b", kTiming);
  b.renewed(kStart);
  b.listed({lease("a", "1"), lease("b", "1")}, kStart, kStart);
  b.renewed(t);  // 21 s after its previous renewal
  b.listed({lease("a", "3"), lease("b", "2")}, t, t);
  for (const auto& key : keys) EXPECT_FALSE(b.owns(key, t)) << key;
  const WallTime back = t + kTiming.lease_duration;
  turns(b, t + seconds(2), back - seconds(1), {"a"});
  for (const auto& key : keys) EXPECT_EQ(b.owns(key, back), hrw_owner(both, key) == "b");
}

// Clean-up: a Lease unchanged for 10 lease durations is deleted by the live member with the lowest
// name (not by the others), with the resourceVersion it was listed at; the dead member's own name
// being lower does not matter (it is not live).
TEST(ShardView, TheLowestLiveMemberDeletesLeasesUnchangedForTenLeaseDurations) {
  ShardView a("b-first", kTiming);
  ShardView c("c-second", kTiming);
  const WallTime stale_at = kStart + kStaleLeaseDurations * seconds(15);
  for (WallTime now = kStart; now <= stale_at + seconds(4); now += seconds(2)) {
    const std::string version = std::to_string((now - kStart).count());
    const std::vector<MemberLease> leases = {lease("b-first", version), lease("c-second", version),
                                             lease("a-dead", "7")};
    for (ShardView* view : {&a, &c}) {
      view->renewed(now);
      view->listed(leases, now, now);
    }
    EXPECT_TRUE(c.stale(now).empty()) << "not the lowest live member";
    const auto stale = a.stale(now);
    if (now < stale_at) {
      EXPECT_TRUE(stale.empty()) << "at +" << (now - kStart) / seconds(1) << " s";
    } else {
      ASSERT_EQ(stale.size(), 1u);
      EXPECT_EQ(stale[0].name, "a-dead");
      EXPECT_EQ(stale[0].resource_version, "7");
    }
  }
}

// A renewal restarts the count (the replica was only cut off); a released Lease that was not
// deleted is stale too; nothing is deleted while the fence is closed.
TEST(ShardView, ARenewedLeaseIsNotStaleAndNothingIsDeletedWhileFenced) {
  ShardView view("a", kTiming);
  const WallTime renewed_at = kStart + seconds(100);
  WallTime now = kStart;
  for (; now <= renewed_at + seconds(150); now += seconds(2)) {
    view.renewed(now);
    const std::string b_version = now < renewed_at ? "1" : "2";
    view.listed({lease("a", "x"), lease("b", b_version), lease("c", "5", "")}, now, now);
    const auto stale = view.stale(now);
    // c (released) is stale 150 s after our first list; b 150 s after its renewal.
    std::vector<std::string> names;
    for (const auto& lease : stale) names.push_back(lease.name);
    std::vector<std::string> expected;
    if (now >= renewed_at + seconds(150)) expected.push_back("b");
    if (now >= kStart + seconds(150)) expected.push_back("c");
    EXPECT_EQ(names, expected) << "at +" << (now - kStart) / seconds(1) << " s";
  }
  // Our own renewals stop: at the renew deadline the fence closes, and so does the clean-up.
  const WallTime last = now - seconds(2);
  EXPECT_FALSE(view.stale(last + seconds(9)).empty());
  EXPECT_TRUE(view.stale(last + seconds(10)).empty());
}

TEST(ShardMembership, MemberLeaseNamesAreValidLeaseNames) {
  EXPECT_EQ(member_lease_name("lagpilot-7d9f6c-x2x4z"), "lagpilot-member-lagpilot-7d9f6c-x2x4z");
  EXPECT_EQ(member_lease_name("Build_Host_4242"), "lagpilot-member-build-host-4242");
  EXPECT_LE(member_lease_name(std::string(400, 'a')).size(), 253u);
}

TEST(ShardOptions, ShardsAutoIsAFlagThatExcludesLeaderElection) {
  auto options = parse_run_options({"--shards", "auto"});
  ASSERT_TRUE(options.ok()) << options.error().message;
  EXPECT_TRUE(options->shards);
  EXPECT_FALSE(parse_run_options({})->shards);
  for (auto [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--shards", "on"}, "--shards"},
           {{"--shards=auto", "--leader-elect"}, "--shards"},
           {{"--shards=auto", "--lease-duration=6s", "--renew-deadline=5s", "--retry-period=1s"},
            "--retry-period"}}) {
    auto parsed = parse_run_options(args);
    ASSERT_FALSE(parsed.ok()) << flag;
    EXPECT_NE(parsed.error().message.find(flag), std::string::npos) << parsed.error().message;
  }
}

}  // namespace
}  // namespace lagpilot::operator_main
