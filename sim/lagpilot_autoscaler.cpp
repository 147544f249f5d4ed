#include "sim/lagpilot_autoscaler.h"

#include <algorithm>
#include <utility>

namespace lagpilot::sim {

LagpilotAutoscaler::LagpilotAutoscaler(scaler::ScalingSpec spec, int poll_interval_seconds)
    : spec_(std::move(spec)), poll_interval_(std::max(poll_interval_seconds, 1)) {}

std::optional<int> LagpilotAutoscaler::tick(const QueueState& now, int current_replicas) {
  if (now.time % poll_interval_ != 0) return std::nullopt;
  const DecisionRecord& record = decide(source_.poll(now), current_replicas, now.consumed);
  if (!record.applied) return std::nullopt;
  return record.decision.desired_replicas;
}

const DecisionRecord& LagpilotAutoscaler::decide(const scaler::Observation& observation,
                                                 int current_replicas,
                                                 std::optional<double> progress_position) {
  controllers::PollInput input;
  input.observation = observation;
  input.progress_position = progress_position;
  input.current_replicas = current_replicas;
  controllers::PollOutcome outcome = step_.run(spec_, input);
  DecisionRecord record{.observation = observation,
                        .progress_position = progress_position,
                        .decision = std::move(outcome.decision)};
  if (outcome.action == controllers::PollAction::kScale) {
    step_.scaled(record.decision);
    record.applied = true;
  }
  log_.push_back(std::move(record));
  return log_.back();
}

}  // namespace lagpilot::sim
