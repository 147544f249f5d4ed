#include "scaler/throughput.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lagpilot::scaler
