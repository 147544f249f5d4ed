#pragma once
// One run: a trace through the queue model, scaled by one autoscaler, one simulated second at a
// time. Deterministic for a given trace, model (seed) and autoscaler.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/autoscaler.h"
#include "sim/model.h"
#include "sim/traces.h"
#include "util/run_summary.h"

namespace lagpilot::sim {

// Second t of a run: what arrived and was processed during it, and the queue at its end.
struct SecondRecord {
  std::int64_t time = 0;
  double arrivals = 0;       // msg/s during the second
  double processed = 0;      // msg/s consumed during the second
  double lag = 0;            // messages, at the end of the second
  double lag_seconds = 0;    // at the end of the second
  int replicas_current = 0;  // group members (ready pods) at the end of the second
  int replicas_desired = 0;  // spec.replicas during the second (pods, starting or not)
  bool rebalancing = false;
};

// The run's figures: one interval per simulated second; arrived, processed and final_lag from
// the queue model.
using Summary = RunSummary;

struct SimulationResult {
  std::string policy;  // the autoscaler's name
  std::string trace;   // the trace's description
  Summary summary;
  std::vector<SecondRecord> series;  // empty unless RunOptions::keep_series
  // The trace's oracle lower bound on replica-seconds (sim/oracle.h), when computed: the reports
  // show replica-seconds as a multiple of it.
  std::optional<double> oracle_replica_seconds;
};

struct RunOptions {
  double objective_seconds = 60;
  bool keep_series = true;
  // Called about every 1 % of the run and at its end with simulated seconds done and total.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
};

// Enough consumers for the trace's first second, within [min_replicas, max_replicas] and the
// partition count (lower bound wins): the run starts in a steady state, not with a backlog.
int default_initial_replicas(const Trace& trace, const ModelConfig& model, int min_replicas,
                             int max_replicas);

// At each second t: the autoscaler sees the queue at t and may set spec.replicas; then the model
// advances through second t with the trace's rate.
SimulationResult simulate(const Trace& trace, const ModelConfig& model, int initial_replicas,
                          Autoscaler& autoscaler, const RunOptions& options);

}  // namespace lagpilot::sim
