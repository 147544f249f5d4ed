#pragma once
// lagpilot in the simulator: the real engine (scaler::decide), called the way the controller
// calls it (scaler/engine.h), on observations from SimulatedKafkaSource every poll interval. As in
// the controller, the group's progress (alerts::GroupProgressTracker with the controller's
// defaults) holds scale-up while the group is stalled or rewinding (scaler::hold_scale_up).
#include <cstdint>
#include <optional>
#include <vector>

#include "alerts/group_progress.h"
#include "scaler/engine.h"
#include "scaler/spec.h"
#include "scaler/state.h"
#include "sim/autoscaler.h"
#include "sim/kafka_source.h"

namespace lagpilot::sim {

struct DecisionRecord {
  scaler::Observation observation;
  scaler::Decision decision;
  bool applied = false;  // the target was scaled (Active mode and a change)
};

class LagpilotAutoscaler final : public Autoscaler {
 public:
  LagpilotAutoscaler(scaler::ScalingSpec spec, int poll_interval_seconds);

  std::string name() const override { return "lagpilot"; }
  std::optional<int> tick(const QueueState& now, int current_replicas) override;

  // The controller's per-poll step: track the group's progress, decide (holding scale-up while
  // the group makes no progress), and when the decision is a change and the spec is Active, scale
  // and record it (ScalerState::record_scale). `committed_offset_total` is the sum of the group's
  // committed offsets; without it progress is judged by the egress rate, as the controller does.
  // Returns the decision; `applied` in the log says whether it scaled.
  const DecisionRecord& decide(const scaler::Observation& observation, int current_replicas,
                               std::optional<double> committed_offset_total = std::nullopt);

  // Every poll's observation and decision, oldest first.
  const std::vector<DecisionRecord>& log() const { return log_; }
  const scaler::ScalerState& state() const { return state_; }

 private:
  scaler::ScalingSpec spec_;
  int poll_interval_;
  scaler::ScalerState state_;
  alerts::GroupProgressTracker progress_;
  SimulatedKafkaSource source_;
  std::vector<DecisionRecord> log_;
};

}  // namespace lagpilot::sim
