#include "sim/lagpilot_autoscaler.h"

#include <algorithm>
#include <utility>

namespace lagpilot::sim {

LagpilotAutoscaler::LagpilotAutoscaler(scaler::ScalingSpec spec, int poll_interval_seconds,
                                       SourceReporting reporting)
    : spec_(std::move(spec)),
      poll_interval_(std::max(poll_interval_seconds, 1)),
      source_(reporting) {}

std::optional<int> LagpilotAutoscaler::tick(const QueueState& now, int current_replicas) {
  if (now.time % poll_interval_ != 0) return std::nullopt;
  const std::optional<double> progress =
      source_.reporting().progress ? std::optional<double>(now.consumed) : std::nullopt;
  const DecisionRecord& record = decide(source_.poll(now), current_replicas, progress);
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
