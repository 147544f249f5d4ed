#include "scaler/throughput.h"

#include <gtest/gtest.h>

#include <optional>

#include "test_support.h"

namespace lagpilot::scaler {
namespace {

using testing::kStart;
using testing::lag_observation;

TEST(ThroughputEstimate, IsEmptyUntilTheFirstSample) {
  ThroughputEstimate estimate;
  EXPECT_FALSE(estimate.per_replica_rate().has_value());
  estimate.add_sample(400, 0.3);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 400);
  EXPECT_EQ(estimate.samples(), 1);
}

TEST(ThroughputEstimate, MovesBySmoothingOfTheDifference) {
  ThroughputEstimate estimate;
  estimate.add_sample(400, 0.5);
  estimate.add_sample(500, 0.5);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 450);
  estimate.add_sample(450, 0.3);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 450);
}

TEST(ThroughputEstimate, ConvergesToASteadyRate) {
  ThroughputEstimate estimate;
  estimate.add_sample(100, 0.3);
  for (int i = 0; i < 20; ++i) estimate.add_sample(500, 0.3);
  // 400 * 0.7^20 = 0.32 away.
  EXPECT_NEAR(*estimate.per_replica_rate(), 500, 0.5);
  EXPECT_EQ(estimate.samples(), 21);
}

TEST(ThroughputEstimate, IgnoresNonPositiveSamples) {
  ThroughputEstimate estimate;
  estimate.add_sample(0, 0.3);
  estimate.add_sample(-5, 0.3);
  EXPECT_FALSE(estimate.per_replica_rate().has_value());
}

Observation busy(std::int64_t lag, double egress) {
  Observation observation = lag_observation(kStart, lag);
  observation.egress_rate = egress;
  return observation;
}

TEST(BusyPerReplicaRate, IsEgressPerReplicaWhenBacklogged) {
  // 48,200 msgs is 13 s of work at 3,690 msg/s.
  EXPECT_DOUBLE_EQ(*busy_per_replica_rate(busy(48'200, 3'690), 9, ThroughputLearning{}), 410);
}

