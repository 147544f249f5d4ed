#pragma once
// What the simulator scales with: lagpilot's engine or one of the baselines.
#include <optional>
#include <string>

#include "sim/model.h"

namespace lagpilot::sim {

class Autoscaler {
 public:
  virtual ~Autoscaler() = default;
  // "lagpilot", "hpa-keda", "seed".
  virtual std::string name() const = 0;
  // Called once per simulated second with the queue as a poll would see it now and the target's
  // spec.replicas. Each autoscaler keeps its own schedule (poll interval, HPA sync period).
  // Returns the replica count to set, or nullopt to leave the target alone.
  virtual std::optional<int> tick(const QueueState& now, int current_replicas) = 0;
};

}  // namespace lagpilot::sim
