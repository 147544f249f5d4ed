#include "scaler/planner.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace lagpilot::scaler {
namespace {

using testing::at;

// --- The fluid projection -----------------------------------------------------------------------

TEST(Project, KeepsAnEmptyQueueEmptyWhileCapacitySuffices) {
  const QueueProjection after = project({}, 1'000, 1'200, 30);
  EXPECT_DOUBLE_EQ(after.backlog, 0);
  EXPECT_DOUBLE_EQ(after.head_age, 0);
}

TEST(Project, AShortfallAgesTheHeadAtOneMinusCapacityOverArrivals) {
  // 1,000 msg/s against 400: 600 msg/s pile up; the head is the message that arrived at
  // 400 x 20 / 1,000 = 8 s, so 12 s old at 20 s.
  const QueueProjection after = project({}, 1'000, 400, 20);
  EXPECT_DOUBLE_EQ(after.backlog, 12'000);
  EXPECT_DOUBLE_EQ(after.head_age, 12);
}

TEST(Project, ConsumesAnOldBacklogOldestFirst) {
  // 10,000 msgs spread over the last 20 s; 2,500 consumed in 10 s: the head moves 5 s forward in
  // arrival time and 10 s in age.
  const QueueProjection after = project({.backlog = 10'000, .head_age = 20}, 300, 250, 10);
  EXPECT_DOUBLE_EQ(after.backlog, 10'500);
  EXPECT_DOUBLE_EQ(after.head_age, 25);
}

TEST(Project, DrainsABacklogAndMovesTheHeadIntoNewArrivals) {
  // 4,000 msgs gone in the first 2 s at 2,000 msg/s; the rest of the 10 s keeps up.
  const QueueProjection after = project({.backlog = 4'000, .head_age = 8}, 1'000, 2'000, 10);
  EXPECT_DOUBLE_EQ(after.backlog, 0);
  EXPECT_DOUBLE_EQ(after.head_age, 0);
}

TEST(Project, WithoutAnAgeSpreadsTheBacklogOverArrivals) {
  // 5,000 msgs at 1,000 msg/s are 5 s of arrivals; none consumed: 5 + 10 s.
  const QueueProjection after = project({.backlog = 5'000, .head_age = 0}, 1'000, 0, 10);
  EXPECT_DOUBLE_EQ(after.head_age, 15);
}

// --- Arrivals ahead -----------------------------------------------------------------------------

std::vector<ArrivalReading> readings(std::initializer_list<double> rates) {
  std::vector<ArrivalReading> result;
  int t = 0;
  for (double rate : rates) result.push_back({at(t += 10), rate});
  return result;
}

TEST(ArrivalOutlook, ARiseSeenOnceIsHalfExpectedToGoOn) {
  const ArrivalOutlook outlook = arrival_outlook(readings({2'000, 2'000, 6'000}));
  EXPECT_DOUBLE_EQ(outlook.rate, 6'000);
  EXPECT_DOUBLE_EQ(outlook.rise, 2'000);
}

TEST(ArrivalOutlook, ASustainedRiseGoesOnByTheSmallestOfThreeSteps) {
  const ArrivalOutlook outlook = arrival_outlook(readings({1'000, 1'300, 1'500, 1'650}));
  EXPECT_DOUBLE_EQ(outlook.rise, 150);
  EXPECT_TRUE(outlook.sustained);
  EXPECT_FALSE(arrival_outlook(readings({2'000, 2'000, 6'000})).sustained);
}

TEST(ArrivalOutlook, AStepCaughtMidPollIsNotARamp) {
  // A step from 2,000 to 6,000 msg/s 7 s into a 10 s interval: the interval's reading shows 3 s
  // of it (3,200), the next the rest. Two rises are a step, not a ramp: half the last rise, once.
  const ArrivalOutlook outlook = arrival_outlook(readings({2'000, 2'000, 3'200, 6'000}));
  EXPECT_FALSE(outlook.sustained);
  EXPECT_DOUBLE_EQ(outlook.rise, 1'400);
}

TEST(ArrivalOutlook, FallsAreNotExtrapolated) {
  EXPECT_DOUBLE_EQ(arrival_outlook(readings({6'000, 2'000})).rise, 0);
}

TEST(ArrivalOutlook, NoiseIsTheMedianChange) {
  // Changes 100, 50, 100, 4,000: the step does not count as noise.
  EXPECT_DOUBLE_EQ(arrival_outlook(readings({1'000, 1'100, 1'050, 1'150, 5'150})).noise, 100);
  EXPECT_DOUBLE_EQ(arrival_outlook(readings({1'000})).noise, 0);
}

TEST(PollInterval, IsTheLatestGapElseTheDefault) {
  EXPECT_DOUBLE_EQ(poll_interval_seconds(readings({1, 2})), 10);
  EXPECT_DOUBLE_EQ(poll_interval_seconds({{at(0), 1}, {at(15), 1}}), 15);
  EXPECT_DOUBLE_EQ(poll_interval_seconds({}), kDefaultPollIntervalSeconds);
}

// --- Sizing -------------------------------------------------------------------------------------

PlanInputs steady(double arrivals, int replicas) {
  PlanInputs inputs;
  inputs.arrivals.rate = arrivals;
  inputs.per_replica_rate = 400;
  inputs.ready_consumers = replicas;
  inputs.current_replicas = replicas;
  inputs.most_useful_replicas = 24;
  inputs.startup_delay = 20;
  inputs.poll_interval = 10;
  inputs.objective = 30;
  return inputs;
}

TEST(Plan, KeepsUpWithFivePercentHeadroomAndTwoNoises) {
  // From 6 replicas (2,400 msg/s) at 3,800 msg/s the head ages 1 - 2,400 / 3,800 = 0.37 s a
  // second: 18.4 s one objective after the start-up (> 15). The objective needs more (7: 13.2 s),
  // and keeping up sizes the step.
  PlanInputs inputs = steady(3'800, 6);
  EXPECT_EQ(plan_replicas(inputs).replicas, 10);  // 3,990 / 400 = 9.98
  inputs.arrivals.noise = 100;
  const Plan plan = plan_replicas(inputs);
  EXPECT_EQ(plan.replicas, 11);  // 4,190 / 400 = 10.5
  EXPECT_EQ(plan.sizing, "keep up");
  EXPECT_FALSE(plan.catch_up);
}

TEST(Plan, DefersKeepingUpWhileTheCurrentCountMeetsTheObjective) {
  // 10 replicas (4,000 msg/s) at 3,800 msg/s with a noise of 100: keeping up would want 11, but
  // 10 leave no backlog at all; the rise waits until the objective needs it.
  PlanInputs inputs = steady(3'800, 10);
  inputs.arrivals.noise = 100;
  Plan plan = plan_replicas(inputs);
  EXPECT_EQ(plan.replicas, 10);
  EXPECT_EQ(plan.sizing, "keep up deferred: the objective holds");
  // 9 (3,600 msg/s) fall 200 msg/s behind: at the start-up 4,000 msgs, 1.05 s old; one objective
  // later 14,000, 2.6 s old: still within 15 s, so still deferred.
  EXPECT_EQ(plan_replicas(steady(3'800, 9)).replicas, 9);
  // 53,200 msgs 14 s old with 9: by the start-up 72,000 are consumed, the old backlog is gone and
  // 57,200 newer msgs queue, the head 20 - 18,800 / 3,800 = 15.05 s old; one objective later
  // 63,200, 16.6 s old (> 15). 9 no longer meet the objective, and the step goes to keeping up's
  // 11 at once.
  inputs = steady(3'800, 9);
  inputs.arrivals.noise = 100;
  inputs.backlog = 53'200;
  inputs.lag_seconds = 14;
  plan = plan_replicas(inputs);
  EXPECT_FALSE(plan.catch_up);
  EXPECT_EQ(plan.replicas, 11);
  EXPECT_EQ(plan.sizing, "keep up");
}

TEST(Plan, KeepingUpCanBeEnoughForAStep) {
  // A step to 6,000 msg/s, 4 ready replicas (1,600 msg/s): in 20 s the head is
  // 20 x (1 - 1,600 / 6,000) = 14.7 s old and 88,000 msgs queue. Keeping up (6,300 / 400 -> 16,
  // 6,400 msg/s) consumes 64,000 in the next 10 s (head 14.7 x (1 - 64 / 88) + 10 = 14 s) and the
  // remaining 84,000 within 44,000 / 6,000 = 7.3 s of the 20 after: 12.7 s <= 15 s.
  const Plan plan = plan_replicas(steady(6'000, 4));
  EXPECT_NEAR(plan.at_startup.head_age, 14.667, 1e-3);
  EXPECT_DOUBLE_EQ(plan.at_startup.backlog, 88'000);
  EXPECT_FALSE(plan.catch_up);
  EXPECT_EQ(plan.replicas, 16);
  EXPECT_EQ(plan.sizing, "keep up");
}

TEST(Plan, TheObjectiveSizesTheDrainOfAnAgedBacklog) {
  // From 2 ready replicas (800 msg/s): head 17.3 s, 104,000 msgs at the start-up. 16 replicas
  // leave it 15.3 s old one objective later (> 15); 17 bring it to 13.3 s.
  const Plan plan = plan_replicas(steady(6'000, 2));
  EXPECT_NEAR(plan.at_startup.head_age, 17.333, 1e-3);
  EXPECT_EQ(plan.replicas, 17);
  EXPECT_EQ(plan.sizing, "objective");
}

TEST(Plan, ASustainedRiseIsExtrapolatedUntilTheNextPlansPodsStart) {
  PlanInputs inputs = steady(4'000, 12);
  inputs.arrivals.rise = 100;                                     // per 10 s poll
  EXPECT_DOUBLE_EQ(plan_replicas(inputs).arrivals_ahead, 4'100);  // once: maybe a step
  inputs.arrivals.sustained = true;
  const Plan plan = plan_replicas(inputs);
  EXPECT_DOUBLE_EQ(plan.arrivals_ahead, 4'300);  // (20 + 10) / 10 polls of 100
  EXPECT_EQ(plan.replicas, 12);                  // 4,515 / 400 = 11.3
}

TEST(Plan, PodsStillStartingCountFromWhenTheyJoin) {
  PlanInputs inputs = steady(6'000, 16);
  inputs.ready_consumers = 4;
  inputs.starting_ready_in = 5;
  // 4 x 400 for 5 s: 30,000 - 8,000 = 22,000; then 16 x 400 = 6,400 for 15 s: + 90,000 - 96,000.
  const Plan plan = plan_replicas(inputs);
  EXPECT_DOUBLE_EQ(plan.at_startup.backlog, 16'000);
  EXPECT_FALSE(plan.catch_up);
}

TEST(Plan, CatchUpWhenTheProjectionBreaksTheObjective) {
  PlanInputs inputs = steady(6'000, 4);
  inputs.backlog = 60'000;
  inputs.lag_seconds = 20;
  // At the start-up: 32,000 of 60,000 consumed, head 20 x (1 - 32 / 60) + 20 = 29.3 s. With 4
  // replicas 10 s more: 16,000 of 148,000, head 29.3 x (1 - 16 / 148) + 10 = 36.2 s > 30.
  const Plan plan = plan_replicas(inputs);
  EXPECT_NEAR(plan.at_startup.head_age, 29.333, 1e-3);
  EXPECT_NEAR(plan.at_next_plan.head_age, 36.162, 1e-3);
  EXPECT_TRUE(plan.catch_up);
  // 20 replicas: 29.3 x (1 - 80 / 148) + 10 = 23.5 s <= 24 (19: 24.3 s).
  EXPECT_EQ(plan.replicas, 20);
}

TEST(Plan, ReleasesOnlyWithTheWiderHeadroom) {
  // 3,700 msg/s: keep up wants 3,885 / 400 -> 10, release needs 4,070 / 400 -> 11.
  EXPECT_EQ(plan_replicas(steady(3'700, 10)).replicas, 10);
  const Plan from_12 = plan_replicas(steady(3'700, 12));
  EXPECT_EQ(from_12.replicas, 11);
  EXPECT_EQ(from_12.sizing, "hysteresis");
  EXPECT_EQ(plan_replicas(steady(3'700, 11)).replicas, 11) << "no flapping between 10 and 11";
}

TEST(Plan, HoldsWhileABacklogIsLeft) {
  // 10 replicas (4,000 msg/s) against 2,000, 100,000 msgs 20 s behind: 60,000 left at the
  // start-up. The objective needs 8 (one objective later the head is 12 s old), keeping up 6,
  // but nothing goes while a backlog is left.
  PlanInputs inputs = steady(2'000, 10);
  inputs.backlog = 100'000;
  inputs.lag_seconds = 20;
  const Plan plan = plan_replicas(inputs);
  EXPECT_FALSE(plan.catch_up);
  EXPECT_DOUBLE_EQ(plan.at_startup.backlog, 60'000);
  EXPECT_EQ(plan.replicas, 10);
  EXPECT_EQ(plan.sizing, "backlog left");
}

TEST(Plan, ReleasesOnlyWhenTheReplicasKeptClearTheBacklog) {
  // 10 replicas against 2,000 msg/s with 30,000 msgs 15 s behind: the current 10 (4,000 msg/s)
  // drain them within the 20 s start-up, but released pods stop at once. The hysteresis' 6
  // (2,300 / 400 -> 6) consume 48,000 of the 70,000 there will be by then: 22,000 left, so all
  // 10 are held.
  PlanInputs inputs = steady(2'000, 10);
  inputs.backlog = 30'000;
  inputs.lag_seconds = 15;
  Plan plan = plan_replicas(inputs);
  EXPECT_DOUBLE_EQ(plan.at_startup.backlog, 0);
  EXPECT_EQ(plan.replicas, 10);
  EXPECT_EQ(plan.sizing, "backlog left");
  // 8,000 msgs: the 6 consume all 48,000 within the start-up; release to 6 although the queue is
  // still behind now.
  inputs.backlog = 8'000;
  inputs.lag_seconds = 4;
  plan = plan_replicas(inputs);
  EXPECT_EQ(plan.replicas, 6);  // keeping up (2,100 / 400) and the hysteresis agree on 6
}

TEST(Plan, RunsOneReplicaBelowKeepingUpWhileTheBacklogStaysSmall) {
  // 3,700 msg/s on 400 per replica: keeping up needs 10 (3,885 / 400), 9 serve 3,600. With a 5 s
  // start-up and 10 s polls the horizon is 10 x (5 + 10) = 150 s; 9 against the 3,885 keeping up
  // provisions for leave the head 150 x (1 - 3,600 / 3,885) = 11.0 s old then, under half the
  // 30 s objective: run 9.
  PlanInputs inputs = steady(3'700, 10);
  inputs.startup_delay = 5;
  Plan plan = plan_replicas(inputs);
  EXPECT_EQ(plan.replicas, 9);
  EXPECT_EQ(plan.sizing, "below keep-up: the backlog stays under half the objective");
  // At 9 with no backlog, 9 it stays (keeping up deferred, then below keeping up again).
  inputs.current_replicas = inputs.ready_consumers = 9;
  EXPECT_EQ(plan_replicas(inputs).replicas, 9);
  // A 20 s start-up doubles the horizon: 22.0 s > 15 s, 10 are kept.
  inputs.current_replicas = inputs.ready_consumers = 10;
  inputs.startup_delay = 20;
  EXPECT_EQ(plan_replicas(inputs).replicas, 10);
  inputs.startup_delay = 5;
  // A backlog of 20,000 msgs 5 s behind: 9 leave 62,750 msgs, 16.2 s old, at the horizon; the 10
  // keep draining it.
  inputs.backlog = 20'000;
  inputs.lag_seconds = 5;
  EXPECT_EQ(plan_replicas(inputs).replicas, 10);
  inputs.backlog = 0;
  inputs.lag_seconds = 0;
  // Not while arrivals rise, nor with targetDrainSeconds written.
  inputs.arrivals.rise = 50;
  EXPECT_EQ(plan_replicas(inputs).replicas, 10);
  inputs.arrivals.rise = 0;
  inputs.drain_seconds = 30;
  EXPECT_EQ(plan_replicas(inputs).replicas, 10);
  inputs.drain_seconds.reset();
  // Never to zero: 1 replica at 410 msg/s stays 1 (0 would leave the head T s old at once).
  PlanInputs one = steady(410, 1);
  one.startup_delay = 5;
  EXPECT_EQ(plan_replicas(one).replicas, 1);
}

TEST(Plan, AWrittenDrainTimeDrainsTheProjectedBacklog) {
  PlanInputs inputs = steady(2'000, 5);  // 2,000 msg/s served: the backlog stays 30,000
  inputs.backlog = 30'000;
  inputs.lag_seconds = 15;
  inputs.drain_seconds = 15;
  // (2,000 + 30,000 / 15) / 400 = 10.
  EXPECT_EQ(plan_replicas(inputs).replicas, 10);
  EXPECT_EQ(plan_replicas(inputs).sizing, "targetDrainSeconds");
}

// --- Start-up delay and the planner's guard rails ----------------------------------------------

TEST(StartupDelaySeconds, SpecOverLearnedOverDefault) {
  ScalingSpec spec;
  ScalerState state;
  EXPECT_DOUBLE_EQ(startup_delay_seconds(spec, state), kDefaultStartupDelaySeconds);
  state.startup_delay().polled(at(0), 2);
  state.record_scale(at(0), 2, 4);
  state.startup_delay().polled(at(10), 2);
  state.startup_delay().polled(at(20), 4);
  EXPECT_DOUBLE_EQ(startup_delay_seconds(spec, state), 15);
  spec.startup_delay_seconds = 45;
  EXPECT_DOUBLE_EQ(startup_delay_seconds(spec, state), 45);
}

TEST(PlannerGuardRails, ChoosesWhatTheUserDidNotWrite) {
  ScalingSpec spec;
  const ScalingSpec chosen = planner_guard_rails(spec, 20, 10);
  EXPECT_EQ(chosen.scale_up.max_pods_per_period, 0);
  EXPECT_EQ(chosen.scale_up.max_percent_per_period, 0);
  EXPECT_EQ(chosen.scale_up.stabilization_seconds, 0);
  EXPECT_EQ(chosen.scale_down.stabilization_seconds, 30);  // start-up + poll
  EXPECT_EQ(chosen.scale_down.max_pods_per_period, 0);
  EXPECT_EQ(chosen.scale_down.max_percent_per_period, 0);
  EXPECT_EQ(chosen.cooldown_seconds, 0);
}

TEST(PlannerGuardRails, WrittenFieldsApplyAsWritten) {
  ScalingSpec spec;
  spec.user_set = {
      .target_drain_seconds = true, .scale_up = true, .scale_down = true, .cooldown_seconds = true};
  spec.scale_down.stabilization_seconds = 120;
  const ScalingSpec chosen = planner_guard_rails(spec, 20, 10);
  EXPECT_EQ(chosen.scale_up.max_pods_per_period, 4);
  EXPECT_EQ(chosen.scale_up.max_percent_per_period, 100);
  EXPECT_EQ(chosen.scale_down.stabilization_seconds, 120);
  EXPECT_EQ(chosen.scale_down.max_percent_per_period, 50);
  EXPECT_EQ(chosen.cooldown_seconds, 30);
}

TEST(PlannerGuardRails, OtherPoliciesKeepTheSpec) {
  ScalingSpec spec;
  spec.policy = Policy::kLagPerReplica;
  EXPECT_EQ(planner_guard_rails(spec, 20, 10).scale_down.stabilization_seconds, 300);
}

}  // namespace
}  // namespace lagpilot::scaler
