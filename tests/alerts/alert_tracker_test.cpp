#include "alerts/alert_tracker.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace lagpilot::alerts {
namespace {

using testing::at;

AlertRule lag_rule(int for_seconds, int keep_firing_seconds = 0, Op op = Op::kGreater,
                   double threshold = 1000) {
  AlertRule rule;
  rule.name = "LagHigh";
  rule.any_of = {Clause{{{"consumerLag", op, threshold}}}};
  rule.for_duration = std::chrono::seconds(for_seconds);
  rule.keep_firing_for = std::chrono::seconds(keep_firing_seconds);
  rule.severity = Severity::kHigh;
  rule.summary = *SummaryTemplate::parse("lag {{ .value }} on {{ .topic }}");
  return rule;
}

// One row of a timeline: at `t` the metric is `value` (nullopt: unknown this poll); expected state
// afterwards, its since (seconds; ignored when inactive) and the transition, if any.
struct Poll {
  int t;
  std::optional<double> value;
  AlertState state;
  int since;
  const char* transition;  // "", "fired", "resolved"
};

void run_timeline(AlertTracker& tracker, const std::vector<Poll>& polls) {
  for (const auto& poll : polls) {
    SCOPED_TRACE("t=" + std::to_string(poll.t));
    MetricValues values;
    if (poll.value) values["consumerLag"] = *poll.value;
    const AlertTracker::Step step = tracker.evaluate(values, at(poll.t));
    if (poll.state == AlertState::kInactive) {
      EXPECT_TRUE(step.active.empty());
    } else {
      ASSERT_EQ(step.active.size(), 1u);
      EXPECT_EQ(step.active[0].state, poll.state);
      EXPECT_EQ(step.active[0].since, at(poll.since));
    }
    const std::string expected = poll.transition;
    if (expected.empty()) {
      EXPECT_TRUE(step.transitions.empty());
    } else {
      ASSERT_EQ(step.transitions.size(), 1u);
      EXPECT_EQ(step.transitions[0].kind, expected == "fired" ? AlertTransition::Kind::kFired
                                                              : AlertTransition::Kind::kResolved);
      EXPECT_EQ(step.transitions[0].at, at(poll.t));
    }
  }
}

constexpr auto kInactive = AlertState::kInactive;
constexpr auto kPending = AlertState::kPending;
constexpr auto kFiring = AlertState::kFiring;

TEST(AlertTracker, PendsForForSecondsThenFiresThenResolves) {
  AlertTracker tracker({"shop", "orders", "orders", "orders"});
  tracker.set_rules({lag_rule(120)});
  run_timeline(tracker, {
                            {0, 500, kInactive, 0, ""},
                            {30, 1500, kPending, 30, ""},
                            {60, 1600, kPending, 30, ""},
                            {120, 1700, kPending, 30, ""},       // 90 s < 120 s
                            {150, 1800, kFiring, 150, "fired"},  // 120 s
                            {180, 2500, kFiring, 150, ""},
                            {210, 900, kInactive, 0, "resolved"},
                        });
  ASSERT_EQ(tracker.history().size(), 1u);
  const ResolvedAlert& resolved = tracker.history().front();
  EXPECT_EQ(resolved.name, "LagHigh");
  EXPECT_EQ(resolved.severity, Severity::kHigh);
  EXPECT_EQ(resolved.fired_at, at(150));
  EXPECT_EQ(resolved.resolved_at, at(210));
  EXPECT_EQ(resolved.peak_value, 2500);
  EXPECT_EQ(resolved.summary, "lag 2500 on orders");
}

TEST(AlertTracker, ForZeroFiresOnTheFirstMatchingPoll) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(0)});
  run_timeline(tracker, {
                            {0, 2000, kFiring, 0, "fired"},
                            {10, 2000, kFiring, 0, ""},
                            {20, 10, kInactive, 0, "resolved"},
                        });
}

TEST(AlertTracker, PendingThatStopsHoldingIsDroppedSilently) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(60)});
  run_timeline(tracker, {
                            {0, 2000, kPending, 0, ""},
                            {30, 10, kInactive, 0, ""},
                            {60, 2000, kPending, 60, ""},  // a new pending period
                            {90, 2000, kPending, 60, ""},
                            {120, 2000, kFiring, 120, "fired"},
                        });
  EXPECT_TRUE(tracker.history().empty());  // fired, not resolved yet
}

TEST(AlertTracker, FlappingNeverFiresWhenItNeverHoldsForLongEnough) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(60)});
  std::vector<Poll> polls;
  for (int t = 0; t <= 600; t += 30) {
    const bool high = (t / 30) % 2 == 0;
    polls.push_back({t, high ? 2000.0 : 10.0, high ? kPending : kInactive, t, ""});
  }
  run_timeline(tracker, polls);
  EXPECT_TRUE(tracker.history().empty());
}

