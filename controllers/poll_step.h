#pragma once
// One poll of one QueueMonitor, after the I/O: pure (no I/O, no clock; time is the observation's).
// The controller and `lagpilot simulate` both run it, so the simulator shows what the operator
// does. In order:
//  1. The poll's figures become an alert sample: what the source reported (or that it failed),
//     the latency, the target's replicas, and whether replicas are at their useful maximum
//     (maxReplicas, or the most consumers the queue has work for).
//  2. Alert rules, SLOs, the group's progress and health are evaluated (alerts::MonitorAlerting).
//  3. The scaling engine decides (scaler::decide); while the group makes no progress (stalled or
//     rewinding) a scale-up is held at the current replicas (scaler::hold_scale_up).
//  4. What to do with the decision: kScale (Active mode and a change), kRecordDryRun (DryRun mode,
//     not paused, and a would-be value not recorded yet), or kNone.
// The caller applies the action; after the target was scaled it calls scaled(), from which the
// engine's rate limits and cooldown count. A failed scale is not recorded.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "alerts/monitor_alerting.h"
#include "scaler/engine.h"
#include "scaler/observation.h"
#include "scaler/spec.h"
#include "scaler/state.h"
#include "sources/queue_source.h"
#include "tracing/tracer.h"
#include "util/result.h"

namespace lagpilot::controllers {

struct PollInput {
  // The source poll (ok=false and error when it failed) plus latency_seconds when known.
  scaler::Observation observation;
  // QueueSnapshot::progress_position; nullopt: stall detection falls back to the egress rate.
  std::optional<double> progress_position;
  std::optional<int> partitions;              // status.metrics.partitions, when reported
  std::optional<std::string> latency_metric;  // the latency's metric name, with latency_seconds
  int current_replicas = 0;                   // the target's spec.replicas
  bool paused = false;                        // annotation lagpilot.io/paused: "true"
};

enum class PollAction { kNone, kScale, kRecordDryRun };

struct PollOutcome {
  const alerts::Evaluation& evaluation;  // valid until the next run()
  scaler::Decision decision;
  PollAction action = PollAction::kNone;
};

class PollStep {
 public:
  explicit PollStep(alerts::AlertingOptions options = {})
      : alerting_options_(options), alerting_(options) {}

  // spec.alerts, alertsPreset and slos (MonitorAlerting::configure); call again on spec changes.
  alerts::ConfigureReport configure(const nlohmann::json& spec,
                                    const alerts::MonitorContext& context) {
    return alerting_.configure(spec, context);
  }
  // Another queue: alerts and SLO budgets start afresh (the scaler's state stays).
  void start_alerting_afresh() { alerting_ = alerts::MonitorAlerting(alerting_options_); }
  // Continues alerts and SLO budgets from the status written before a restart.
  alerts::RestoreReport restore(const nlohmann::json& status) { return alerting_.restore(status); }

  // `tracer`: spans evaluate_alerts and decide under the active span (nullptr: none).
  PollOutcome run(const scaler::ScalingSpec& scaling, const PollInput& input,
                  tracing::Tracer* tracer = nullptr);
  // The target was scaled as `decision` asked.
  void scaled(const scaler::Decision& decision);

  const alerts::MonitorAlerting& alerting() const { return alerting_; }
  const scaler::ScalerState& scaler_state() const { return scaler_; }

 private:
  alerts::AlertingOptions alerting_options_;
  alerts::MonitorAlerting alerting_;
  scaler::ScalerState scaler_;
  std::optional<int> last_dry_run_replicas_;
};

// The input of one poll as the controller builds it from what its sources returned: the queue's
// snapshot (or its error), the latency (metric name when spec.latency checks, seconds when the
// query answered).
PollInput poll_input(const Result<QueueSnapshot>& queue,
                     const std::optional<std::string>& latency_metric,
                     std::optional<double> latency_seconds, WallTime now, int current_replicas,
                     bool paused);

// Step 1 alone: the alert sample of one poll.
alerts::MetricSample metric_sample(const PollInput& input, const scaler::ScalingSpec& scaling);

}  // namespace lagpilot::controllers
