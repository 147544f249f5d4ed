#include "sim/scenario.h"

#include "sim/baselines/hpa_keda.h"
#include "sim/baselines/seed_rule.h"
#include "sim/lagpilot_autoscaler.h"

namespace lagpilot::sim {

std::vector<std::string> policy_names() { return {"lagpilot", "hpa-keda", "seed"}; }

Result<std::unique_ptr<Autoscaler>> make_autoscaler(const std::string& policy,
                                                    const SimulationSpec& spec) {
  const auto& monitor = spec.monitor;
  if (policy == "lagpilot") {
    return std::unique_ptr<Autoscaler>(std::make_unique<LagpilotAutoscaler>(
        monitor.scaling, monitor.poll_interval_seconds,
        source_reporting_for(monitor.source_kind, monitor.source)));
  }
  if (policy == "hpa-keda") {
    return std::unique_ptr<Autoscaler>(std::make_unique<baselines::HpaKedaAutoscaler>(
        baselines::hpa_keda_config_for(monitor.scaling)));
  }
  if (policy == "seed") {
    baselines::SeedRuleConfig config;
    config.poll_interval_seconds = monitor.poll_interval_seconds;
    return std::unique_ptr<Autoscaler>(std::make_unique<baselines::SeedRuleAutoscaler>(config));
  }
  return Error{"InvalidFlag", "--policy-baseline: unknown policy \"" + policy +
                                  "\" (expected lagpilot, hpa-keda, seed or all)"};
}

int initial_replicas(const Scenario& scenario) {
  if (scenario.initial_replicas) return *scenario.initial_replicas;
  const auto& scaling = scenario.spec.monitor.scaling;
  return default_initial_replicas(scenario.trace, scenario.model, scaling.min_replicas,
                                  scaling.max_replicas);
}

Result<SimulationResult> run_scenario(const Scenario& scenario, const std::string& policy,
                                      bool keep_series,
                                      std::function<void(std::int64_t, std::int64_t)> progress) {
  auto autoscaler = make_autoscaler(policy, scenario.spec);
  if (!autoscaler) return autoscaler.error();
  RunOptions options{.objective_seconds = scenario.objective_seconds,
                     .keep_series = keep_series,
                     .progress = std::move(progress)};
  return simulate(scenario.trace, scenario.model, initial_replicas(scenario), **autoscaler,
                  options);
}

}  // namespace lagpilot::sim
