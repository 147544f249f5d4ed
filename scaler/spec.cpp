#include "scaler/spec.h"

namespace lagpilot::scaler {
namespace {

Status invalid(std::string message) { return Error{"InvalidSpec", std::move(message)}; }

Status validate_rules(const ScalingRules& rules, const std::string& field) {
  if (rules.stabilization_seconds < 0 || rules.stabilization_seconds > 3600) {
    return invalid(field + ".stabilizationSeconds must be 0-3600, got " +
                   std::to_string(rules.stabilization_seconds));
  }
  if (rules.max_pods_per_period < 1) {
    return invalid(field + ".maxPodsPerPeriod must be >= 1, got " +
                   std::to_string(rules.max_pods_per_period));
  }
  if (rules.max_percent_per_period < 1) {
    return invalid(field + ".maxPercentPerPeriod must be >= 1, got " +
                   std::to_string(rules.max_percent_per_period));
  }
  if (rules.period_seconds < 1 || rules.period_seconds > 1800) {
    return invalid(field + ".periodSeconds must be 1-1800, got " +
                   std::to_string(rules.period_seconds));
  }
  return ok_status();
}

}  // namespace

std::string to_string(Policy policy) {
  switch (policy) {
    case Policy::kDrainTime:
      return "drainTime";
    case Policy::kLagPerReplica:
      return "lagPerReplica";
    case Policy::kDepthLatency:
      return "depthLatency";
  }
  return "unknown";
}

std::optional<Policy> parse_policy(std::string_view text) {
  for (Policy policy : {Policy::kDrainTime, Policy::kLagPerReplica, Policy::kDepthLatency}) {
    if (text == to_string(policy)) return policy;
  }
  return std::nullopt;
}

std::string to_string(Mode mode) { return mode == Mode::kActive ? "Active" : "DryRun"; }

std::optional<Mode> parse_mode(std::string_view text) {
  if (text == "Active") return Mode::kActive;
  if (text == "DryRun") return Mode::kDryRun;
  return std::nullopt;
}

double objective_seconds(const ScalingSpec& spec) {
  return spec.freshness_objective_seconds.value_or(spec.target_drain_seconds);
}

Status validate(const ScalingSpec& spec) {
  const std::string prefix = "spec.scaling.";
  if (spec.min_replicas < 0) {
    return invalid(prefix + "minReplicas must be >= 0, got " + std::to_string(spec.min_replicas));
  }
  if (spec.max_replicas < 1) {
    return invalid(prefix + "maxReplicas must be >= 1, got " + std::to_string(spec.max_replicas));
  }
  if (spec.min_replicas > spec.max_replicas) {
    return invalid(prefix + "minReplicas (" + std::to_string(spec.min_replicas) +
                   ") must be <= maxReplicas (" + std::to_string(spec.max_replicas) + ")");
  }
  if (spec.target_drain_seconds < 1) {
    return invalid(prefix + "targetDrainSeconds must be >= 1, got " +
                   std::to_string(spec.target_drain_seconds));
  }
  if (spec.target_lag_per_replica < 1) {
    return invalid(prefix + "targetLagPerReplica must be >= 1, got " +
                   std::to_string(spec.target_lag_per_replica));
  }
  if (spec.activation_lag < 0) {
    return invalid(prefix + "activationLag must be >= 0, got " +
                   std::to_string(spec.activation_lag));
  }
  if (!(spec.tolerance >= 0 && spec.tolerance <= 1)) {
    return invalid(prefix + "tolerance must be 0-1, got " + std::to_string(spec.tolerance));
  }
  if (auto status = validate_rules(spec.scale_up, prefix + "scaleUp"); !status) return status;
  if (auto status = validate_rules(spec.scale_down, prefix + "scaleDown"); !status) return status;
  if (spec.cooldown_seconds < 0) {
    return invalid(prefix + "cooldownSeconds must be >= 0, got " +
                   std::to_string(spec.cooldown_seconds));
  }
  if (spec.startup_delay_seconds &&
      (*spec.startup_delay_seconds < 0 || *spec.startup_delay_seconds > 3600)) {
    return invalid(prefix + "startupDelaySeconds must be 0-3600, got " +
                   std::to_string(*spec.startup_delay_seconds));
  }
  if (spec.freshness_objective_seconds && !(*spec.freshness_objective_seconds > 0)) {
    return invalid("spec.slos: the lagSeconds objective must be > 0 s, got " +
                   std::to_string(*spec.freshness_objective_seconds));
  }
  if (spec.fallback.failure_threshold < 1) {
    return invalid(prefix + "fallback.failureThreshold must be >= 1, got " +
                   std::to_string(spec.fallback.failure_threshold));
  }
  if (spec.fallback.replicas && *spec.fallback.replicas < 0) {
    return invalid(prefix + "fallback.replicas must be >= 0, got " +
                   std::to_string(*spec.fallback.replicas));
  }
  if (!(spec.learning.smoothing > 0 && spec.learning.smoothing <= 1)) {
    return invalid("throughput smoothing must be in (0, 1], got " +
                   std::to_string(spec.learning.smoothing));
  }
  if (!(spec.learning.min_backlog_seconds >= 0)) {
    return invalid("throughput min_backlog_seconds must be >= 0, got " +
                   std::to_string(spec.learning.min_backlog_seconds));
  }
  return ok_status();
}

}  // namespace lagpilot::scaler
