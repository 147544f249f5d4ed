#include <algorithm>
#include <cmath>
#include <limits>

#include "scaler/format.h"
#include "scaler/policies.h"

namespace lagpilot::scaler {

std::string describe_backlog(const Observation& observation) {
  std::string text = observation.consumer_lag ? "lag " : "depth ";
  text += format_count(backlog(observation).value_or(0)) + " msgs";
  if (observation.lag_seconds) text += ", " + format_amount(*observation.lag_seconds) + " s behind";
  return text;
}

int ceil_replicas(double value) {
  constexpr double kFloatNoise = 1e-9;
  if (std::isnan(value) || value <= 0) return 0;
  const double most = std::numeric_limits<int>::max();
  return static_cast<int>(std::min(std::ceil(value - kFloatNoise), most));
}

Result<Recommendation> recommend_lag_per_replica(const ScalingSpec& spec,
                                                 const Observation& observation) {
  const auto messages = backlog(observation);
  if (!messages) return Error{kMissingMetric, "no consumer lag or queue depth in the observation"};
  const std::int64_t per_replica = std::max<std::int64_t>(spec.target_lag_per_replica, 1);
  const std::int64_t replicas = *messages / per_replica + (*messages % per_replica != 0 ? 1 : 0);
  return Recommendation{
      .replicas =
          static_cast<int>(std::min<std::int64_t>(replicas, std::numeric_limits<int>::max())),
      .applied_policy = Policy::kLagPerReplica,
      .inputs =
          describe_backlog(observation) + ", at " + format_count(per_replica) + " msgs/replica",
      .catch_up = false,
      .catch_up_detail = {},
  };
}

}  // namespace lagpilot::scaler
