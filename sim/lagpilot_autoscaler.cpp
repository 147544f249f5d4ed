#include "sim/lagpilot_autoscaler.h"

#include <algorithm>
#include <utility>

namespace lagpilot::sim {

LagpilotAutoscaler::LagpilotAutoscaler(scaler::ScalingSpec spec, int poll_interval_seconds)
    : spec_(std::move(spec)), poll_interval_(std::max(poll_interval_seconds, 1)) {}

std::optional<int> LagpilotAutoscaler::tick(const QueueState& now, int current_replicas) {
  if (now.time % poll_interval_ != 0) return std::nullopt;
  const DecisionRecord& record = decide(source_.poll(now), current_replicas);
  if (!record.applied) return std::nullopt;
  return record.decision.desired_replicas;
}

const DecisionRecord& LagpilotAutoscaler::decide(const scaler::Observation& observation,
                                                 int current_replicas) {
  DecisionRecord record{.observation = observation,
                        .decision = scaler::decide(spec_, observation, current_replicas, state_,
                                                   /*paused=*/false)};
  if (record.decision.is_change() && spec_.mode == scaler::Mode::kActive) {
    // Scaling the simulated target always succeeds.
    state_.record_scale(record.decision.time, record.decision.current_replicas,
                        record.decision.desired_replicas);
    record.applied = true;
  }
  log_.push_back(std::move(record));
  return log_.back();
}

}  // namespace lagpilot::sim
