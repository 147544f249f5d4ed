#include <algorithm>
#include <limits>

#include "scaler/format.h"
#include "scaler/policies.h"

namespace lagpilot::scaler {
namespace {

constexpr std::int64_t kScaleUpDepth = 1000;  // msgs, exclusive
constexpr double kScaleUpLatency = 0.5;       // s, exclusive
constexpr std::int64_t kScaleDownDepth = 100;
constexpr double kScaleDownLatency = 0.1;

std::string milliseconds(double seconds) { return format_amount(seconds * 1000) + " ms"; }

}  // namespace

Result<Recommendation> recommend_depth_latency(const Observation& observation,
                                               int current_replicas) {
  const auto& depth = observation.queue_depth ? observation.queue_depth : observation.consumer_lag;
  if (!depth) return Error{kMissingMetric, "no queue depth or consumer lag in the observation"};
  if (!observation.latency_seconds) {
    return Error{kMissingMetric, "no latency in the observation (depthLatency needs spec.latency)"};
  }
  const double latency = *observation.latency_seconds;
  const std::string depth_text = "depth " + format_count(*depth) + " msgs";
  const int current = std::max(current_replicas, 0);

  Recommendation recommendation;
  recommendation.replicas = current;
  recommendation.applied_policy = Policy::kDepthLatency;
  if (*depth > kScaleUpDepth && latency > kScaleUpLatency) {
    recommendation.replicas = current == 0 ? 1
                              : current > std::numeric_limits<int>::max() / 2
                                  ? std::numeric_limits<int>::max()
                                  : current * 2;
    recommendation.inputs = depth_text + " > " + format_count(kScaleUpDepth) + ", latency " +
                            milliseconds(latency) + " > " + milliseconds(kScaleUpLatency);
  } else if (*depth < kScaleDownDepth && latency < kScaleDownLatency) {
    recommendation.replicas = current / 2 + current % 2;
    recommendation.inputs = depth_text + " < " + format_count(kScaleDownDepth) + ", latency " +
                            milliseconds(latency) + " < " + milliseconds(kScaleDownLatency);
  } else {
    recommendation.inputs = depth_text + ", latency " + milliseconds(latency);
  }
  return recommendation;
}

}  // namespace lagpilot::scaler
