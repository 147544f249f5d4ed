#pragma once
// Learning how many messages per second one replica processes, for the drainTime policy.
#include <optional>

#include "scaler/observation.h"
#include "scaler/spec.h"

namespace lagpilot::scaler {

// Exponentially weighted moving average of per-replica processing rates (msg/s/replica).
class ThroughputEstimate {
 public:
  // The first sample is taken as is; later ones move the estimate by `smoothing` of the difference.
  void add_sample(double per_replica_rate, double smoothing);
  std::optional<double> per_replica_rate() const;
  int samples() const { return samples_; }

 private:
  double per_replica_rate_ = 0;
  int samples_ = 0;
};

// The per-replica rate one observation demonstrates, or nullopt when it says nothing about
// capacity. Only busy consumers show their capacity: the sample needs a positive egress rate and a
// backlog of at least learning.min_backlog_seconds of work at that rate. An idle consumer's egress
// is the arrival rate; learning from it would lower the estimate, scale up, lower it again, and so
// on. Workers are the replicas that could have consumed: current_replicas, or fewer when the group
// has fewer members (pods still starting) or the queue has work for fewer consumers (the rest sit
// idle).
std::optional<double> busy_per_replica_rate(const Observation& observation, int current_replicas,
                                            const ThroughputLearning& learning);

}  // namespace lagpilot::scaler
