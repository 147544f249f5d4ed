#pragma once
// A scenario: a QueueMonitor spec, a trace and a workload model, run for one or more policies on
// the same workload. Shared by `lagpilot simulate` and bench_scaling.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/autoscaler.h"
#include "sim/model.h"
#include "sim/simulation.h"
#include "sim/spec_file.h"
#include "sim/traces.h"
#include "util/result.h"

namespace lagpilot::sim {

struct Scenario {
  SimulationSpec spec;
  Trace trace;
  ModelConfig model;
  std::optional<int> initial_replicas;  // default: default_initial_replicas for the spec's bounds
  double objective_seconds = 60;
};

// "lagpilot" (the engine with the spec as written), "hpa-keda", "seed".
std::vector<std::string> policy_names();

// lagpilot: LagpilotAutoscaler(spec.scaling, pollIntervalSeconds); hpa-keda:
// hpa_keda_config_for(spec.scaling); seed: the seed rule polled every pollIntervalSeconds.
// Error code "InvalidFlag" for an unknown name.
Result<std::unique_ptr<Autoscaler>> make_autoscaler(const std::string& policy,
                                                    const SimulationSpec& spec);

int initial_replicas(const Scenario& scenario);

// Runs `policy` on the scenario. `progress` as in RunOptions.
Result<SimulationResult> run_scenario(
    const Scenario& scenario, const std::string& policy, bool keep_series,
    std::function<void(std::int64_t, std::int64_t)> progress = {});

}  // namespace lagpilot::sim
