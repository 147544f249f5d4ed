#include "scaler/spec.h"

#include <gtest/gtest.h>

namespace lagpilot::scaler {
namespace {

TEST(ScalingSpec, DefaultsMatchTheCrd) {
  const ScalingSpec spec;
  EXPECT_EQ(spec.mode, Mode::kActive);
  EXPECT_EQ(spec.policy, Policy::kDrainTime);
  EXPECT_EQ(spec.min_replicas, 1);
  EXPECT_EQ(spec.max_replicas, 10);
  EXPECT_EQ(spec.target_drain_seconds, 60);
  EXPECT_EQ(spec.target_lag_per_replica, 5000);
  EXPECT_EQ(spec.activation_lag, 0);
  EXPECT_DOUBLE_EQ(spec.tolerance, 0.1);
  EXPECT_EQ(spec.scale_up.stabilization_seconds, 0);
  EXPECT_EQ(spec.scale_up.max_pods_per_period, 4);
  EXPECT_EQ(spec.scale_up.max_percent_per_period, 100);
  EXPECT_EQ(spec.scale_up.period_seconds, 15);
  EXPECT_EQ(spec.scale_up.select_policy, SelectPolicy::kMax);
  EXPECT_EQ(spec.scale_down.stabilization_seconds, 300);
  EXPECT_EQ(spec.scale_down.max_pods_per_period, 4);
  EXPECT_EQ(spec.scale_down.max_percent_per_period, 50);
  EXPECT_EQ(spec.scale_down.period_seconds, 60);
  EXPECT_EQ(spec.scale_down.select_policy, SelectPolicy::kMax);
  EXPECT_EQ(spec.cooldown_seconds, 30);
  EXPECT_EQ(spec.fallback.failure_threshold, 3);
  EXPECT_FALSE(spec.fallback.replicas.has_value());
  EXPECT_EQ(spec.history_limit, 20);
}

TEST(Policy, RoundTripsCrdSpellings) {
  for (Policy policy : {Policy::kDrainTime, Policy::kLagPerReplica, Policy::kDepthLatency}) {
    EXPECT_EQ(parse_policy(to_string(policy)), policy);
  }
  EXPECT_EQ(to_string(Policy::kDrainTime), "drainTime");
  EXPECT_EQ(to_string(Policy::kLagPerReplica), "lagPerReplica");
  EXPECT_EQ(to_string(Policy::kDepthLatency), "depthLatency");
}

TEST(Policy, RejectsUnknownAndWrongCase) {
  EXPECT_FALSE(parse_policy("DrainTime").has_value());
  EXPECT_FALSE(parse_policy("").has_value());
  EXPECT_FALSE(parse_policy("fallback").has_value());
}

TEST(Mode, ParsesCrdSpellings) {
  EXPECT_EQ(parse_mode("Active"), Mode::kActive);
  EXPECT_EQ(parse_mode("DryRun"), Mode::kDryRun);
  EXPECT_EQ(to_string(Mode::kDryRun), "DryRun");
  EXPECT_FALSE(parse_mode("dryrun").has_value());
}

TEST(Validate, AcceptsDefaultsAndScaleToZero) {
  ScalingSpec spec;
  EXPECT_TRUE(validate(spec).ok());
  spec.min_replicas = 0;
  EXPECT_TRUE(validate(spec).ok());
}

TEST(Validate, RejectsMinAboveMaxNamingBoth) {
  ScalingSpec spec;
  spec.min_replicas = 5;
  spec.max_replicas = 3;
  const Status status = validate(spec);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "InvalidSpec");
  EXPECT_EQ(status.error().message, "spec.scaling.minReplicas (5) must be <= maxReplicas (3)");
}

TEST(Validate, RejectsOutOfRangeFieldsNamingThem) {
  ScalingSpec spec;
  spec.tolerance = 1.5;
  EXPECT_NE(validate(spec).error().message.find("spec.scaling.tolerance"), std::string::npos);

  spec = ScalingSpec{};
  spec.scale_down.period_seconds = 0;
  EXPECT_NE(validate(spec).error().message.find("spec.scaling.scaleDown.periodSeconds"),
            std::string::npos);

  spec = ScalingSpec{};
  spec.fallback.replicas = -1;
  EXPECT_NE(validate(spec).error().message.find("spec.scaling.fallback.replicas"),
            std::string::npos);

  spec = ScalingSpec{};
  spec.target_lag_per_replica = 0;
  EXPECT_NE(validate(spec).error().message.find("spec.scaling.targetLagPerReplica"),
            std::string::npos);
}

}  // namespace
}  // namespace lagpilot::scaler
