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
                                                 std::optional<double> committed_offset_total) {
  alerts::GroupProgressInput progress_input;
  progress_input.time = observation.time;
  progress_input.committed_offset_total = committed_offset_total;
  progress_input.egress_rate = observation.egress_rate;
  progress_input.ingress_rate = observation.ingress_rate;
  if (const auto lag = scaler::backlog(observation))
    progress_input.consumer_lag = static_cast<double>(*lag);
  if (observation.consumers) progress_input.consumers = *observation.consumers;
  progress_input.replicas = current_replicas;
  const alerts::GroupProgress& progress = progress_.observe(progress_input);

  DecisionRecord record{.observation = observation,
                        .decision = scaler::decide(spec_, observation, current_replicas, state_,
                                                   /*paused=*/false)};
  if (progress.hold_scale_up()) scaler::hold_scale_up(record.decision, progress.describe());
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