TEST(AlertTracker, KeepFiringForBridgesFlappingAndResolvesAfterItElapses) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(0, 60)});
  run_timeline(tracker, {
                            {0, 2000, kFiring, 0, "fired"},
                            {30, 10, kFiring, 0, ""},    // clear since 30
                            {60, 2000, kFiring, 0, ""},  // holds again: countdown cancelled
                            {90, 10, kFiring, 0, ""},    // clear since 90
                            {120, 10, kFiring, 0, ""},   // 30 s
                            {149, 10, kFiring, 0, ""},   // 59 s
                            {150, 10, kInactive, 0, "resolved"},  // 60 s
                        });
  ASSERT_EQ(tracker.history().size(), 1u);
  EXPECT_EQ(tracker.history().front().fired_at, at(0));
  EXPECT_EQ(tracker.history().front().resolved_at, at(150));
}

TEST(AlertTracker, MissingDataNeitherResolvesNorFires) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(120)});
  run_timeline(tracker, {
                            {0, std::nullopt, kInactive, 0, ""},  // inactive stays inactive
                            {10, 2000, kPending, 10, ""},
                            {20, std::nullopt, kPending, 10, ""},
                            {200, std::nullopt, kPending, 10, ""},  // 190 s, but unknown
                            {210, 2000, kFiring, 210, "fired"},     // data back, still holds
                            {220, std::nullopt, kFiring, 210, ""},
                            {900, std::nullopt, kFiring, 210, ""},  // never resolves on unknown
                            {910, 10, kInactive, 0, "resolved"},
                        });
}

TEST(AlertTracker, MissingDataDoesNotRunDownKeepFiringFor) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(0, 60)});
  run_timeline(tracker, {
                            {0, 2000, kFiring, 0, "fired"},
                            {10, 10, kFiring, 0, ""},             // clear since 10
                            {100, std::nullopt, kFiring, 0, ""},  // 90 s, unknown: hold
                            {110, 10, kInactive, 0, "resolved"},  // known and 100 s >= 60 s
                        });
}

TEST(AlertTracker, ValueAndSummaryKeepTheLastKnownValue) {
  AlertTracker tracker({"shop", "orders", "orders", "orders"});
  tracker.set_rules({lag_rule(0)});
  (void)tracker.evaluate({{"consumerLag", 48213}}, at(0));
  const auto step = tracker.evaluate({}, at(10));
  ASSERT_EQ(step.active.size(), 1u);
  EXPECT_EQ(step.active[0].value, 48213);
  EXPECT_EQ(step.active[0].summary, "lag 48200 on orders");
  EXPECT_EQ(step.active[0].severity, Severity::kHigh);
}

TEST(AlertTracker, PeakFollowsTheRuleDirection) {
  struct Row {
    Op op;
    double threshold;
    std::vector<double> values;  // all holding
    double peak;
  };
  const Row rows[] = {
      {Op::kGreater, 1000, {1500, 3000, 2000}, 3000},
      {Op::kLess, 5, {3, 1, 2}, 1},
      {Op::kLessOrEqual, 5, {5, 4, 4.5}, 4},
      {Op::kNotEqual, 10, {12, 2, 15}, 2},
      {Op::kEqual, 0, {0, 0}, 0},
  };
  for (const auto& row : rows) {
    AlertTracker tracker;
    tracker.set_rules({lag_rule(0, 0, row.op, row.threshold)});
    int t = 0;
    for (double value : row.values) (void)tracker.evaluate({{"consumerLag", value}}, at(t += 10));
    // Resolve with a value that does not hold.
    const double clear = row.op == Op::kEqual      ? 1
                         : row.op == Op::kNotEqual ? 10
                                                   : row.threshold * 2;
    const auto step =
        tracker.evaluate({{"consumerLag", row.op == Op::kGreater ? 0 : clear}}, at(t + 10));
    ASSERT_EQ(step.transitions.size(), 1u) << to_string(row.op);
    EXPECT_EQ(tracker.history().front().peak_value, row.peak) << to_string(row.op);
    EXPECT_EQ(step.transitions[0].value, row.peak);
  }
}