TEST(BusyPerReplicaRate, IgnoresIdleConsumers) {
  EXPECT_FALSE(busy_per_replica_rate(busy(0, 3'000), 9, ThroughputLearning{}).has_value());
}

TEST(BusyPerReplicaRate, IgnoresABacklogShorterThanTheMinimum) {
  // 300 msgs at 3,000 msg/s is 0.1 s: commit-interval noise, not saturation.
  EXPECT_FALSE(busy_per_replica_rate(busy(300, 3'000), 9, ThroughputLearning{}).has_value());
  // Exactly 10 s of work counts.
  EXPECT_TRUE(busy_per_replica_rate(busy(30'000, 3'000), 9, ThroughputLearning{}).has_value());
}

TEST(BusyPerReplicaRate, DividesByTheWorkersThatCouldConsume) {
  Observation starting = busy(48'200, 3'690);
  starting.consumers = 6;  // 3 pods still starting
  EXPECT_DOUBLE_EQ(*busy_per_replica_rate(starting, 9, ThroughputLearning{}), 615);

  Observation few_partitions = busy(48'200, 3'690);
  few_partitions.max_useful_consumers = 3;  // 6 replicas idle
  EXPECT_DOUBLE_EQ(*busy_per_replica_rate(few_partitions, 9, ThroughputLearning{}), 1'230);
}

TEST(BusyPerReplicaRate, NeedsEgressWorkersAndASuccessfulPoll) {
  Observation no_egress = busy(48'200, 0);
  no_egress.egress_rate.reset();
  EXPECT_FALSE(busy_per_replica_rate(no_egress, 9, ThroughputLearning{}).has_value());
  EXPECT_FALSE(busy_per_replica_rate(busy(48'200, 0), 9, ThroughputLearning{}).has_value());
  EXPECT_FALSE(busy_per_replica_rate(busy(48'200, 3'690), 0, ThroughputLearning{}).has_value());

  Observation empty_group = busy(48'200, 3'690);
  empty_group.consumers = 0;
  EXPECT_FALSE(busy_per_replica_rate(empty_group, 9, ThroughputLearning{}).has_value());

  Observation failed = busy(48'200, 3'690);
  failed.ok = false;
  EXPECT_FALSE(busy_per_replica_rate(failed, 9, ThroughputLearning{}).has_value());
}

// --- observe(): samples only from consumers that were all consuming and saturated --------------

using testing::at;
using testing::failed_observation;

constexpr std::int64_t kDeepBacklog = 100'000;  // >= 10 s of work at every rate below

// A poll at `t` s: the backlog, the egress rate since the previous poll and, when the source can
// count them, the group's members.
Observation poll(int t, double egress, std::int64_t lag = kDeepBacklog,
                 std::optional<int> members = std::nullopt) {
  Observation observation = lag_observation(at(t), lag);
  observation.egress_rate = egress;
  observation.consumers = members;
  return observation;
}

TEST(ObserveThroughput, SaturatedConsumersGiveEgressPerWorker) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  EXPECT_EQ(estimate.observe(poll(0, 600), 4, spec), LearningStep::kSampled);
  EXPECT_EQ(estimate.observe(poll(1, 640), 4, spec), LearningStep::kSampled);
  // 150 + 0.3 * (160 - 150)
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 153);
  EXPECT_EQ(estimate.samples(), 2);
}

TEST(ObserveThroughput, IdleConsumersTeachNothing) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  // Caught up: egress is the arrival rate. 300 msgs is 0.5 s of work at 600 msg/s.
  EXPECT_EQ(estimate.observe(poll(0, 600, 300), 4, spec), LearningStep::kNotBusy);
  // A burst arrived during the interval: the consumers idled in its first part (the backlog at
  // its start was 300 msgs), so 480 msg/s is not what 4 of them can do.
  EXPECT_EQ(estimate.observe(poll(1, 480), 4, spec), LearningStep::kNotBusy);
  EXPECT_EQ(estimate.observe(poll(2, 600), 4, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
}

TEST(ObserveThroughput, OwnersOfEmptyPartitionsAreNotWorkers) {
  // A hot key: all 100,000 msgs are on one partition of 12, so one of the 4 replicas works.
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  Observation hot = poll(0, 150);
  hot.max_useful_consumers = 12;
  hot.partitions_with_backlog = 1;
  EXPECT_EQ(estimate.observe(hot, 4, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);

  // The backlog spreads to every partition: the workers grew from 1 to 4, but the replicas did
  // not, so there is no start-up to wait for, only the usual two polls.
  Observation spread = poll(1, 600);
  spread.max_useful_consumers = 12;
  spread.partitions_with_backlog = 12;
  EXPECT_EQ(estimate.observe(spread, 4, spec), LearningStep::kWorkersChanged);
  spread.time = at(2);
  EXPECT_EQ(estimate.observe(spread, 4, spec), LearningStep::kWorkersChanged);
  spread.time = at(3);
  EXPECT_EQ(estimate.observe(spread, 4, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
}

TEST(ObserveThroughput, StartUpWaitsForTheNewReplicasToConsume) {
  // Members unknown (the source cannot describe the group): the target's replicas stand in for
  // workers, but scaled-up pods consume only once started. 1 -> 5 replicas, 150 msg/s each.
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  EXPECT_EQ(estimate.observe(poll(0, 150), 1, spec), LearningStep::kSampled);
  // The interval holds the change, then the rebalance after it.
  EXPECT_EQ(estimate.observe(poll(1, 150), 5, spec), LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(2, 150), 5, spec), LearningStep::kWorkersChanged);
  // Still the one old consumer: 30 msg/s per replica would be learned without the start-up rule.
  EXPECT_EQ(estimate.observe(poll(3, 150), 5, spec), LearningStep::kStartingUp);
  // Partly ready, 3 of 5: 90 < 0.75 * 150.
  EXPECT_EQ(estimate.observe(poll(4, 450), 5, spec), LearningStep::kStartingUp);
  // All 5 consume: 150 >= 112.5 ends the start-up.
  EXPECT_EQ(estimate.observe(poll(5, 750), 5, spec), LearningStep::kSampled);
  EXPECT_EQ(estimate.observe(poll(6, 750), 5, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
}

TEST(ObserveThroughput, StartUpWithoutAReferenceWaitsTheStartupDelay) {
  ScalingSpec spec;
  spec.startup_delay_seconds = 10;
  ThroughputEstimate estimate;
  EXPECT_EQ(estimate.observe(poll(0, 30, 50), 1, spec), LearningStep::kNotBusy);  // idle
  EXPECT_EQ(estimate.observe(poll(1, 150), 4, spec), LearningStep::kNotBusy);     // idle at start
  EXPECT_EQ(estimate.observe(poll(2, 150), 4, spec), LearningStep::kWorkersChanged);
  // Nothing to compare with: 37.5 msg/s per replica may be one pod of four started, or the
  // capacity of four. Only the startup delay (since the poll that saw 4) tells.
  EXPECT_EQ(estimate.observe(poll(3, 150), 4, spec), LearningStep::kStartingUp);
  EXPECT_EQ(estimate.observe(poll(10, 150), 4, spec), LearningStep::kStartingUp);
  EXPECT_EQ(estimate.observe(poll(11, 150), 4, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 37.5);

  ThroughputEstimate by_default;  // startupDelaySeconds unset: kDefaultStartupSeconds
  by_default.observe(poll(0, 30, 50), 1, ScalingSpec{});
  by_default.observe(poll(1, 150), 4, ScalingSpec{});
  by_default.observe(poll(2, 150), 4, ScalingSpec{});
  EXPECT_EQ(by_default.observe(poll(60, 150), 4, ScalingSpec{}), LearningStep::kStartingUp);
  EXPECT_EQ(by_default.observe(poll(61, 150), 4, ScalingSpec{}), LearningStep::kSampled);
}

TEST(ObserveThroughput, StartUpReferenceIsTheLastBusyPollWithoutAnEstimate) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  // Busy at 150 msg/s per replica, but never settled long enough for a sample: that rate is the
  // reference when a third replica comes.
  estimate.observe(poll(0, 100, 50), 1, spec);
  EXPECT_EQ(estimate.observe(poll(1, 300), 2, spec), LearningStep::kNotBusy);  // idle at start
  EXPECT_EQ(estimate.observe(poll(2, 300), 2, spec), LearningStep::kWorkersChanged);
  EXPECT_FALSE(estimate.per_replica_rate().has_value());
  EXPECT_EQ(estimate.observe(poll(3, 150), 3, spec), LearningStep::kWorkersChanged);
  estimate.observe(poll(4, 150), 3, spec);
  EXPECT_EQ(estimate.observe(poll(5, 300), 3, spec), LearningStep::kStartingUp);  // 100 < 112.5
  EXPECT_EQ(estimate.observe(poll(6, 420), 3, spec), LearningStep::kSampled);     // 140
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 140);
}

TEST(ObserveThroughput, AFirstSampleBelowTheLowerBoundIsAStartUp) {
  // Members unknown, 150 msg/s per consumer. One replica idles at 150 msg/s (lower bound 150),
  // then 1 -> 10 with a backlog and one consumer still the only one working. Rule 3 passes once
  // the start-up delay (5 s) is over (in the demo a start-up's reference from a starting poll let
  // it pass), but 15 msg/s per replica is below 0.75 x 150: not a capacity.
  ScalingSpec spec;
  spec.startup_delay_seconds = 5;
  ThroughputEstimate estimate;
  EXPECT_EQ(estimate.observe(poll(0, 150, 50), 1, spec), LearningStep::kNotBusy);
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 150);
  EXPECT_EQ(estimate.observe(poll(1, 150), 10, spec), LearningStep::kNotBusy);  // idle at start
  EXPECT_EQ(estimate.observe(poll(2, 150), 10, spec), LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(7, 150), 10, spec), LearningStep::kStartingUp);
  EXPECT_FALSE(estimate.per_replica_rate().has_value());
  // All ten consume: 1,500 / 10 = 150 >= 112.5.
  EXPECT_EQ(estimate.observe(poll(8, 1'500), 10, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
}

TEST(ObserveThroughput, CountedMembersNeedNoStartUpWait) {
  // Members the source counts have joined: they consume once the rebalance is over.
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  EXPECT_EQ(estimate.observe(poll(0, 150, kDeepBacklog, 1), 5, spec), LearningStep::kSampled);
  EXPECT_EQ(estimate.observe(poll(1, 150, kDeepBacklog, 1), 5, spec), LearningStep::kSampled);
  EXPECT_EQ(estimate.observe(poll(2, 450, kDeepBacklog, 3), 5, spec),
            LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(3, 450, kDeepBacklog, 3), 5, spec),
            LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(4, 450, kDeepBacklog, 3), 5, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
}

TEST(ObserveThroughput, RebalancePauseIsSkippedALastingDropIsLearned) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  estimate.observe(poll(0, 600), 4, spec);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
  // A rebalance (a pod restarted, same count) stopped everyone for half the interval.
  EXPECT_EQ(estimate.observe(poll(1, 300), 4, spec), LearningStep::kPaused);
  EXPECT_EQ(estimate.observe(poll(2, 600), 4, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
  // A slower downstream: the first low poll looks like a pause, the second one is learned.
  EXPECT_EQ(estimate.observe(poll(3, 400), 4, spec), LearningStep::kPaused);
  EXPECT_EQ(estimate.observe(poll(4, 400), 4, spec), LearningStep::kSampled);
  // 150 + 0.3 * (100 - 150)
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 135);
}

TEST(ObserveThroughput, ScaleDownWaitsOutTheRebalance) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  estimate.observe(poll(0, 600), 4, spec);
  EXPECT_EQ(estimate.observe(poll(1, 200), 2, spec), LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(2, 250), 2, spec), LearningStep::kWorkersChanged);
  // Fewer workers start no start-up wait: those left were consuming.
  EXPECT_EQ(estimate.observe(poll(3, 300), 2, spec), LearningStep::kSampled);
  EXPECT_DOUBLE_EQ(*estimate.per_replica_rate(), 150);
}

TEST(ObserveThroughput, AFailedPollBreaksTheWorkersRun) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  estimate.observe(poll(0, 600), 4, spec);
  EXPECT_EQ(estimate.observe(failed_observation(at(1)), 4, spec), LearningStep::kNotBusy);
  // The egress since the last good poll spans an unknown stretch.
  EXPECT_EQ(estimate.observe(poll(2, 600), 4, spec), LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(3, 600), 4, spec), LearningStep::kWorkersChanged);
  EXPECT_EQ(estimate.observe(poll(4, 600), 4, spec), LearningStep::kSampled);
  EXPECT_EQ(estimate.samples(), 2);
}

// --- lower_bound(): what the planner sizes with before a rate is learned ----------------------

TEST(ThroughputLowerBound, IsTheHighestEgressPerMemberUntilARateIsLearned) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  EXPECT_FALSE(estimate.planning_rate().has_value());
  // Caught up: 240 msg/s over 2 members says only that one does at least 120.
  estimate.observe(poll(0, 240, 0, 2), 2, spec);
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 120);
  // A burst, 5 pods ordered, 2 members still consuming: 800 / 5 = 160 (starting pods lower it).
  estimate.observe(poll(10, 800, kDeepBacklog, 5), 5, spec);
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 160);
  // All 5 consuming: 2,000 / 5. Not a sample yet (members changed within three polls).
  EXPECT_EQ(estimate.observe(poll(20, 2'000, kDeepBacklog, 5), 5, spec),
            LearningStep::kWorkersChanged);
  EXPECT_FALSE(estimate.per_replica_rate().has_value());
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 400);
  EXPECT_DOUBLE_EQ(*estimate.planning_rate(), 400);
  // A slower poll never lowers it.
  estimate.observe(poll(30, 1'000, kDeepBacklog, 5), 5, spec);
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 400);
}

TEST(ThroughputLowerBound, SkipsAPollWithFewerMembersThanTheOneBefore) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  estimate.observe(poll(0, 1'000, kDeepBacklog, 5), 5, spec);
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 200);
  // 3 left inside the interval: the 1,200 msg/s were partly theirs, 600 per member overstates.
  estimate.observe(poll(10, 1'200, kDeepBacklog, 2), 2, spec);
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 200);
}

TEST(ThroughputLowerBound, GivesWayToTheLearnedRate) {
  const ScalingSpec spec;
  ThroughputEstimate estimate;
  estimate.observe(poll(0, 1'650), 4, spec);  // 412.5 per worker, and a sample
  estimate.observe(poll(10, 1'500), 4, spec);
  ASSERT_TRUE(estimate.per_replica_rate().has_value());
  EXPECT_DOUBLE_EQ(*estimate.lower_bound(), 412.5);
  EXPECT_DOUBLE_EQ(*estimate.planning_rate(), *estimate.per_replica_rate());
  EXPECT_LT(*estimate.planning_rate(), 412.5);
}

}  // namespace
}  // namespace lagpilot::scaler
