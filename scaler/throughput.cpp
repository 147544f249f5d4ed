#include "scaler/throughput.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::scaler {

void ThroughputEstimate::add_sample(double per_replica_rate, double smoothing) {
  if (!std::isfinite(per_replica_rate) || per_replica_rate <= 0) return;
  if (samples_ == 0) {
    per_replica_rate_ = per_replica_rate;
  } else {
    const double weight = std::clamp(smoothing, 0.0, 1.0);
    per_replica_rate_ += weight * (per_replica_rate - per_replica_rate_);
  }
  ++samples_;
}

std::optional<double> ThroughputEstimate::per_replica_rate() const {
  if (samples_ == 0) return std::nullopt;
  return per_replica_rate_;
}

std::optional<double> busy_per_replica_rate(const Observation& observation, int current_replicas,
                                            const ThroughputLearning& learning) {
  const auto messages = backlog(observation);
  if (!observation.ok || !messages || !observation.egress_rate) return std::nullopt;
  const double egress = *observation.egress_rate;
  if (!std::isfinite(egress) || egress <= 0 || *messages <= 0) return std::nullopt;
  if (static_cast<double>(*messages) < egress * learning.min_backlog_seconds) return std::nullopt;

  int workers = current_replicas;
  if (observation.consumers) workers = std::min(workers, *observation.consumers);
  if (observation.max_useful_consumers > 0)
    workers = std::min(workers, observation.max_useful_consumers);
  if (workers <= 0) return std::nullopt;
  return egress / workers;
}

}  // namespace lagpilot::scaler