TEST(AlertTracker, TransitionsCarryLabelsAndSummaries) {
  AlertTracker tracker({"shop", "orders", "orders-topic", "orders-topic"});
  AlertRule rule = lag_rule(0);
  rule.labels = {{"team", "payments"}};
  tracker.set_rules({rule});
  auto step = tracker.evaluate({{"consumerLag", 5000}}, at(0));
  ASSERT_EQ(step.transitions.size(), 1u);
  const AlertTransition& fired = step.transitions[0];
  EXPECT_EQ(fired.kind, AlertTransition::Kind::kFired);
  EXPECT_EQ(fired.name, "LagHigh");
  EXPECT_EQ(fired.fired_at, at(0));
  EXPECT_EQ(fired.value, 5000);
  EXPECT_EQ(fired.summary, "lag 5000 on orders-topic");
  EXPECT_EQ(fired.labels.at("team"), "payments");
  EXPECT_EQ(fired.labels.at("alertname"), "LagHigh");
  EXPECT_EQ(fired.labels.at("queuemonitor"), "orders");
  step = tracker.evaluate({{"consumerLag", 7}}, at(40));
  ASSERT_EQ(step.transitions.size(), 1u);
  EXPECT_EQ(step.transitions[0].kind, AlertTransition::Kind::kResolved);
  EXPECT_EQ(step.transitions[0].fired_at, at(0));
  EXPECT_EQ(step.transitions[0].at, at(40));
}

TEST(AlertTracker, HistoryIsNewestFirstAndBounded) {
  AlertTracker tracker({}, 3);
  tracker.set_rules({lag_rule(0)});
  for (int i = 0; i < 5; ++i) {
    (void)tracker.evaluate({{"consumerLag", 2000.0 + i}}, at(100 * i));
    (void)tracker.evaluate({{"consumerLag", 0}}, at(100 * i + 50));
  }
  ASSERT_EQ(tracker.history().size(), 3u);
  EXPECT_EQ(tracker.history()[0].fired_at, at(400));
  EXPECT_EQ(tracker.history()[1].fired_at, at(300));
  EXPECT_EQ(tracker.history()[2].fired_at, at(200));
  EXPECT_EQ(tracker.history()[0].peak_value, 2004);
}

TEST(AlertTracker, RestoredPendingContinuesItsForTime) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(120)});
  tracker.restore({{"LagHigh", Severity::kHigh, AlertState::kPending, at(0), 1500, "lag 1500"}},
                  {});
  ASSERT_EQ(tracker.active().size(), 1u);
  run_timeline(tracker, {
                            {110, 1600, kPending, 0, ""},
                            {120, 1600, kFiring, 120, "fired"},
                        });
}

TEST(AlertTracker, RestoredFiringDoesNotFireAgainAndResolvesWithItsFiredAt) {
  AlertTracker tracker;
  tracker.set_rules({lag_rule(120)});
  const ResolvedAlert old{"LagHigh", Severity::kHigh, at(-900), at(-800), 3000, "lag 3000"};
  tracker.restore({{"LagHigh", Severity::kHigh, AlertState::kFiring, at(-60), 1500, "lag 1500"},
                   {"Removed", Severity::kHigh, AlertState::kFiring, at(-60), 1, "x"}},
                  {old});
  EXPECT_EQ(tracker.active().size(), 1u);  // "Removed" names no rule
  run_timeline(tracker, {
                            {0, 1800, kFiring, -60, ""},
                            {10, 10, kInactive, 0, "resolved"},
                        });
  ASSERT_EQ(tracker.history().size(), 2u);
  EXPECT_EQ(tracker.history()[0].fired_at, at(-60));
  EXPECT_EQ(tracker.history()[0].peak_value, 1800);
  EXPECT_EQ(tracker.history()[1].name, "LagHigh");
  EXPECT_EQ(tracker.history()[1].resolved_at, at(-800));
}

TEST(AlertTracker, ChangedRulesKeepStateByNameAndResolveRemovedFiringRules) {
  AlertTracker tracker;
  AlertRule other = lag_rule(0);
  other.name = "Other";
  tracker.set_rules({lag_rule(60), other});
  (void)tracker.evaluate({{"consumerLag", 2000}}, at(0));  // LagHigh pending, Other firing
  AlertRule raised = lag_rule(60, 0, Op::kGreater, 1500);
  tracker.set_rules({raised});  // Other removed while firing
  auto step = tracker.evaluate({{"consumerLag", 2000}}, at(60));
  ASSERT_EQ(step.transitions.size(), 2u);
  EXPECT_EQ(step.transitions[0].name, "Other");
  EXPECT_EQ(step.transitions[0].kind, AlertTransition::Kind::kResolved);
  EXPECT_EQ(step.transitions[1].name, "LagHigh");  // pending since 0 kept: fires at 60
  EXPECT_EQ(step.transitions[1].kind, AlertTransition::Kind::kFired);
  EXPECT_EQ(tracker.history().front().name, "Other");
}

}  // namespace
}  // namespace lagpilot::alerts
