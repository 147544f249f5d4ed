#include "scaler/policies.h"

#include <gtest/gtest.h>

#include <limits>

#include "test_support.h"

namespace lagpilot::scaler {
namespace {

using testing::kStart;
using testing::lag_observation;

TEST(LagPerReplica, IsCeilOfLagOverTarget) {
  const ScalingSpec spec;  // 5,000 msgs/replica
  EXPECT_EQ(recommend_lag_per_replica(spec, lag_observation(kStart, 48'200))->replicas, 10);
  EXPECT_EQ(recommend_lag_per_replica(spec, lag_observation(kStart, 10'000))->replicas, 2);
  EXPECT_EQ(recommend_lag_per_replica(spec, lag_observation(kStart, 10'001))->replicas, 3);
  EXPECT_EQ(recommend_lag_per_replica(spec, lag_observation(kStart, 1))->replicas, 1);
  EXPECT_EQ(recommend_lag_per_replica(spec, lag_observation(kStart, 0))->replicas, 0);
}

TEST(LagPerReplica, DescribesItsInputs) {
  Observation observation = lag_observation(kStart, 48'200);
  observation.lag_seconds = 96;
  const auto recommendation = recommend_lag_per_replica(ScalingSpec{}, observation);
  EXPECT_EQ(recommendation->applied_policy, Policy::kLagPerReplica);
  EXPECT_EQ(recommendation->inputs, "lag 48,200 msgs, 96 s behind, at 5,000 msgs/replica");
}

TEST(LagPerReplica, UsesQueueDepthWithoutConsumerLag) {
  Observation observation;
  observation.time = kStart;
  observation.queue_depth = 12'000;
  const auto recommendation = recommend_lag_per_replica(ScalingSpec{}, observation);
  EXPECT_EQ(recommendation->replicas, 3);
  EXPECT_EQ(recommendation->inputs, "depth 12,000 msgs, at 5,000 msgs/replica");
}

TEST(LagPerReplica, MissingBacklogIsAnError) {
  Observation observation;
  observation.time = kStart;
  const auto recommendation = recommend_lag_per_replica(ScalingSpec{}, observation);
  ASSERT_FALSE(recommendation.ok());
  EXPECT_EQ(recommendation.error().code, kMissingMetric);
}

TEST(LagPerReplica, SaturatesInsteadOfOverflowing) {
  ScalingSpec spec;
  spec.target_lag_per_replica = 1;
  const auto recommendation = recommend_lag_per_replica(
      spec, lag_observation(kStart, std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(recommendation->replicas, std::numeric_limits<int>::max());
}

Observation drain_observation(std::int64_t lag, double ingress) {
  Observation observation = lag_observation(kStart, lag);
  observation.ingress_rate = ingress;
  return observation;
}

TEST(DrainTime, KeepsUpWithArrivalsAndDrainsTheBacklogInTime) {
  const ScalingSpec spec;  // targetDrainSeconds 60
  // (3,400 + 48,200 / 60) / 410 = 4,203.3 / 410 = 10.25 -> 11
  const auto recommendation = recommend_drain_time(spec, drain_observation(48'200, 3'400), 410.0);
  EXPECT_EQ(recommendation->replicas, 11);
  EXPECT_EQ(recommendation->applied_policy, Policy::kDrainTime);
  EXPECT_EQ(recommendation->inputs,
            "lag 48,200 msgs, draining at 410 msg/s/replica, arrivals 3,400 msg/s");
}

TEST(DrainTime, LongerDrainTargetNeedsFewerReplicas) {
  ScalingSpec spec;
  spec.target_drain_seconds = 180;
  // (3,400 + 48,200 / 180) / 410 = 3,667.8 / 410 = 8.95 -> 9
  EXPECT_EQ(recommend_drain_time(spec, drain_observation(48'200, 3'400), 410.0)->replicas, 9);
}

TEST(DrainTime, ArrivalsAloneSizeAnEmptyQueue) {
  // 3,000 / 300 = 10 exactly, not 11.
  EXPECT_EQ(recommend_drain_time(ScalingSpec{}, drain_observation(0, 3'000), 300.0)->replicas, 10);
  // (12 * 0.1) / 0.1 is 12.000000000000002 in floating point; still 12.
  EXPECT_EQ(recommend_drain_time(ScalingSpec{}, drain_observation(0, 12 * 0.1), 0.1)->replicas, 12);
  EXPECT_EQ(recommend_drain_time(ScalingSpec{}, drain_observation(0, 0), 300.0)->replicas, 0);
}

TEST(DrainTime, FallsBackToLagPerReplicaBeforeThroughputIsLearned) {
  const auto recommendation =
      recommend_drain_time(ScalingSpec{}, drain_observation(48'200, 3'400), std::nullopt);
  EXPECT_EQ(recommendation->replicas, 10);
  EXPECT_EQ(recommendation->applied_policy, Policy::kLagPerReplica);
  EXPECT_EQ(recommendation->inputs,
            "lag 48,200 msgs, at 5,000 msgs/replica (drainTime: no per-replica rate learned yet)");
}

TEST(DrainTime, FallsBackToLagPerReplicaWithoutArrivalRate) {
  const auto recommendation =
      recommend_drain_time(ScalingSpec{}, lag_observation(kStart, 48'200), 410.0);
  EXPECT_EQ(recommendation->replicas, 10);
  EXPECT_EQ(recommendation->applied_policy, Policy::kLagPerReplica);
  EXPECT_NE(recommendation->inputs.find("(drainTime: no arrival rate)"), std::string::npos);
}

TEST(DrainTime, MissingBacklogIsAnError) {
  Observation observation;
  observation.time = kStart;
  observation.ingress_rate = 100;
  EXPECT_EQ(recommend_drain_time(ScalingSpec{}, observation, 410.0).error().code, kMissingMetric);
}

Observation depth_latency_observation(std::int64_t depth, double latency_seconds) {
  Observation observation;
  observation.time = kStart;
  observation.queue_depth = depth;
  observation.latency_seconds = latency_seconds;
  return observation;
}

TEST(DepthLatency, DoublesWhenDeepAndSlow) {
  const auto recommendation = recommend_depth_latency(depth_latency_observation(1'200, 0.62), 4);
  EXPECT_EQ(recommendation->replicas, 8);
  EXPECT_EQ(recommendation->applied_policy, Policy::kDepthLatency);
  EXPECT_EQ(recommendation->inputs, "depth 1,200 msgs > 1,000, latency 620 ms > 500 ms");
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(1'200, 0.62), 0)->replicas, 1);
}

TEST(DepthLatency, HalvesRoundingUpWhenShallowAndFast) {
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(50, 0.04), 4)->replicas, 2);
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(50, 0.04), 5)->replicas, 3);
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(50, 0.04), 1)->replicas, 1);
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(50, 0.04), 4)->inputs,
            "depth 50 msgs < 100, latency 40 ms < 100 ms");
}

TEST(DepthLatency, HoldsOtherwiseIncludingAtTheThresholds) {
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(500, 0.3), 4)->replicas, 4);
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(1'000, 0.9), 4)->replicas, 4);
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(5'000, 0.5), 4)->replicas, 4);
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(100, 0.01), 4)->replicas, 4);
  // Deep but fast: the consumers keep up, no reason to grow.
  EXPECT_EQ(recommend_depth_latency(depth_latency_observation(50'000, 0.05), 4)->replicas, 4);
}

TEST(DepthLatency, MissingLatencyOrDepthIsAnError) {
  Observation no_latency = depth_latency_observation(5'000, 1.0);
  no_latency.latency_seconds.reset();
  EXPECT_EQ(recommend_depth_latency(no_latency, 4).error().code, kMissingMetric);

  Observation no_depth = depth_latency_observation(5'000, 1.0);
  no_depth.queue_depth.reset();
  EXPECT_EQ(recommend_depth_latency(no_depth, 4).error().code, kMissingMetric);
}

TEST(DepthLatency, UsesConsumerLagAsDepthWhenThereIsNoQueueDepth) {
  Observation observation = lag_observation(kStart, 2'000);
  observation.latency_seconds = 0.8;
  EXPECT_EQ(recommend_depth_latency(observation, 3)->replicas, 6);
}

}  // namespace
}  // namespace lagpilot::scaler
