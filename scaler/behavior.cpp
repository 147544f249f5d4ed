#include "scaler/behavior.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace lagpilot::scaler {
namespace {

int to_int(std::int64_t value, std::int64_t lowest = 0) {
  return static_cast<int>(std::clamp<std::int64_t>(value, lowest, std::numeric_limits<int>::max()));
}

// Combines the pods and percent proposals. `prefer_larger` picks the larger count.
std::optional<int> select(std::optional<int> by_pods, std::optional<int> by_percent,
                          bool prefer_larger) {
  if (!by_pods) return by_percent;
  if (!by_percent) return by_pods;
  return prefer_larger ? std::max(*by_pods, *by_percent) : std::min(*by_pods, *by_percent);
}

}  // namespace

Stabilization stabilize(int current_replicas, int recommendation,
                        const std::vector<TimedRecommendation>& history, const ScalingSpec& spec,
                        WallTime now) {
  const WallTime up_cutoff = now - std::chrono::seconds(spec.scale_up.stabilization_seconds);
  const WallTime down_cutoff = now - std::chrono::seconds(spec.scale_down.stabilization_seconds);
  Stabilization result{.replicas = current_replicas,
                       .lowest_scale_up = recommendation,
                       .highest_scale_down = recommendation};
  for (const TimedRecommendation& earlier : history) {
    if (earlier.time > up_cutoff) {
      result.lowest_scale_up = std::min(result.lowest_scale_up, earlier.replicas);
    }
    if (earlier.time > down_cutoff) {
      result.highest_scale_down = std::max(result.highest_scale_down, earlier.replicas);
    }
  }
  // lowest_scale_up <= recommendation <= highest_scale_down, so this is a valid clamp.
  result.replicas = std::clamp(current_replicas, result.lowest_scale_up, result.highest_scale_down);
  return result;
}

int replicas_at_period_start(int current_replicas, const std::vector<ScaleEvent>& events,
                             int period_seconds, WallTime now) {
  const WallTime cutoff = now - std::chrono::seconds(period_seconds);
  std::int64_t start = current_replicas;
  for (const ScaleEvent& event : events) {
    if (event.time > cutoff) start -= event.to - event.from;
  }
  return to_int(start, std::numeric_limits<int>::min());
}

int scale_up_limit(int current_replicas, const std::vector<ScaleEvent>& events,
                   const ScalingRules& rules, WallTime now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current_replicas;
  const std::int64_t start =
      replicas_at_period_start(current_replicas, events, rules.period_seconds, now);
  std::optional<int> by_pods;
  std::optional<int> by_percent;
  if (rules.max_pods_per_period > 0) by_pods = to_int(start + rules.max_pods_per_period);
  if (rules.max_percent_per_period > 0) {
    // Integer ceil: the HPA's float math turns 25 * 1.12 into 29. (Negative starts clamp to 0.)
    by_percent = to_int((start * (100 + rules.max_percent_per_period) + 99) / 100);
  }
  const auto limit = select(by_pods, by_percent, rules.select_policy == SelectPolicy::kMax);
  if (!limit) return std::numeric_limits<int>::max();
  return std::max({*limit, current_replicas, current_replicas == 0 ? 1 : 0});
}

int scale_down_limit(int current_replicas, const std::vector<ScaleEvent>& events,
                     const ScalingRules& rules, WallTime now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current_replicas;
  const std::int64_t start =
      replicas_at_period_start(current_replicas, events, rules.period_seconds, now);
  std::optional<int> by_pods;
  std::optional<int> by_percent;
  if (rules.max_pods_per_period > 0) by_pods = to_int(start - rules.max_pods_per_period);
  if (rules.max_percent_per_period > 0) {
    by_percent = to_int(start * std::max(0, 100 - rules.max_percent_per_period) / 100);
  }
  const auto limit = select(by_pods, by_percent, rules.select_policy != SelectPolicy::kMax);
  if (!limit) return 0;
  return std::min(*limit, current_replicas);
}

}  // namespace lagpilot::scaler
