#include "scaler/engine.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_support.h"

namespace lagpilot::scaler {
namespace {

using testing::at;
using testing::failed_observation;
using testing::lag_observation;

// lagPerReplica at 1,000 msgs/replica, so the raw recommendation is ceil(lag / 1,000).
ScalingSpec lag_spec() {
  ScalingSpec spec;
  spec.policy = Policy::kLagPerReplica;
  spec.target_lag_per_replica = 1000;
  spec.max_replicas = 50;
  return spec;
}

// lag_spec with every time-based guard rail and the tolerance out of the way, to isolate one rail.
ScalingSpec unguarded_spec() {
  ScalingSpec spec = lag_spec();
  spec.tolerance = 0;
  spec.scale_up = {.stabilization_seconds = 0,
                   .max_pods_per_period = 1000,
                   .max_percent_per_period = 1000,
                   .period_seconds = 15};
  spec.scale_down = {.stabilization_seconds = 0,
                     .max_pods_per_period = 1000,
                     .max_percent_per_period = 100,
                     .period_seconds = 60};
  spec.cooldown_seconds = 0;
  return spec;
}

Decision decide_lag(const ScalingSpec& spec, int seconds, std::int64_t lag, int current,
                    ScalerState& state) {
  return decide(spec, lag_observation(at(seconds), lag), current, state, false);
}

Observation with_partitions(Observation observation, int partitions) {
  observation.max_useful_consumers = partitions;
  return observation;
}

// --- The policy result passes through untouched when no rail applies -------------------------

TEST(Decide, FollowsThePolicyWhenNoGuardRailApplies) {
  ScalerState state;
  const Decision decision = decide_lag(unguarded_spec(), 0, 6'000, 4, state);
  EXPECT_EQ(decision.desired_replicas, 6);
  EXPECT_TRUE(decision.is_change());
  EXPECT_EQ(decision.recommended_replicas, 6);
  EXPECT_EQ(decision.replicas_if_unpaused, 6);
  EXPECT_EQ(decision.guard_rail, GuardRail::kNone);
  EXPECT_EQ(decision.guard_rail_detail, "");
  EXPECT_EQ(decision.decided_by, "lagPerReplica");
  EXPECT_EQ(decision.time, at(0));
  EXPECT_EQ(decision.reason, "lag 6,000 msgs, at 1,000 msgs/replica: 4 -> 6");
}

TEST(Decide, SaysHoldingWhenThePolicyAgreesWithCurrent) {
  ScalerState state;
  const Decision decision = decide_lag(unguarded_spec(), 0, 6'000, 6, state);
  EXPECT_FALSE(decision.is_change());
  EXPECT_EQ(decision.reason, "lag 6,000 msgs, at 1,000 msgs/replica: holding 6");
}

TEST(Decide, ModeDoesNotChangeTheDecision) {
  ScalingSpec active = lag_spec();
  ScalingSpec dry_run = lag_spec();
  dry_run.mode = Mode::kDryRun;
  ScalerState active_state;
  ScalerState dry_run_state;
  const Decision a = decide_lag(active, 0, 9'000, 4, active_state);
  const Decision b = decide_lag(dry_run, 0, 9'000, 4, dry_run_state);
  EXPECT_EQ(a.desired_replicas, b.desired_replicas);
  EXPECT_EQ(a.reason, b.reason);
}

// --- Bounds ------------------------------------------------------------------------------------

TEST(MinReplicas, RaisesTheRecommendation) {
  ScalingSpec spec = unguarded_spec();
  spec.min_replicas = 2;
  ScalerState state;
  const Decision decision = decide_lag(spec, 0, 0, 3, state);
  EXPECT_EQ(decision.desired_replicas, 2);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMinReplicas);
  EXPECT_EQ(decision.reason,
            "lag 0 msgs, at 1,000 msgs/replica: 3 -> 2 (policy wants 0; raised to minReplicas 2)");
}

TEST(MaxReplicas, CapsTheRecommendation) {
  ScalingSpec spec = unguarded_spec();
  spec.max_replicas = 12;
  ScalerState state;
  const Decision decision = decide_lag(spec, 0, 100'000, 10, state);
  EXPECT_EQ(decision.desired_replicas, 12);
  EXPECT_EQ(decision.recommended_replicas, 100);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMaxReplicas);
  EXPECT_EQ(decision.guard_rail_detail, "capped at maxReplicas 12");
}

TEST(Bounds, CurrentAboveMaxGoesToMaxAtOnce) {
  ScalingSpec spec = lag_spec();  // 300 s scale-down window, 30 s cooldown, 50%/60 s
  spec.max_replicas = 24;
  ScalerState state;
  state.record_scale(at(0), 20, 30);
  const Decision decision = decide_lag(spec, 10, 30'000, 30, state);
  EXPECT_EQ(decision.desired_replicas, 24);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMaxReplicas);
}

TEST(Bounds, CurrentBelowMinGoesToMinAtOnce) {
  ScalingSpec spec = lag_spec();
  spec.min_replicas = 3;
  ScalerState state;
  const Decision decision = decide_lag(spec, 0, 0, 0, state);
  EXPECT_EQ(decision.desired_replicas, 3);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMinReplicas);
}

// --- Partition cap -------------------------------------------------------------------------------

TEST(PartitionCap, CapsAtThePartitionCount) {
  ScalingSpec spec = unguarded_spec();
  spec.max_replicas = 24;
  ScalerState state;
  const Decision decision =
      decide(spec, with_partitions(lag_observation(at(0), 100'000), 8), 6, state, false);
  EXPECT_EQ(decision.desired_replicas, 8);
  EXPECT_EQ(decision.guard_rail, GuardRail::kConsumerLimit);
  EXPECT_EQ(decision.guard_rail_detail,
            "capped at 8 replicas: the queue has work for no more consumers");
}

TEST(PartitionCap, OnlyWhenThePartitionCountIsKnown) {
  ScalingSpec spec = unguarded_spec();
  spec.max_replicas = 24;
  ScalerState state;
  const Decision decision =
      decide(spec, with_partitions(lag_observation(at(0), 100'000), 0), 6, state, false);
  EXPECT_EQ(decision.desired_replicas, 24);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMaxReplicas);
}

TEST(PartitionCap, MorePartitionsThanMaxLeaveMaxInCharge) {
  ScalingSpec spec = unguarded_spec();
  spec.max_replicas = 24;
  ScalerState state;
  const Decision decision =
      decide(spec, with_partitions(lag_observation(at(0), 100'000), 100), 6, state, false);
  EXPECT_EQ(decision.desired_replicas, 24);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMaxReplicas);
}

TEST(PartitionCap, MinReplicasWinsOverIt) {
  ScalingSpec spec = unguarded_spec();
  spec.min_replicas = 10;
  ScalerState state;
  const Decision decision =
      decide(spec, with_partitions(lag_observation(at(0), 100'000), 8), 10, state, false);
  EXPECT_EQ(decision.desired_replicas, 10);
  EXPECT_EQ(decision.guard_rail, GuardRail::kMinReplicas);
}

TEST(PartitionCap, CurrentAbovePartitionsShrinksAtOnce) {
  ScalingSpec spec = lag_spec();  // 300 s scale-down window
  ScalerState state;
  const Decision decision =
      decide(spec, with_partitions(lag_observation(at(0), 30'000), 12), 30, state, false);
  EXPECT_EQ(decision.desired_replicas, 12);
  EXPECT_EQ(decision.guard_rail, GuardRail::kConsumerLimit);
}

// --- Tolerance -----------------------------------------------------------------------------------

TEST(Tolerance, HoldsInsideTheBandInclusive) {
  ScalingSpec spec = unguarded_spec();
  spec.tolerance = 0.1;
  ScalerState state;
  const Decision up = decide_lag(spec, 0, 11'000, 10, state);  // |11/10 - 1| = 0.1
  EXPECT_EQ(up.desired_replicas, 10);
  EXPECT_EQ(up.guard_rail, GuardRail::kTolerance);
  EXPECT_EQ(up.guard_rail_detail, "within tolerance 10% of 10");
  EXPECT_EQ(decide_lag(spec, 10, 9'000, 10, state).desired_replicas, 10);
  // 0.58 * 50 is 28.999999999999996 in floating point; 50 - 21 = 29 is still within the band.
  spec.tolerance = 0.58;
  EXPECT_EQ(decide_lag(spec, 20, 21'000, 50, state).desired_replicas, 50);
}

TEST(Tolerance, ScalesOutsideTheBand) {
  ScalingSpec spec = unguarded_spec();
  spec.tolerance = 0.1;
  ScalerState state;
  EXPECT_EQ(decide_lag(spec, 0, 12'000, 10, state).desired_replicas, 12);
  EXPECT_EQ(decide_lag(spec, 10, 8'000, 10, state).desired_replicas, 8);
  spec.tolerance = 0.05;
  EXPECT_EQ(decide_lag(spec, 20, 11'000, 10, state).desired_replicas, 11);
}

TEST(Tolerance, IsIgnoredFromAndToZero) {
  ScalingSpec spec = unguarded_spec();
  spec.min_replicas = 0;
  spec.tolerance = 1.0;  // would hold any change from 1
  ScalerState state;
  EXPECT_EQ(decide_lag(spec, 0, 1'500, 1, state).desired_replicas, 1);  // |2/1 - 1| <= 1
  EXPECT_EQ(decide_lag(spec, 10, 0, 1, state).desired_replicas, 0);
  EXPECT_EQ(decide_lag(spec, 20, 1'500, 0, state).desired_replicas, 2);
}

// --- Stabilization (HPA behavior) ------------------------------------------------------------

TEST(ScaleDownStabilization, HoldsTheHighestRecommendationFor300Seconds) {
  const ScalingSpec spec = lag_spec();
  ScalerState state;
  EXPECT_EQ(decide_lag(spec, 0, 10'000, 10, state).desired_replicas, 10);
  const Decision held = decide_lag(spec, 100, 6'000, 10, state);
  EXPECT_EQ(held.desired_replicas, 10);
  EXPECT_EQ(held.guard_rail, GuardRail::kScaleDownStabilization);
  EXPECT_EQ(held.guard_rail_detail, "highest recommendation in the last 300 s is 10");
  EXPECT_EQ(decide_lag(spec, 200, 2'000, 10, state).desired_replicas, 10);
  EXPECT_EQ(decide_lag(spec, 299, 2'000, 10, state).desired_replicas, 10);

  // The 10 from t=0 left the window; the 6 from t=100 is now the highest.
  const Decision partly = decide_lag(spec, 300, 2'000, 10, state);
  EXPECT_EQ(partly.desired_replicas, 6);
  EXPECT_EQ(partly.guard_rail, GuardRail::kScaleDownStabilization);
  state.record_scale(partly.time, 10, 6);

  const Decision rest = decide_lag(spec, 400, 2'000, 6, state);
  EXPECT_EQ(rest.desired_replicas, 2);
  EXPECT_EQ(rest.guard_rail, GuardRail::kNone);
}

TEST(ScaleDownStabilization, AlsoDelaysScaleToZero) {
  ScalingSpec spec = lag_spec();
  spec.min_replicas = 0;
  ScalerState state;
  EXPECT_EQ(decide_lag(spec, 0, 2'000, 2, state).desired_replicas, 2);
  const Decision decision = decide_lag(spec, 10, 0, 2, state);
  EXPECT_EQ(decision.desired_replicas, 2);
  EXPECT_EQ(decision.guard_rail, GuardRail::kScaleDownStabilization);
}

TEST(ScaleUpStabilization, UsesTheLowestRecommendationInTheWindow) {
  ScalingSpec spec = unguarded_spec();
  spec.scale_up.stabilization_seconds = 60;
  ScalerState state;
  EXPECT_EQ(decide_lag(spec, 0, 4'000, 4, state).desired_replicas, 4);
  const Decision held = decide_lag(spec, 20, 12'000, 4, state);
  EXPECT_EQ(held.desired_replicas, 4);
  EXPECT_EQ(held.guard_rail, GuardRail::kScaleUpStabilization);
  EXPECT_EQ(held.guard_rail_detail, "lowest recommendation in the last 60 s is 4");
  EXPECT_EQ(decide_lag(spec, 40, 10'000, 4, state).desired_replicas, 4);
  // t=0 left the window: lowest of 12, 10, 12 is 10.
  const Decision partly = decide_lag(spec, 61, 12'000, 4, state);
  EXPECT_EQ(partly.desired_replicas, 10);
  EXPECT_EQ(partly.guard_rail, GuardRail::kScaleUpStabilization);
}

// --- Rate limits (HPA behavior policies) -------------------------------------------------------

TEST(ScaleUpRate, AllowsTheLargerOfFourPodsAndDoublingPer15Seconds) {
  const ScalingSpec spec = lag_spec();
  ScalerState state;
  const Decision small = decide_lag(spec, 0, 20'000, 2, state);
  EXPECT_EQ(small.desired_replicas, 6);
  EXPECT_EQ(small.guard_rail, GuardRail::kScaleUpRate);
  EXPECT_EQ(small.guard_rail_detail, "scale-up rate: at most 6 replicas within 15 s");

  ScalerState other;
  const Decision large = decide_lag(spec, 0, 40'000, 10, other);
  EXPECT_EQ(large.desired_replicas, 20);
  EXPECT_EQ(large.reason,
            "lag 40,000 msgs, at 1,000 msgs/replica: 10 -> 20 (policy wants 40; scale-up rate: at "
            "most 20 replicas within 15 s)");
}

TEST(ScaleUpRate, CountsFromTheStartOfTheSlidingPeriod) {
  const ScalingSpec spec = lag_spec();
  ScalerState state;
  const Decision first = decide_lag(spec, 0, 40'000, 10, state);
  state.record_scale(first.time, 10, first.desired_replicas);
  const Decision within = decide_lag(spec, 5, 40'000, 20, state);
  EXPECT_EQ(within.desired_replicas, 20);
  EXPECT_EQ(within.guard_rail, GuardRail::kScaleUpRate);
  EXPECT_EQ(decide_lag(spec, 15, 40'000, 20, state).desired_replicas, 40);
}

TEST(ScaleDownRate, AllowsTheLargerOfFourPodsAndHalvingPer60Seconds) {
  ScalingSpec spec = lag_spec();
  spec.scale_down.stabilization_seconds = 0;
  spec.cooldown_seconds = 0;
  ScalerState state;
  const Decision first = decide_lag(spec, 0, 1'000, 10, state);
  EXPECT_EQ(first.desired_replicas, 5);
  EXPECT_EQ(first.guard_rail, GuardRail::kScaleDownRate);
  EXPECT_EQ(first.guard_rail_detail, "scale-down rate: at least 5 replicas within 60 s");
  state.record_scale(first.time, 10, 5);

  const Decision within = decide_lag(spec, 30, 1'000, 5, state);
  EXPECT_EQ(within.desired_replicas, 5);
  EXPECT_EQ(within.guard_rail, GuardRail::kScaleDownRate);
  EXPECT_EQ(decide_lag(spec, 60, 1'000, 5, state).desired_replicas, 1);

  ScalerState other;
  EXPECT_EQ(decide_lag(spec, 0, 1'000, 6, other).desired_replicas, 2);  // 4 pods beat 50%
}

// --- Cooldown ------------------------------------------------------------------------------------

TEST(Cooldown, BlocksScaleDownAfterAnyScale) {
  ScalingSpec spec = lag_spec();
  spec.scale_down.stabilization_seconds = 0;
  ScalerState state;
  state.record_scale(at(0), 4, 8);
  const Decision held = decide_lag(spec, 10, 2'000, 8, state);
  EXPECT_EQ(held.desired_replicas, 8);
  EXPECT_EQ(held.guard_rail, GuardRail::kCooldown);
  EXPECT_EQ(held.guard_rail_detail, "last scale 10 s ago, no scale-down within 30 s");
  EXPECT_EQ(decide_lag(spec, 29, 2'000, 8, state).desired_replicas, 8);
  EXPECT_EQ(decide_lag(spec, 30, 2'000, 8, state).desired_replicas, 2);
}

TEST(Cooldown, DoesNotDelayScaleUp) {
  const ScalingSpec spec = lag_spec();
  ScalerState state;
  state.record_scale(at(0), 4, 8);
  const Decision decision = decide_lag(spec, 16, 12'000, 8, state);
  EXPECT_EQ(decision.desired_replicas, 12);
  EXPECT_EQ(decision.guard_rail, GuardRail::kNone);
}

// --- Scale to zero and activation (KEDA) ----------------------------------------------------

ScalingSpec zero_spec() {
  ScalingSpec spec = unguarded_spec();
  spec.min_replicas = 0;
  spec.activation_lag = 100;
  return spec;
}

TEST(Activation, ScalesToZeroAtOrBelowActivationLag) {
  ScalerState state;
  const Decision decision = decide_lag(zero_spec(), 0, 100, 2, state);
  EXPECT_EQ(decision.desired_replicas, 0);
  EXPECT_EQ(decision.recommended_replicas, 1);
  EXPECT_EQ(decision.guard_rail, GuardRail::kActivation);
  EXPECT_EQ(decision.guard_rail_detail, "lag 100 <= activationLag 100: scale to zero");
}

TEST(Activation, NeverScalesToZeroWithMinReplicasAboveZero) {
  ScalingSpec spec = zero_spec();
  spec.min_replicas = 1;
  ScalerState state;
  EXPECT_EQ(decide_lag(spec, 0, 0, 2, state).desired_replicas, 1);
}

TEST(Activation, StaysAtZeroUntilLagExceedsActivationLag) {
  ScalerState state;
  const Decision idle = decide_lag(zero_spec(), 0, 100, 0, state);
  EXPECT_FALSE(idle.is_change());
  EXPECT_EQ(idle.guard_rail, GuardRail::kActivation);
  EXPECT_EQ(idle.guard_rail_detail, "lag 100 <= activationLag 100: stays at zero");

  const Decision active = decide_lag(zero_spec(), 10, 101, 0, state);
  EXPECT_EQ(active.desired_replicas, 1);
  EXPECT_EQ(active.reason, "lag 101 msgs, at 1,000 msgs/replica: 0 -> 1");
}

TEST(Activation, RunsAtLeastOneReplicaWhileActive) {
  ScalingSpec spec = zero_spec();
  spec.policy = Policy::kDepthLatency;
  Observation observation;
  observation.time = at(0);
  observation.queue_depth = 150;
  observation.latency_seconds = 0.3;  // depthLatency holds at 0
  ScalerState state;
  const Decision decision = decide(spec, observation, 0, state, false);
  EXPECT_EQ(decision.desired_replicas, 1);
  EXPECT_EQ(decision.guard_rail, GuardRail::kActivation);
  EXPECT_EQ(decision.guard_rail_detail, "lag 150 > activationLag 100: at least 1 replica");
}

TEST(Activation, FromZeroIsRateLimitedLikeAnyScaleUp) {
  ScalingSpec spec = lag_spec();
  spec.min_replicas = 0;
  ScalerState state;
  const Decision decision = decide_lag(spec, 0, 20'000, 0, state);
  EXPECT_EQ(decision.desired_replicas, 4);
  EXPECT_EQ(decision.guard_rail, GuardRail::kScaleUpRate);
}

// --- Missing or failed data --------------------------------------------------------------------

TEST(MissingData, FailedPollHoldsAndRemembersNothing) {
  const ScalingSpec spec = lag_spec();
  ScalerState state;
  decide_lag(spec, 0, 8'000, 8, state);
  const Decision decision = decide(spec, failed_observation(at(10)), 8, state, false);
  EXPECT_EQ(decision.desired_replicas, 8);
  EXPECT_FALSE(decision.recommended_replicas.has_value());
  EXPECT_EQ(decision.guard_rail, GuardRail::kMissingData);
  EXPECT_EQ(decision.reason,
            "source poll failed: broker unreachable: holding 8 (no scale-down without data; no "
            "fallback configured)");
  // The initial recommendation (the current 8) and the first poll's; the failed poll adds none.
  EXPECT_EQ(state.recommendations().size(), 2u);
  EXPECT_EQ(state.consecutive_failures(), 1);
}

TEST(MissingData, MissingLagHolds) {
  ScalingSpec spec = lag_spec();
  spec.scale_down.stabilization_seconds = 0;
  Observation observation;
  observation.time = at(0);
  observation.ingress_rate = 0;
  ScalerState state;
  const Decision decision = decide(spec, observation, 8, state, false);
  EXPECT_EQ(decision.desired_replicas, 8);
  EXPECT_EQ(decision.reason,
            "no consumer lag or queue depth in the observation: holding 8 (no scale-down without "
            "data; no fallback configured)");
}

TEST(MissingData, MissingLatencyHoldsDepthLatencyWithoutCountingTowardFallback) {
  ScalingSpec spec = unguarded_spec();
  spec.policy = Policy::kDepthLatency;
  spec.fallback = {.failure_threshold = 1, .replicas = 2};
  ScalerState state;
  for (int poll = 0; poll < 3; ++poll) {
    const Decision decision = decide_lag(spec, poll * 10, 10, 8, state);  // depth 10, no latency
    EXPECT_EQ(decision.desired_replicas, 8);
    EXPECT_EQ(decision.guard_rail, GuardRail::kMissingData);
    EXPECT_EQ(decision.reason,
              "no latency in the observation (depthLatency needs spec.latency): holding 8 (no "
              "scale-down without data)");
  }
  EXPECT_EQ(state.consecutive_failures(), 0);
}

TEST(MissingData, NeverScalesToZero) {
  ScalerState state;
  const Decision decision = decide(zero_spec(), failed_observation(at(0)), 3, state, false);
  EXPECT_EQ(decision.desired_replicas, 3);
}

// --- Fallback ------------------------------------------------------------------------------------

ScalingSpec fallback_spec() {
  ScalingSpec spec = lag_spec();
  spec.fallback = {.failure_threshold = 3, .replicas = 6};
  return spec;
}

TEST(Fallback, AppliesExactlyAfterTheThresholdOfConsecutiveFailures) {
  const ScalingSpec spec = fallback_spec();
  ScalerState state;
  const Decision first = decide(spec, failed_observation(at(0)), 10, state, false);
  EXPECT_EQ(first.desired_replicas, 10);
  EXPECT_EQ(first.guard_rail_detail,
            "no scale-down without data; 1 of 3 failed polls before fallback");
  EXPECT_EQ(decide(spec, failed_observation(at(10)), 10, state, false).desired_replicas, 10);

  const Decision third = decide(spec, failed_observation(at(20)), 10, state, false);
  EXPECT_EQ(third.desired_replicas, 6);  // lowers too: the operator asked for exactly 6
  EXPECT_EQ(third.guard_rail, GuardRail::kFallback);
  EXPECT_EQ(third.decided_by, "fallback");
  EXPECT_EQ(third.reason,
            "source poll failed: broker unreachable: 10 -> 6 (3 consecutive failed polls, "
            "fallback.replicas 6)");
  EXPECT_EQ(decide(spec, failed_observation(at(30)), 6, state, false).desired_replicas, 6);
}

TEST(Fallback, RaisesAndIgnoresBoundsAndCooldown) {
  ScalingSpec spec = fallback_spec();
  spec.max_replicas = 4;
  spec.fallback.failure_threshold = 1;
  ScalerState state;
  state.record_scale(at(0), 1, 2);
  EXPECT_EQ(decide(spec, failed_observation(at(1)), 2, state, false).desired_replicas, 6);
}

TEST(Fallback, MissingLagCountsAsAFailedPoll) {
  const ScalingSpec spec = fallback_spec();
  Observation no_lag;
  ScalerState state;
  for (int poll = 0; poll < 3; ++poll) {
    no_lag.time = at(poll * 10);
    decide(spec, no_lag, 2, state, false);
  }
  no_lag.time = at(30);
  EXPECT_EQ(decide(spec, no_lag, 2, state, false).desired_replicas, 6);
}

TEST(Fallback, WithoutFallbackReplicasHoldsForever) {
  const ScalingSpec spec = lag_spec();
  ScalerState state;
  for (int poll = 0; poll < 10; ++poll) {
    EXPECT_EQ(decide(spec, failed_observation(at(poll * 10)), 10, state, false).desired_replicas,
              10);
  }
}

TEST(Fallback, RecoveryResumesNormalDecisionsWithTheirGuardRails) {
  const ScalingSpec spec = fallback_spec();
  ScalerState state;
  decide_lag(spec, 0, 10'000, 10, state);
  decide(spec, failed_observation(at(10)), 10, state, false);
  decide(spec, failed_observation(at(20)), 10, state, false);
  const Decision fallback = decide(spec, failed_observation(at(30)), 10, state, false);
  ASSERT_EQ(fallback.desired_replicas, 6);
  state.record_scale(fallback.time, 10, 6);

  const Decision recovered = decide_lag(spec, 40, 1'000, 6, state);
  EXPECT_EQ(state.consecutive_failures(), 0);
  EXPECT_EQ(recovered.decided_by, "lagPerReplica");
  // The pre-outage recommendation of 10 is still in the 300 s window: no scale-down yet.
  EXPECT_EQ(recovered.desired_replicas, 6);
  EXPECT_EQ(recovered.guard_rail, GuardRail::kScaleDownStabilization);

  // A failure after recovery starts counting from one again.
  EXPECT_EQ(decide(spec, failed_observation(at(50)), 6, state, false).guard_rail,
            GuardRail::kMissingData);
}

// --- Paused --------------------------------------------------------------------------------------

TEST(Paused, ObservesButNeverChanges) {
  ScalerState state;
  const Decision decision = decide(lag_spec(), lag_observation(at(0), 9'000), 4, state, true);
  EXPECT_EQ(decision.desired_replicas, 4);
  EXPECT_FALSE(decision.is_change());
  EXPECT_EQ(decision.replicas_if_unpaused, 8);
  EXPECT_EQ(decision.recommended_replicas, 9);
  EXPECT_EQ(decision.guard_rail, GuardRail::kPaused);
  EXPECT_EQ(decision.reason,
            "paused (lagpilot.io/paused): holding 4; unpaused: lag 9,000 msgs, at 1,000 "
            "msgs/replica: 4 -> 8 (policy wants 9; scale-up rate: at most 8 replicas within 15 s)");
}

TEST(Paused, HoldsEvenWhenFallbackWouldApply) {
  ScalingSpec spec = fallback_spec();
  spec.fallback.failure_threshold = 1;
  ScalerState state;
  const Decision decision = decide(spec, failed_observation(at(0)), 2, state, true);
  EXPECT_EQ(decision.desired_replicas, 2);
  EXPECT_EQ(decision.replicas_if_unpaused, 6);
  EXPECT_EQ(decision.guard_rail, GuardRail::kPaused);
}

// --- A consumer group that makes no progress ---------------------------------------------------

constexpr const char* kStalled =
    "consumer group stalled: committed offsets not moving while lag > 0 since "
    "2026-01-01T00:00:00Z";

TEST(HoldScaleUp, CapsAScaleUpAtTheCurrentReplicasAndSaysWhy) {
  ScalerState state;
  Decision decision = decide_lag(unguarded_spec(), 0, 9'000, 4, state);
  ASSERT_EQ(decision.desired_replicas, 9);
  hold_scale_up(decision, kStalled);
  EXPECT_EQ(decision.desired_replicas, 4);
  EXPECT_FALSE(decision.is_change());
  EXPECT_EQ(decision.replicas_if_unpaused, 4);
  EXPECT_EQ(decision.recommended_replicas, 9);  // the policy's own answer stays visible
  EXPECT_EQ(decision.guard_rail, GuardRail::kGroupNotProgressing);
  EXPECT_EQ(to_string(decision.guard_rail), "GroupNotProgressing");
  EXPECT_EQ(decision.guard_rail_detail, kStalled);
  EXPECT_EQ(decision.reason, std::string("holding 4 replicas: ") + kStalled + " (policy wants 9)");
}

TEST(HoldScaleUp, LetsScaleDownsAndHoldsThrough) {
  ScalerState state;
  Decision down = decide_lag(unguarded_spec(), 0, 2'000, 4, state);
  ASSERT_EQ(down.desired_replicas, 2);
  const Decision before = down;
  hold_scale_up(down, kStalled);
  EXPECT_EQ(down.desired_replicas, 2);
  EXPECT_EQ(down.guard_rail, before.guard_rail);
  EXPECT_EQ(down.reason, before.reason);

  ScalerState steady_state;
  Decision steady = decide_lag(unguarded_spec(), 0, 4'000, 4, steady_state);
  hold_scale_up(steady, kStalled);
  EXPECT_EQ(steady.desired_replicas, 4);
  EXPECT_EQ(steady.guard_rail, GuardRail::kNone);
}

TEST(HoldScaleUp, APausedDecisionStaysPausedWithTheHoldAsItsUnpausedPart) {
  ScalerState state;
  Decision decision = decide(unguarded_spec(), lag_observation(at(0), 9'000), 4, state, true);
  ASSERT_EQ(decision.replicas_if_unpaused, 9);
  hold_scale_up(decision, kStalled);
  EXPECT_EQ(decision.desired_replicas, 4);
  EXPECT_EQ(decision.replicas_if_unpaused, 4);
  EXPECT_EQ(decision.guard_rail, GuardRail::kPaused);
  EXPECT_EQ(decision.reason, std::string("paused (lagpilot.io/paused): holding 4; unpaused: "
                                         "holding 4 replicas: ") +
                                 kStalled + " (policy wants 9)");
}

// --- drainTime end to end: learning and the reason text --------------------------------------

Observation drain_observation(int seconds, std::int64_t lag, double ingress,
                              std::optional<double> egress) {
  Observation observation = lag_observation(at(seconds), lag);
  observation.ingress_rate = ingress;
  observation.egress_rate = egress;
  return observation;
}

TEST(DrainTime, ReasonShowsTheInputsWithThousandsSeparators) {
  ScalingSpec spec;
  spec.target_drain_seconds = 180;  // no lagSeconds SLO: the objective
  ScalerState state;
  state.throughput().add_sample(410, spec.learning.smoothing);
  Observation observation = drain_observation(0, 48'200, 3'400, std::nullopt);
  observation.lag_seconds = 96;
  const Decision decision = decide(spec, observation, 4, state, false);
  // 4 x 410 msg/s over the default 30 s start-up consume 49,200 >= 48,200 msgs: the head is then
  // the message that arrived 1,000 / 3,400 = 0.3 s in, 29.7 s old. Keep up: 3,400 x 1.05 / 410 =
  // 8.7 -> 9.
  EXPECT_EQ(decision.desired_replicas, 9);
  EXPECT_EQ(decision.decided_by, "drainTime");
  EXPECT_FALSE(decision.catch_up);
  EXPECT_EQ(
      decision.reason,
      "lag 48,200 msgs, 96 s behind, draining at 410 msg/s/replica, arrivals 3,400 msg/s, "
      "start-up 30 s (default): lagSeconds 29.7 s in 30 s, objective 180 s (keep up): 4 -> 9");
}

TEST(DrainTime, WrittenScaleUpLimitsApplyOutsideCatchUp) {
  ScalingSpec spec;  // objective 60 s: projected 35 s at the next poll's start-up, no catch-up
  spec.user_set.scale_up = true;
  ScalerState state;
  state.throughput().add_sample(410, spec.learning.smoothing);
  const Decision decision =
      decide(spec, drain_observation(0, 48'200, 3'400, std::nullopt), 4, state, false);
  EXPECT_EQ(decision.recommended_replicas, 9);
  EXPECT_EQ(decision.desired_replicas, 8);  // +4 / x2 per 15 s from 4
  EXPECT_EQ(decision.guard_rail, GuardRail::kScaleUpRate);
  EXPECT_NE(decision.reason.find("4 -> 8 (policy wants 9; scale-up rate: at most 8 replicas "
                                 "within 15 s)"),
            std::string::npos);
}

TEST(DrainTime, UnwrittenScaleUpIsNotRateLimited) {
  ScalingSpec spec;
  ScalerState state;
  state.throughput().add_sample(410, spec.learning.smoothing);
  const Decision decision =
      decide(spec, drain_observation(0, 48'200, 3'400, std::nullopt), 4, state, false);
  EXPECT_EQ(decision.desired_replicas, 9);
  EXPECT_EQ(decision.guard_rail, GuardRail::kNone);
}

Observation behind_observation(int seconds) {
  // 60,000 msgs, 20 s behind, 3,000 msg/s arriving: 2 replicas at 400 msg/s are far behind.
  Observation observation = drain_observation(seconds, 60'000, 3'000, std::nullopt);
  observation.lag_seconds = 20;
  return observation;
}

TEST(CatchUp, LiftsWrittenScaleUpLimitsAndSaysSo) {
  ScalingSpec spec;
  spec.max_replicas = 50;
  spec.freshness_objective_seconds = 30;
  spec.startup_delay_seconds = 20;
  spec.user_set.scale_up = true;  // +4 / x2 per 15 s would allow 6
  spec.scale_up.stabilization_seconds = 60;
  ScalerState state;
  state.throughput().add_sample(400, spec.learning.smoothing);
  const Decision decision = decide(spec, behind_observation(0), 2, state, false);
  EXPECT_TRUE(decision.catch_up);
  EXPECT_EQ(decision.desired_replicas, 16);  // as hand-computed in policies_test
  EXPECT_EQ(decision.guard_rail, GuardRail::kNone);
  EXPECT_NE(decision.reason.find("; catch-up: projected lagSeconds 42 s within 30 s exceeds the "
                                 "objective 30 s; scale-up limits lifted, no scale-down: 2 -> 16"),
            std::string::npos)
      << decision.reason;
}

TEST(CatchUp, RespectsADisabledScaleUp) {
  ScalingSpec spec;
  spec.freshness_objective_seconds = 30;
  spec.startup_delay_seconds = 20;
  spec.user_set.scale_up = true;
  spec.scale_up.select_policy = SelectPolicy::kDisabled;
  ScalerState state;
  state.throughput().add_sample(400, spec.learning.smoothing);
  const Decision decision = decide(spec, behind_observation(0), 2, state, false);
  EXPECT_TRUE(decision.catch_up);
  EXPECT_EQ(decision.desired_replicas, 2);
  EXPECT_EQ(decision.guard_rail, GuardRail::kScaleUpRate);
}

TEST(CatchUp, NeverScalesDown) {
  ScalingSpec spec;
  spec.max_replicas = 50;
  spec.freshness_objective_seconds = 30;
  spec.startup_delay_seconds = 20;
  ScalerState state;
  state.throughput().add_sample(400, spec.learning.smoothing);
  // 30 replicas, all still starting (no members yet): the plan needs 16, but the projection is
  // behind, so nothing goes.
  Observation observation = behind_observation(0);
  observation.consumers = 2;
  const Decision decision = decide(spec, observation, 30, state, false);
  EXPECT_TRUE(decision.catch_up);
  EXPECT_EQ(decision.desired_replicas, 30);
}

TEST(DrainTime, UsesLagPerReplicaUntilThroughputIsLearned) {
  const ScalingSpec spec;
  ScalerState state;
  const Decision before =
      decide(spec, drain_observation(0, 20'000, 3'000, std::nullopt), 4, state, false);
  EXPECT_EQ(before.decided_by, "lagPerReplica");
  EXPECT_EQ(before.recommended_replicas, 4);  // 20,000 / 5,000

  // Busy: 20,000 msgs is 10 s of work at 2,000 msg/s; 2,000 / 4 replicas = 500 msg/s/replica.
  const Decision after = decide(spec, drain_observation(10, 20'000, 3'000, 2'000), 4, state, false);
  EXPECT_EQ(after.decided_by, "drainTime");
  // (3,000 + 20,000 / 60) / 500 = 6.67 -> 7
  EXPECT_EQ(after.recommended_replicas, 7);
}

TEST(DrainTime, LearnsFromBusyPollsAndIgnoresIdleOnes) {
  const ScalingSpec spec;
  ScalerState state;
  decide(spec, drain_observation(0, 50'000, 3'000, 4'000), 8, state, false);  // 500/replica
  EXPECT_DOUBLE_EQ(*state.throughput().per_replica_rate(), 500);

  for (int poll = 1; poll <= 10; ++poll) {  // caught up: egress is just the arrival rate
    decide(spec, drain_observation(poll * 10, 0, 2'000, 2'000), 8, state, false);
  }
  EXPECT_DOUBLE_EQ(*state.throughput().per_replica_rate(), 500);
  EXPECT_EQ(state.throughput().samples(), 1);

  for (int poll = 11; poll <= 30; ++poll) {  // slower consumers, busy: 400/replica
    decide(spec, drain_observation(poll * 10, 50'000, 3'000, 3'200), 8, state, false);
  }
  EXPECT_NEAR(*state.throughput().per_replica_rate(), 400, 1);
}

TEST(DrainTime, PausedStillLearns) {
  const ScalingSpec spec;
  ScalerState state;
  decide(spec, drain_observation(0, 50'000, 3'000, 4'000), 8, state, true);
  EXPECT_EQ(state.throughput().samples(), 1);
}

TEST(DrainTime, CommitIntervalLagDoesNotRunAway) {
  // Consumers keep up; committed offsets trail by 2 s of arrivals. Learning from such polls
  // would give 3,000 / replicas, each scale-up lowering the estimate further.
  const ScalingSpec spec;
  ScalerState state;
  state.throughput().add_sample(500, spec.learning.smoothing);
  int replicas = 6;
  for (int poll = 0; poll < 100; ++poll) {
    const Decision decision =
        decide(spec, drain_observation(poll * 10, 6'000, 3'000, 3'000), replicas, state, false);
    if (decision.is_change()) {
      state.record_scale(decision.time, replicas, decision.desired_replicas);
      replicas = decision.desired_replicas;
    }
  }
  // 6 x 500 = 3,000 msg/s keep the 2 s of lag where it is, inside the objective: keeping up's
  // 7 (3,150 / 500) is deferred while 6 meet it, and nothing runs away.
  EXPECT_EQ(replicas, 6);
  EXPECT_DOUBLE_EQ(*state.throughput().per_replica_rate(), 500);
}

TEST(DrainTime, ReleasesInOneStepOnceTheWindowAllowsHalfTheExcess) {
  // Start-up 20 s, poll 10 s: the planner's scale-down window holds 30 s. After a burst the
  // window still holds 7 (20 s ago) and 3 (10 s ago); the plan wants 2 (keep up: 420 / 400).
  ScalingSpec spec;
  spec.startup_delay_seconds = 20;
  ScalerState state;
  state.mark_seeded();
  state.throughput().add_sample(400, spec.learning.smoothing);
  state.record_recommendation(at(80), 7);
  state.record_recommendation(at(90), 3);
  // 10 -> 7 would give back 3 of the 8 replicas to release: less than half, so it waits.
  const Decision held = decide(spec, drain_observation(100, 0, 400, 400), 10, state, false);
  EXPECT_EQ(held.recommended_replicas, 2);
  EXPECT_EQ(held.desired_replicas, 10);
  EXPECT_EQ(held.guard_rail, GuardRail::kScaleDownStabilization);
  // 15 s later 7 has left the window: 10 -> 3 gives back 7 of 8 at once.
  const Decision released = decide(spec, drain_observation(115, 0, 400, 400), 10, state, false);
  EXPECT_EQ(released.desired_replicas, 3);
  // A window that already allows the whole release goes there directly.
  const Decision all = decide(spec, drain_observation(125, 0, 400, 400), 3, state, false);
  EXPECT_EQ(all.desired_replicas, 2);
}

TEST(DrainTime, AWrittenScaleDownBehaviorReleasesStepByStep) {
  ScalingSpec spec;
  spec.startup_delay_seconds = 20;
  spec.user_set.scale_down = true;
  spec.scale_down.stabilization_seconds = 30;
  spec.scale_down.max_pods_per_period = 0;
  spec.scale_down.max_percent_per_period = 0;
  ScalerState state;
  state.mark_seeded();
  state.throughput().add_sample(400, spec.learning.smoothing);
  state.record_recommendation(at(80), 7);
  EXPECT_EQ(decide(spec, drain_observation(100, 0, 400, 400), 10, state, false).desired_replicas,
            7);
}

// A backlog builds, is drained, and load drops: the whole loop on simulated time. Returns the
// replicas at the end and the first scale-down after the drop at 1,800 s.
struct Scenario {
  int peak = 0;
  int replicas_at_drop = 0;
  double lag_at_drop = 0;
  std::optional<int> first_scale_down_after_drop;
  int final_replicas = 0;
  int actions = 0;
};

Scenario run_drop_scenario(const ScalingSpec& spec, ScalerState& state) {
  constexpr double kCapacityPerReplica = 500;
  constexpr int kPollSeconds = 10;
  Scenario scenario;
  int replicas = 2;
  double lag = 0;
  for (int t = kPollSeconds; t <= 3600; t += kPollSeconds) {
    const double ingress = t <= 1800 ? 3'000 : 500;
    const double processed =
        std::min(lag + ingress * kPollSeconds, replicas * kCapacityPerReplica * kPollSeconds);
    lag += ingress * kPollSeconds - processed;
    Observation observation =
        drain_observation(t, static_cast<std::int64_t>(lag), ingress, processed / kPollSeconds);
    observation.consumers = replicas;
    observation.max_useful_consumers = 24;

    const Decision decision = decide(spec, observation, replicas, state, false);
    if (t == 1800) {
      scenario.replicas_at_drop = replicas;
      scenario.lag_at_drop = lag;
    }
    if (t > 1800 && decision.desired_replicas < replicas && !scenario.first_scale_down_after_drop) {
      scenario.first_scale_down_after_drop = t;
    }
    if (decision.is_change()) {
      state.record_scale(decision.time, replicas, decision.desired_replicas);
      replicas = decision.desired_replicas;
      ++scenario.actions;
    }
    scenario.peak = std::max(scenario.peak, replicas);
  }
  scenario.final_replicas = replicas;
  return scenario;
}

TEST(DrainTime, ScenarioScalesUpFastAndReleasesOnceTheBacklogIsGone) {
  ScalingSpec spec;
  spec.max_replicas = 20;
  spec.freshness_objective_seconds = 30;
  ScalerState state;
  const Scenario scenario = run_drop_scenario(spec, state);
  EXPECT_LE(scenario.peak, spec.max_replicas);
  EXPECT_GE(scenario.replicas_at_drop, 7);  // 3,000 x 1.05 / 500 = 6.3
  EXPECT_LT(scenario.lag_at_drop, 3'000) << "backlog drained while load was high";
  ASSERT_TRUE(scenario.first_scale_down_after_drop.has_value());
  // The hold is start-up + poll: the learned start-up (members join at once here: 5 s, the
  // midpoint of the poll gap) + 10 s.
  EXPECT_LE(*scenario.first_scale_down_after_drop, 1800 + 30) << "released promptly";
  EXPECT_EQ(scenario.final_replicas, 2);  // 500 x 1.1 / 500 = 1.1
  EXPECT_LE(scenario.actions, 6);
  EXPECT_NEAR(*state.throughput().per_replica_rate(), 500, 1);
  EXPECT_DOUBLE_EQ(*state.startup_delay().seconds(), 5);
}

TEST(DrainTime, WrittenScaleDownAndCooldownApplyAsWritten) {
  ScalingSpec spec;
  spec.max_replicas = 20;
  spec.freshness_objective_seconds = 30;
  spec.user_set.scale_down = true;  // 300 s window, 4 pods / 50 % per 60 s
  spec.user_set.cooldown_seconds = true;
  ScalerState state;
  const Scenario scenario = run_drop_scenario(spec, state);
  ASSERT_TRUE(scenario.first_scale_down_after_drop.has_value());
  EXPECT_GE(*scenario.first_scale_down_after_drop, 1800 + 300) << "scale-down waits out the window";
  EXPECT_EQ(scenario.final_replicas, 2);
}

// --- The first decision and learning only from stable membership ------------------------------

TEST(FirstDecision, SeedsTheStabilizationWindowWithTheCurrentReplicas) {
  // A new monitor (or an operator restart) on a quiet queue: lagPerReplica says 1, but the
  // scale-down window has to see the load first, as the HPA's initial recommendation does.
  ScalingSpec spec = lag_spec();
  ScalerState state;
  const Decision first = decide_lag(spec, 0, 0, 8, state);
  EXPECT_EQ(first.desired_replicas, 8);
  EXPECT_EQ(first.guard_rail, GuardRail::kScaleDownStabilization);
  EXPECT_TRUE(state.seeded());
  const Decision later = decide_lag(spec, spec.scale_down.stabilization_seconds + 1, 0, 8, state);
  EXPECT_LT(later.desired_replicas, 8) << "once the window has passed it scales down";
}

TEST(FirstDecision, ScaleUpIsNotDelayed) {
  ScalingSpec spec = lag_spec();
  ScalerState state;
  const Decision first = decide_lag(spec, 0, 40'000, 1, state);
  EXPECT_GT(first.desired_replicas, 1);
}

TEST(DrainTime, LearnsOnlyWhenMembershipWasStableOverTheWindow) {
  const ScalingSpec spec;
  ScalerState state;
  auto busy = [](int t, int consumers) {
    Observation observation = drain_observation(t, 50'000, 3'000, 4'000);
    observation.consumers = consumers;
    return observation;
  };
  decide(spec, busy(0, 8), 8, state, false);  // nothing recorded before: taken
  EXPECT_EQ(state.throughput().samples(), 1);
  // A member joined inside the window (8 -> 10): its egress says nothing about 10 workers.
  decide(spec, busy(10, 10), 10, state, false);
  EXPECT_EQ(state.throughput().samples(), 1);
  // The next window may still hold the rebalance stall that followed the join.
  decide(spec, busy(20, 10), 10, state, false);
  EXPECT_EQ(state.throughput().samples(), 1);
  decide(spec, busy(30, 10), 10, state, false);  // 10 members over two whole windows
  EXPECT_EQ(state.throughput().samples(), 2);
  // Without a member count the target's replicas stand in for it.
  Observation unknown_members = drain_observation(40, 50'000, 3'000, 4'000);
  decide(spec, unknown_members, 10, state, false);
  EXPECT_EQ(state.throughput().samples(), 3);
}

TEST(DrainTime, AFailedPollBreaksTheMembershipRun) {
  const ScalingSpec spec;
  ScalerState state;
  auto busy = [](int t) {
    Observation observation = drain_observation(t, 50'000, 3'000, 4'000);
    observation.consumers = 8;
    return observation;
  };
  decide(spec, busy(0), 8, state, false);
  decide(spec, failed_observation(at(10)), 8, state, false);
  decide(spec, busy(20), 8, state, false);  // the window since the last good poll is unknown
  EXPECT_EQ(state.throughput().samples(), 1);
}

}  // namespace
}  // namespace lagpilot::scaler
