#include "sim/baselines/seed_rule.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::sim::baselines {

int seed_rule_replicas(const SeedRuleConfig& config, std::int64_t depth, double latency_seconds,
                       int current_replicas) {
  const int current = std::max(current_replicas, 0);
  if (depth > config.scale_up_depth && latency_seconds > config.scale_up_latency_seconds) {
    return std::min(current == 0 ? 1 : current * 2, std::max(config.max_replicas, current));
  }
  if (depth < config.scale_down_depth && latency_seconds < config.scale_down_latency_seconds) {
    return std::max(current / 2 + current % 2, std::min(config.min_replicas, current));
  }
  return current;
}

std::optional<int> SeedRuleAutoscaler::tick(const QueueState& now, int current_replicas) {
  if (now.time % std::max(config_.poll_interval_seconds, 1) != 0) return std::nullopt;
  const int desired = seed_rule_replicas(config_, static_cast<std::int64_t>(std::llround(now.lag)),
                                         now.latency_seconds, current_replicas);
  if (desired == current_replicas) return std::nullopt;
  return desired;
}

}  // namespace lagpilot::sim::baselines
