#include "sim/simulation.h"

#include <algorithm>
#include <cmath>

namespace lagpilot::sim {

int default_initial_replicas(const Trace& trace, const ModelConfig& model, int min_replicas,
                             int max_replicas) {
  const double first = trace.rates.empty() ? 0 : trace.rates.front();
  int replicas = model.service_rate > 0
                     ? static_cast<int>(std::ceil(first / model.service_rate - 1e-9))
                     : min_replicas;
  int upper = max_replicas;
  if (model.partitions > 0) upper = std::min(upper, model.partitions);
  replicas = std::min(replicas, upper);
  return std::max(replicas, min_replicas);
}

SimulationResult simulate(const Trace& trace, const ModelConfig& model, int initial_replicas,
                          Autoscaler& autoscaler, const RunOptions& options) {
  SimulationResult result;
  result.policy = autoscaler.name();
  result.trace = trace.description.empty() ? trace.name : trace.description;
  RunSummaryBuilder summary(options.objective_seconds);
  if (options.keep_series) result.series.reserve(trace.rates.size());

  QueueModel queue(model, initial_replicas);
  const std::int64_t total = trace.duration();
  const std::int64_t progress_step = std::max<std::int64_t>(total / 100, 1);
  for (std::int64_t t = 0; t < total; ++t) {
    const int before = queue.state().replicas;
    if (const auto wanted = autoscaler.tick(queue.state(), before)) {
      const int target = std::max(*wanted, 0);
      if (target != before) {
        queue.set_replicas(target);
        summary.add_scaling(before, target);
      }
    }
    const int replicas = queue.state().replicas;
    const QueueState& after = queue.advance(trace.rates[static_cast<std::size_t>(t)]);

    summary.add_interval(1, replicas, after.lag, after.lag_seconds);
    if (options.keep_series) {
      result.series.push_back(SecondRecord{.time = t,
                                           .arrivals = after.arrivals,
                                           .processed = after.processed,
                                           .lag = after.lag,
                                           .lag_seconds = after.lag_seconds,
                                           .replicas_current = after.consumers,
                                           .replicas_desired = replicas,
                                           .rebalancing = after.rebalancing});
    }
    if (options.progress && ((t + 1) % progress_step == 0 || t + 1 == total)) {
      options.progress(t + 1, total);
    }
  }
  result.summary = summary.summary();
  result.summary.arrived = queue.state().produced;
  result.summary.processed = queue.state().consumed;
  result.summary.final_lag = queue.state().lag;
  return result;
}

}  // namespace lagpilot::sim
