#include "sim/baselines/hpa_keda.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/simulation.h"

namespace lagpilot::sim::baselines {
namespace {

HpaConfig hpa_config(int min_replicas = 1, int max_replicas = 50) {
  HpaConfig config;
  config.min_replicas = min_replicas;
  config.max_replicas = max_replicas;
  return config;
}

TEST(HorizontalPodAutoscaler, DefaultBehaviorIsTheDocumentedOne) {
  const HpaRules up = default_hpa_scale_up();
  EXPECT_EQ(up.stabilization_window_seconds, 0);
  ASSERT_EQ(up.policies.size(), 2u);
  EXPECT_EQ(up.policies[0].type, HpaPolicy::Type::kPercent);
  EXPECT_EQ(up.policies[0].value, 100);
  EXPECT_EQ(up.policies[0].period_seconds, 15);
  EXPECT_EQ(up.policies[1].type, HpaPolicy::Type::kPods);
  EXPECT_EQ(up.policies[1].value, 4);
  EXPECT_EQ(up.policies[1].period_seconds, 15);
  EXPECT_EQ(up.select, HpaSelect::kMax);
  const HpaRules down = default_hpa_scale_down();
  EXPECT_EQ(down.stabilization_window_seconds, 300);
  ASSERT_EQ(down.policies.size(), 1u);
  EXPECT_EQ(down.policies[0].type, HpaPolicy::Type::kPercent);
  EXPECT_EQ(down.policies[0].value, 100);
  EXPECT_EQ(down.policies[0].period_seconds, 15);
  EXPECT_EQ(HpaConfig{}.tolerance, 0.1);
  EXPECT_EQ(HpaConfig{}.sync_period_seconds, 15);
}

TEST(HorizontalPodAutoscaler, AverageValueTargetWithTolerance) {
  HorizontalPodAutoscaler hpa(hpa_config());
  // 21,000 / (5,000 * 4) = 1.05: within the 0.1 tolerance, no change.
  HpaDecision d = hpa.reconcile(0, 4, 21000, 5000);
  EXPECT_EQ(d.metric_replicas, 4);
  EXPECT_EQ(d.desired_replicas, 4);
  // 23,000 / 20,000 = 1.15: ceil(23,000 / 5,000) = 5.
  d = hpa.reconcile(15, 4, 23000, 5000);
  EXPECT_EQ(d.metric_replicas, 5);
  EXPECT_EQ(d.desired_replicas, 5);
  EXPECT_TRUE(d.rescale());
}

TEST(HorizontalPodAutoscaler, ScaleUpByTheLargerOfDoublingOrFourPodsPer15Seconds) {
  HorizontalPodAutoscaler hpa(hpa_config());
  // Wants 20: from 2, at most max(2 * 2, 2 + 4) = 6.
  HpaDecision d = hpa.reconcile(0, 2, 100000, 5000);
  EXPECT_EQ(d.metric_replicas, 20);
  EXPECT_EQ(d.desired_replicas, 6);
  EXPECT_EQ(d.reason, "ScaleUpLimit");
  // 10 s later the period still starts at 2 replicas: hold 6.
  d = hpa.reconcile(10, 6, 100000, 5000);
  EXPECT_EQ(d.desired_replicas, 6);
  // 15 s after the event it is outside the period: max(12, 10) = 12.
  d = hpa.reconcile(15, 6, 100000, 5000);
  EXPECT_EQ(d.desired_replicas, 12);
  d = hpa.reconcile(30, 12, 100000, 5000);
  EXPECT_EQ(d.desired_replicas, 20);
  EXPECT_EQ(d.reason, "DesiredWithinRange");
  // maxReplicas caps.
  d = hpa.reconcile(45, 20, 1e6, 5000);
  EXPECT_EQ(d.desired_replicas, 40);
  d = hpa.reconcile(60, 40, 1e6, 5000);
  EXPECT_EQ(d.desired_replicas, 50);
  EXPECT_EQ(d.reason, "TooManyReplicas");
}

TEST(HorizontalPodAutoscaler, ScaleDownWaitsFor300SecondsThenDropsAtOnce) {
  HorizontalPodAutoscaler hpa(hpa_config());
  EXPECT_EQ(hpa.reconcile(0, 10, 50000, 5000).desired_replicas, 10);
  for (int t = 15; t < 300; t += 15) {
    const HpaDecision d = hpa.reconcile(t, 10, 0, 5000);
    ASSERT_EQ(d.metric_replicas, 0);
    ASSERT_EQ(d.desired_replicas, 10) << "t=" << t;
    ASSERT_EQ(d.reason, "ScaleDownStabilized");
  }
  // The recommendations of t = 0 are 300 s old: out of the window. 100 % per 15 s allows
  // everything; minReplicas 1 is the floor.
  const HpaDecision d = hpa.reconcile(300, 10, 0, 5000);
  EXPECT_EQ(d.desired_replicas, 1);
  EXPECT_EQ(d.reason, "TooFewReplicas");
}

TEST(HorizontalPodAutoscaler, TheWindowStartsWithTheCurrentReplicas) {
  // recordInitialRecommendation: a fresh HPA does not scale down for 300 s.
  HorizontalPodAutoscaler hpa(hpa_config());
  EXPECT_EQ(hpa.reconcile(0, 8, 0, 5000).desired_replicas, 8);
  EXPECT_EQ(hpa.reconcile(285, 8, 0, 5000).desired_replicas, 8);
  EXPECT_EQ(hpa.reconcile(300, 8, 0, 5000).desired_replicas, 1);
}

TEST(HorizontalPodAutoscaler, OutOfBoundsAndMissingMetrics) {
  HorizontalPodAutoscaler hpa(hpa_config(2, 6));
  EXPECT_EQ(hpa.reconcile(0, 9, 0, 5000).desired_replicas, 6);
  EXPECT_EQ(hpa.reconcile(15, 1, 0, 5000).desired_replicas, 2);
  const HpaDecision missing = hpa.reconcile(30, 4, std::nullopt, 5000);
  EXPECT_EQ(missing.desired_replicas, 4);
  EXPECT_EQ(missing.reason, "FailedGetExternalMetric");
  EXPECT_EQ(hpa.reconcile(45, 0, 1e6, 5000).reason, "ScalingDisabled");
}

// kafka_scaler.go, getTotalLag: `if (totalLag / s.metadata.lagThreshold) > totalTopicPartitions`,
// Go integer division, so a lag just under (P + 1) * lagThreshold passes uncapped and the HPA
// asks for P + 1 replicas.
TEST(KedaKafkaScaler, CapsTheLagOnlyWhenItsIntegerRatioExceedsThePartitionCount) {
  KedaKafkaConfig config;
  config.lag_threshold = 5000;
  EXPECT_EQ(keda_kafka_metric(1'000'000, 24, config), 120000);
  EXPECT_EQ(keda_kafka_metric(100000, 24, config), 100000);
  EXPECT_EQ(keda_kafka_metric(124'999, 24, config), 124'999);  // 24 (integer) is not > 24
  EXPECT_EQ(keda_kafka_metric(125'000, 24, config), 120'000);  // 25 > 24
  EXPECT_EQ(keda_kafka_metric(1'000'000, 0, config), 1'000'000);
  EXPECT_EQ(keda_kafka_metric(-5, 24, config), 0);
  config.allow_idle_consumers = true;
  EXPECT_EQ(keda_kafka_metric(1'000'000, 24, config), 1'000'000);
}

TEST(HpaKedaConfigFor, TakesTheThresholdAndBoundsFromTheSpec) {
  scaler::ScalingSpec spec;
  spec.target_lag_per_replica = 2000;
  spec.min_replicas = 0;
  spec.max_replicas = 30;
  spec.activation_lag = 50;
  const HpaKedaConfig config = hpa_keda_config_for(spec);
  EXPECT_EQ(config.keda.lag_threshold, 2000);
  EXPECT_EQ(config.keda.activation_lag_threshold, 50);
  EXPECT_EQ(config.keda.min_replica_count, 0);
  EXPECT_EQ(config.keda.polling_interval_seconds, 30);
  EXPECT_EQ(config.hpa.min_replicas, 1);
  EXPECT_EQ(config.hpa.max_replicas, 30);
  EXPECT_EQ(config.hpa.sync_period_seconds, 15);
  // As shipped: no useCachedMetrics (a fresh value at every HPA sync), no `advanced` (the HPA's
  // legacy behavior).
  EXPECT_EQ(config.keda.metric_refresh_seconds, 15);
  EXPECT_TRUE(config.hpa.legacy_behavior);
}

// horizontal.go without spec.behavior: normalizeDesiredReplicas -> stabilizeRecommendation (the
// highest recommendation of the last 300 s) and convertDesiredReplicasWithRules (scale-up capped at
// calculateScaleUpLimit = max(2 * current, 4) per sync; no scale-down rate limit).
TEST(HorizontalPodAutoscaler, LegacyBehaviorDoublesOrAddsFourAndHoldsScaleDown300Seconds) {
  HpaConfig config;
  config.max_replicas = 100;
  config.legacy_behavior = true;
  HorizontalPodAutoscaler hpa(config);
  HpaDecision d = hpa.reconcile(0, 1, 50000, 1000);  // wants 50
  EXPECT_EQ(d.desired_replicas, 4);                  // max(2, 4)
  EXPECT_EQ(d.reason, "ScaleUpLimit");
  EXPECT_EQ(hpa.reconcile(15, 4, 50000, 1000).desired_replicas, 8);    // max(8, 4)
  EXPECT_EQ(hpa.reconcile(30, 8, 50000, 1000).desired_replicas, 16);   // max(16, 4)
  EXPECT_EQ(hpa.reconcile(45, 16, 50000, 1000).desired_replicas, 32);  // the v2 default: 32 too
  EXPECT_EQ(hpa.reconcile(60, 32, 50000, 1000).desired_replicas, 50);
  // Lag gone: the highest recommendation of the last 300 s (50) holds ...
  d = hpa.reconcile(75, 50, 0, 1000);
  EXPECT_EQ(d.desired_replicas, 50);
  EXPECT_EQ(d.reason, "ScaleDownStabilized");
  EXPECT_EQ(hpa.reconcile(345, 50, 0, 1000).desired_replicas, 50);  // 50 recommended at 60
  // ... and once it has left the window the HPA drops to minReplicas at once.
  d = hpa.reconcile(375, 50, 0, 1000);
  EXPECT_EQ(d.desired_replicas, 1);
  EXPECT_EQ(d.reason, "TooFewReplicas");

  HpaConfig small = config;
  small.max_replicas = 6;
  HorizontalPodAutoscaler capped(small);
  d = capped.reconcile(0, 5, 50000, 1000);  // limit max(10, 4) > maxReplicas 6
  EXPECT_EQ(d.desired_replicas, 6);
  EXPECT_EQ(d.reason, "TooManyReplicas");
}

QueueState queue(std::int64_t time, double lag) {
  QueueState state;
  state.time = time;
  state.lag = lag;
  state.partitions = 24;
  return state;
}

TEST(HpaKedaAutoscaler, WithoutUseCachedMetricsTheHpaReadsKafkaAtEverySync) {
  scaler::ScalingSpec spec;
  spec.max_replicas = 24;
  HpaKedaAutoscaler autoscaler(hpa_keda_config_for(spec));
  EXPECT_FALSE(autoscaler.tick(queue(0, 0), 4));
  for (int t = 1; t < 15; ++t) EXPECT_FALSE(autoscaler.tick(queue(t, 100000), 4));
  // The HPA syncs at 15 s and reads the lag now: 100,000 / 5,000 = 20, limited to max(8, 4).
  EXPECT_EQ(autoscaler.tick(queue(15, 100000), 4), 8);
  // At 30: max(16, 4) = 16.
  EXPECT_EQ(autoscaler.tick(queue(30, 100000), 8), 16);
}

TEST(HpaKedaAutoscaler, WithUseCachedMetricsTheHpaReadsWhatKedaPolledLast) {
  scaler::ScalingSpec spec;
  spec.max_replicas = 24;
  HpaKedaConfig config = hpa_keda_config_for(spec);
  config.keda.metric_refresh_seconds = config.keda.polling_interval_seconds;
  HpaKedaAutoscaler autoscaler(config);
  EXPECT_FALSE(autoscaler.tick(queue(0, 0), 4));
  // The HPA syncs at 15 s but KEDA last polled at 0 (lag 0): nothing to do.
  EXPECT_FALSE(autoscaler.tick(queue(15, 100000), 4));
  for (int t = 16; t < 30; ++t) EXPECT_FALSE(autoscaler.tick(queue(t, 100000), 4));
  // KEDA polls at 30: 100,000 / 5,000 = 20, limited to max(8, 4).
  EXPECT_EQ(autoscaler.tick(queue(30, 100000), 4), 8);
  // At 45 the HPA reuses the value from 30: max(16, 4) = 16.
  EXPECT_EQ(autoscaler.tick(queue(45, 0), 8), 16);
}

TEST(HpaKedaAutoscaler, KedaScalesToAndFromZero) {
  scaler::ScalingSpec spec;
  spec.min_replicas = 0;
  spec.activation_lag = 10;
  HpaKedaAutoscaler autoscaler(hpa_keda_config_for(spec));
  for (int t = 0; t < 300; ++t) EXPECT_FALSE(autoscaler.tick(queue(t, 5), 1)) << t;
  // Inactive (lag 5 <= activationLagThreshold 10) for cooldownPeriod 300 s.
  EXPECT_EQ(autoscaler.tick(queue(300, 5), 1), 0);
  EXPECT_FALSE(autoscaler.tick(queue(330, 10), 0));
  EXPECT_EQ(autoscaler.tick(queue(360, 11), 0), 1);
}

// A small trace, decisions computed by hand: 1 replica of 100 msg/s under 1,000 msg/s, KEDA
// lagThreshold 1,000 and 10 partitions.
TEST(HpaKedaAutoscaler, SmallTraceByHand) {
  ModelConfig model{.service_rate = 100,
                    .service_noise = 0,
                    .startup_delay = 0,
                    .partitions = 10,
                    .rebalance_pause = 0,
                    .consumer_stalls = {},
                    .seed = 1,
                    .startup_delays = {},
                    .partition_skew = false,
                    .commit_interval = 0,
                    .group_members_visible = true,
                    .startup_profiles = {}};
  scaler::ScalingSpec spec;
  spec.target_lag_per_replica = 1000;
  spec.max_replicas = 50;
  HpaKedaAutoscaler autoscaler(hpa_keda_config_for(spec));
  Trace trace{
      .name = "constant", .description = "constant", .rates = std::vector<double>(60, 1000)};
  const SimulationResult result = simulate(trace, model, 1, autoscaler, RunOptions{});
  // t=0: lag 0 wants 0; the window's 1 (the initial recommendation) holds. t=15: lag 13,500, capped
  // at 10 partitions * 1,000 -> wants 10, allowed max(2, 4) = 4. t=30: from 4, max(8, 4) = 8.
  // t=45: from 8, max(16, 4) -> 10.
  for (const SecondRecord& second : result.series) {
    const int expected = second.time < 15 ? 1 : second.time < 30 ? 4 : second.time < 45 ? 8 : 10;
    ASSERT_EQ(second.replicas_desired, expected) << "t=" << second.time;
  }
  EXPECT_EQ(result.summary.scaling_actions, 3);
}

}  // namespace
}  // namespace lagpilot::sim::baselines
