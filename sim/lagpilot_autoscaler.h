#pragma once
// lagpilot in the simulator: the controller's own poll step (controllers/poll_step.h: alerting
// with the group's progress, scaler::decide, the hold while the group is stalled or rewinding, and
// what to record), on observations from SimulatedKafkaSource every poll interval. Scaling the
// simulated target always succeeds.
#include <cstdint>
#include <optional>
#include <vector>

#include "controllers/poll_step.h"
#include "scaler/engine.h"
#include "scaler/spec.h"
#include "scaler/state.h"
#include "sim/autoscaler.h"
#include "sim/kafka_source.h"

namespace lagpilot::sim {

struct DecisionRecord {
  scaler::Observation observation;
  std::optional<double> progress_position;  // the group's consumed position at the poll
  scaler::Decision decision;
  bool applied = false;  // the target was scaled (Active mode and a change)
};

class LagpilotAutoscaler final : public Autoscaler {
 public:
  // `reporting`: what the spec's kind of source tells at each poll (sim/kafka_source.h).
  LagpilotAutoscaler(scaler::ScalingSpec spec, int poll_interval_seconds,
                     SourceReporting reporting = {});

  std::string name() const override { return "lagpilot"; }
  std::optional<int> tick(const QueueState& now, int current_replicas) override;

  // The controller's per-poll step (PollStep::run) on `observation`; when it says scale, the
  // target is scaled (PollStep::scaled). `progress_position` is the group's consumed position
  // (QueueSnapshot::progress_position); without it progress is judged by the egress rate, as the
  // controller does. Returns the decision; `applied` in the log says whether it scaled.
  const DecisionRecord& decide(const scaler::Observation& observation, int current_replicas,
                               std::optional<double> progress_position = std::nullopt);

  // Every poll's observation and decision, oldest first.
  const std::vector<DecisionRecord>& log() const { return log_; }
  const scaler::ScalerState& state() const { return step_.scaler_state(); }

 private:
  scaler::ScalingSpec spec_;
  int poll_interval_;
  controllers::PollStep step_;
  SimulatedKafkaSource source_;
  std::vector<DecisionRecord> log_;
};

}  // namespace lagpilot::sim
