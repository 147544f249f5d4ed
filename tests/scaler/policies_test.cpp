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

PlanContext context_at(double per_replica_rate, int current_replicas) {
  PlanContext context;
  context.per_replica_rate = per_replica_rate;
  context.current_replicas = current_replicas;
  context.ready_consumers = current_replicas;
  context.most_useful_replicas = 50;
  context.startup_delay = 20;
  context.poll_interval = 10;
  return context;
}

TEST(DrainTime, PlansForTheObjectiveAndDescribesItsInputs) {
  ScalingSpec spec;
  spec.freshness_objective_seconds = 30;
  Observation observation = drain_observation(0, 3'000);
  // Keep up: 3,000 x 1.05 / 400 = 7.9 -> 8; nothing to drain.
  const auto recommendation = recommend_drain_time(spec, observation, context_at(400, 8));
  EXPECT_EQ(recommendation->replicas, 8);
  EXPECT_EQ(recommendation->applied_policy, Policy::kDrainTime);
  EXPECT_FALSE(recommendation->catch_up);
  EXPECT_EQ(recommendation->inputs,
            "lag 0 msgs, draining at 400 msg/s/replica, arrivals 3,000 msg/s, start-up 20 s "
            "(default): lagSeconds 0 s in 20 s, objective 30 s (keep up)");
}

TEST(DrainTime, WrittenTargetDrainSecondsDrainsTheProjectedBacklogInThatTime) {
  ScalingSpec spec;
  spec.freshness_objective_seconds = 30;
  spec.target_drain_seconds = 10;
  spec.user_set.target_drain_seconds = true;
  // 10 ready replicas serve 4,000 msg/s against 3,000 arriving: the 48,000 msgs drop to 28,000
  // by the time new pods start (20 s); (3,000 + 28,000 / 10) / 400 = 14.5 -> 15.
  const auto recommendation =
      recommend_drain_time(spec, drain_observation(48'000, 3'000), context_at(400, 10));
  EXPECT_EQ(recommendation->replicas, 15);
  EXPECT_NE(recommendation->inputs.find("(targetDrainSeconds)"), std::string::npos);
}

TEST(DrainTime, CatchUpSaysWhy) {
  ScalingSpec spec;
  spec.freshness_objective_seconds = 30;
  Observation observation = drain_observation(60'000, 3'000);
  observation.lag_seconds = 20;
  // 2 replicas (800 msg/s) for the 20 s start-up: 16,000 of 60,000 consumed, head
  // 20 x (1 - 16/60) + 20 = 34.7 s old, 104,000 msgs. 10 s more (the next poll's pods): 8,000 of
  // them consumed, head 34.7 x (1 - 8/104) + 10 = 42 s > 30.
  const auto recommendation = recommend_drain_time(spec, observation, context_at(400, 2));
  EXPECT_TRUE(recommendation->catch_up);
  // Head age at +30 s <= 24 s: 34.7 x (1 - 4,000 N / 104,000) + 10 <= 24 -> N >= 15.5.
  EXPECT_EQ(recommendation->replicas, 16);
  EXPECT_EQ(recommendation->catch_up_detail,
            "catch-up: projected lagSeconds 42 s within 30 s exceeds the objective 30 s; "
            "scale-up limits lifted, no scale-down");
}

TEST(DrainTime, FallsBackToLagPerReplicaBeforeThroughputIsLearned) {
  PlanContext context;
  const auto recommendation =
      recommend_drain_time(ScalingSpec{}, drain_observation(48'200, 3'400), context);
  EXPECT_EQ(recommendation->replicas, 10);
  EXPECT_EQ(recommendation->applied_policy, Policy::kLagPerReplica);
  EXPECT_EQ(recommendation->inputs,
            "lag 48,200 msgs, at 5,000 msgs/replica (drainTime: no per-replica rate learned yet)");
}

TEST(DrainTime, FallsBackToLagPerReplicaWithoutArrivalRate) {
  const auto recommendation =
      recommend_drain_time(ScalingSpec{}, lag_observation(kStart, 48'200), context_at(410, 4));
  EXPECT_EQ(recommendation->replicas, 10);
  EXPECT_EQ(recommendation->applied_policy, Policy::kLagPerReplica);
  EXPECT_NE(recommendation->inputs.find("(drainTime: no arrival rate)"), std::string::npos);
}

TEST(DrainTime, MissingBacklogIsAnError) {
  Observation observation;
  observation.time = kStart;
  observation.ingress_rate = 100;
  EXPECT_EQ(recommend_drain_time(ScalingSpec{}, observation, context_at(410, 4)).error().code,
            kMissingMetric);
}

TEST(DrainTime, BeforeThroughputIsLearnedReleasesAtMostAQuarter) {
  PlanContext context;
  // lagPerReplica says 0 for an empty queue; without a rate, 8 -> 6 and 3 -> 2 at most.
  context.current_replicas = 8;
  const auto from_8 = recommend_drain_time(ScalingSpec{}, drain_observation(0, 2'000), context);
  EXPECT_EQ(from_8->replicas, 6);
  EXPECT_EQ(from_8->applied_policy, Policy::kLagPerReplica);
  EXPECT_NE(from_8->inputs.find("releasing at most a quarter"), std::string::npos);
  context.current_replicas = 3;
  EXPECT_EQ(recommend_drain_time(ScalingSpec{}, drain_observation(0, 2'000), context)->replicas, 2);
  // A backlog asks for more: no floor needed.
  EXPECT_EQ(
      recommend_drain_time(ScalingSpec{}, drain_observation(40'000, 2'000), context)->replicas, 8);
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
