#include <algorithm>

#include "scaler/format.h"
#include "scaler/policies.h"

namespace lagpilot::scaler {

Result<Recommendation> recommend_drain_time(const ScalingSpec& spec, const Observation& observation,
                                            std::optional<double> per_replica_rate) {
  const auto messages = backlog(observation);
  if (!messages) return Error{kMissingMetric, "no consumer lag or queue depth in the observation"};

  const char* missing = nullptr;
  if (!per_replica_rate || *per_replica_rate <= 0) {
    missing = "no per-replica rate learned yet";
  } else if (!observation.ingress_rate) {
    missing = "no arrival rate";
  }
  if (missing) {
    auto fallback = recommend_lag_per_replica(spec, observation);
    if (fallback) fallback->inputs += std::string(" (drainTime: ") + missing + ")";
    return fallback;
  }

  const double arrivals = std::max(*observation.ingress_rate, 0.0);
  const double drain_seconds = std::max(spec.target_drain_seconds, 1);
  const double needed_rate = arrivals + static_cast<double>(*messages) / drain_seconds;
  return Recommendation{
      .replicas = ceil_replicas(needed_rate / *per_replica_rate),
      .applied_policy = Policy::kDrainTime,
      .inputs = describe_backlog(observation) + ", draining at " +
                format_amount(*per_replica_rate) + " msg/s/replica, arrivals " +
                format_amount(arrivals) + " msg/s",
  };
}

}  // namespace lagpilot::scaler
