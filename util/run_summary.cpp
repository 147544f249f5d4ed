#include "util/run_summary.h"

#include <algorithm>

namespace lagpilot {

RunSummaryBuilder::RunSummaryBuilder(double objective_seconds) {
  summary_.objective_seconds = objective_seconds;
}

void RunSummaryBuilder::add_interval(double seconds, int replicas, std::optional<double> lag,
                                     std::optional<double> lag_seconds) {
  seconds = std::max(0.0, seconds);
  summary_.duration += seconds;
  summary_.replica_seconds += seconds * replicas;
  summary_.peak_replicas = std::max(summary_.peak_replicas, replicas);
  if (lag) summary_.max_lag = std::max(summary_.max_lag, *lag);
  if (lag_seconds) {
    summary_.max_lag_seconds = std::max(summary_.max_lag_seconds, *lag_seconds);
    if (*lag_seconds > summary_.objective_seconds) summary_.violation_seconds += seconds;
  }
}

void RunSummaryBuilder::add_scaling(int from, int to) {
  if (from == to) return;
  ++summary_.scaling_actions;
  ++(to > from ? summary_.scale_ups : summary_.scale_downs);
}

RunSummary RunSummaryBuilder::summary() const {
  RunSummary summary = summary_;
  summary.mean_replicas = summary.duration > 0 ? summary.replica_seconds / summary.duration : 0;
  return summary;
}

}  // namespace lagpilot
