#pragma once
// The QueueMonitor under test: the same YAML a user applies, parsed by the controller's own
// parse_queue_monitor_spec, so what is simulated is what would run.
#include <optional>
#include <string>

#include "api/queuemonitor_spec.h"
#include "util/result.h"

namespace lagpilot::sim {

struct SimulationSpec {
  std::string source;  // the file, or "CRD defaults"
  api::QueueMonitorSpec monitor;
  // The first spec.slos[] item on lagSeconds with op <= or <: its goodWhen threshold, the same
  // objective the planner plans for (ScalingSpec::freshness_objective_seconds).
  std::optional<double> lag_seconds_objective;
};

// The file must hold exactly one document of kind QueueMonitor (others, e.g. a Deployment, are
// ignored). Errors (code "InvalidSpec" or "InvalidYaml") read "FILE:LINE: FIELD: message", the
// line found by following the field's path through the YAML (best effort: the nearest enclosing
// key found).
Result<SimulationSpec> load_simulation_spec(const std::string& path);

// A QueueMonitor with every field at its CRD default.
SimulationSpec default_simulation_spec();

// The objective violation-seconds are counted against: the lagSeconds SLO threshold, else the
// spec's targetDrainSeconds. `what` says which ("spec.slos[freshness]", "targetDrainSeconds").
double objective_seconds(const SimulationSpec& spec, std::string* what = nullptr);

// The 1-based line of `field` ("spec.scaling.scaleUp.periodSeconds", "spec.slos[0].metric") in
// YAML `text` within the document starting at `first_line`; nullopt when not even its first key
// is found.
std::optional<int> locate_yaml_field(const std::string& text, int first_line,
                                     const std::string& field);

}  // namespace lagpilot::sim
