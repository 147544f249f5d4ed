#pragma once
// The one run summary: what consumers scaled by an autoscaler went through, from the queue's lag
// over time and the replica changes. `lagpilot simulate`, the scaling benchmark and the demo report
// it (each in its own words) and plot it.
#include <optional>

namespace lagpilot {

struct RunSummary {
  double duration = 0;           // seconds summarised
  double objective_seconds = 0;  // in violation: lagSeconds above this at an interval's end
  double violation_seconds = 0;
  double replica_seconds = 0;  // spec.replicas integrated over time
  double mean_replicas = 0;
  int peak_replicas = 0;
  double max_lag = 0;  // messages
  double max_lag_seconds = 0;
  int scaling_actions = 0;  // changes of spec.replicas
  int scale_ups = 0;
  int scale_downs = 0;
  double arrived = 0;  // messages; set by whoever counted them
  double processed = 0;
  double final_lag = 0;
};

class RunSummaryBuilder {
 public:
  explicit RunSummaryBuilder(double objective_seconds);

  // An interval of `seconds` with `replicas` (spec.replicas) during it, and the queue's lag and
  // lagSeconds at its end (nullopt: not known then).
  void add_interval(double seconds, int replicas, std::optional<double> lag,
                    std::optional<double> lag_seconds);
  // A change of spec.replicas (none when from == to).
  void add_scaling(int from, int to);

  // The figures so far, mean_replicas included.
  RunSummary summary() const;

 private:
  RunSummary summary_;
};

}  // namespace lagpilot
