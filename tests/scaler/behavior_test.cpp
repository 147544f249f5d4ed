#include "scaler/behavior.h"

#include <gtest/gtest.h>

#include <limits>

#include "test_support.h"

namespace lagpilot::scaler {
namespace {

using testing::at;

const ScalingRules kScaleUp = ScalingSpec{}.scale_up;      // max(4 pods, 100%) per 15 s
const ScalingRules kScaleDown = ScalingSpec{}.scale_down;  // max(4 pods, 50%) per 60 s

TEST(ScaleUpLimit, LargerOfFourPodsAndDoublingWins) {
  EXPECT_EQ(scale_up_limit(2, {}, kScaleUp, at(0)), 6);    // +4 beats x2
  EXPECT_EQ(scale_up_limit(4, {}, kScaleUp, at(0)), 8);    // tie
  EXPECT_EQ(scale_up_limit(10, {}, kScaleUp, at(0)), 20);  // x2 beats +4
}

TEST(ScaleUpLimit, CountsFromTheReplicasAtThePeriodStart) {
  const std::vector<ScaleEvent> events{{at(0), 2, 6}};
  EXPECT_EQ(scale_up_limit(6, events, kScaleUp, at(5)), 6);  // started at 2: 6 is the limit
  EXPECT_EQ(scale_up_limit(6, events, kScaleUp, at(14)), 6);
  EXPECT_EQ(scale_up_limit(6, events, kScaleUp, at(15)), 12);  // the event is a whole period old
}

TEST(ScaleUpLimit, ScaleDownsInThePeriodRaiseTheStart) {
  // HPA: period start = current - added + removed.
  const std::vector<ScaleEvent> events{{at(0), 4, 8}, {at(5), 8, 6}};
  EXPECT_EQ(replicas_at_period_start(6, events, 15, at(10)), 4);
  EXPECT_EQ(scale_up_limit(6, events, kScaleUp, at(10)), 8);
}

TEST(ScaleUpLimit, NeverBelowCurrent) {
  // Up by 6 within the period (the limits were raised meanwhile): no further growth, no shrink.
  const std::vector<ScaleEvent> events{{at(0), 2, 4}, {at(5), 4, 8}};
  EXPECT_EQ(scale_up_limit(8, events, kScaleUp, at(10)), 8);
}

TEST(ReplicasAtPeriodStart, IsNotClampedLikeTheHpa) {
  // Scaled down by someone else after our scale-up: the start may come out negative.
  const std::vector<ScaleEvent> events{{at(0), 2, 6}};
  EXPECT_EQ(replicas_at_period_start(3, events, 15, at(5)), -1);
  EXPECT_EQ(scale_up_limit(3, events, kScaleUp, at(5)), 3);  // max(-1 + 4, ceil(-2)) = 3
}

TEST(ScaleUpLimit, PercentRoundsUpWithIntegerMath) {
  ScalingRules rules = kScaleUp;
  rules.max_pods_per_period = 1;
  rules.max_percent_per_period = 12;
  EXPECT_EQ(scale_up_limit(25, {}, rules, at(0)),
            28);                                      // float: ceil(25 * 1.12 = 28.000000000000004)
  EXPECT_EQ(scale_up_limit(3, {}, rules, at(0)), 4);  // ceil(3.36) and 3 + 1
}

TEST(ScaleUpLimit, SelectMinTakesTheSmallerChange) {
  ScalingRules rules = kScaleUp;
  rules.select_policy = SelectPolicy::kMin;
  EXPECT_EQ(scale_up_limit(10, {}, rules, at(0)), 14);
  EXPECT_EQ(scale_up_limit(2, {}, rules, at(0)), 4);
}

TEST(ScaleUpLimit, DisabledAndUnlimited) {
  ScalingRules disabled = kScaleUp;
  disabled.select_policy = SelectPolicy::kDisabled;
  EXPECT_EQ(scale_up_limit(5, {}, disabled, at(0)), 5);

  ScalingRules unlimited = kScaleUp;
  unlimited.max_pods_per_period = 0;
  unlimited.max_percent_per_period = 0;
  EXPECT_EQ(scale_up_limit(5, {}, unlimited, at(0)), std::numeric_limits<int>::max());
}

TEST(ScaleUpLimit, FromZeroAllowsAtLeastOne) {
  EXPECT_EQ(scale_up_limit(0, {}, kScaleUp, at(0)), 4);
  ScalingRules percent_only = kScaleUp;
  percent_only.max_pods_per_period = 0;
  EXPECT_EQ(scale_up_limit(0, {}, percent_only, at(0)), 1);
}

TEST(ScaleDownLimit, LargerOfFourPodsAndHalvingWins) {
  EXPECT_EQ(scale_down_limit(10, {}, kScaleDown, at(0)), 5);  // -50% beats -4
  EXPECT_EQ(scale_down_limit(20, {}, kScaleDown, at(0)), 10);
  EXPECT_EQ(scale_down_limit(6, {}, kScaleDown, at(0)), 2);  // -4 beats -50%
  EXPECT_EQ(scale_down_limit(1, {}, kScaleDown, at(0)), 0);
}

TEST(ScaleDownLimit, PercentRoundsDown) {
  ScalingRules rules = kScaleDown;
  rules.max_pods_per_period = 1;
  EXPECT_EQ(scale_down_limit(5, {}, rules, at(0)), 2);  // floor(2.5) removes 3
}

TEST(ScaleDownLimit, CountsFromTheReplicasAtThePeriodStart) {
  const std::vector<ScaleEvent> events{{at(0), 10, 5}};
  EXPECT_EQ(scale_down_limit(5, events, kScaleDown, at(30)), 5);  // already halved this minute
  EXPECT_EQ(scale_down_limit(5, events, kScaleDown, at(60)), 1);
}

TEST(ScaleDownLimit, SelectMinTakesTheSmallerChange) {
  ScalingRules rules = kScaleDown;
  rules.select_policy = SelectPolicy::kMin;
  EXPECT_EQ(scale_down_limit(20, {}, rules, at(0)), 16);
  rules.select_policy = SelectPolicy::kDisabled;
  EXPECT_EQ(scale_down_limit(20, {}, rules, at(0)), 20);
}

TEST(Stabilize, ScaleDownUsesTheHighestRecommendationInTheWindow) {
  const ScalingSpec spec;  // scale-down window 300 s
  const std::vector<TimedRecommendation> history{{at(0), 9}, {at(100), 5}};
  const Stabilization held = stabilize(9, 3, history, spec, at(299));
  EXPECT_EQ(held.replicas, 9);
  EXPECT_EQ(held.highest_scale_down, 9);
  // Exactly 300 s old is outside the window.
  EXPECT_EQ(stabilize(9, 3, history, spec, at(300)).replicas, 5);
  EXPECT_EQ(stabilize(9, 3, history, spec, at(401)).replicas, 3);
}

TEST(Stabilize, ScaleUpUsesTheLowestRecommendationInTheWindow) {
  ScalingSpec spec;
  spec.scale_up.stabilization_seconds = 60;
  const std::vector<TimedRecommendation> history{{at(0), 6}, {at(30), 12}};
  const Stabilization held = stabilize(4, 10, history, spec, at(50));
  EXPECT_EQ(held.replicas, 6);
  EXPECT_EQ(held.lowest_scale_up, 6);
  EXPECT_EQ(stabilize(4, 10, history, spec, at(60)).replicas, 10);
}

TEST(Stabilize, WithoutHistoryFollowsTheRecommendation) {
  const ScalingSpec spec;
  EXPECT_EQ(stabilize(4, 9, {}, spec, at(0)).replicas, 9);
  EXPECT_EQ(stabilize(9, 4, {}, spec, at(0)).replicas, 4);
}

}  // namespace
}  // namespace lagpilot::scaler
