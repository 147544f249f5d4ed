#pragma once
// What the demo shows while it runs and after: one Sample per second, the refreshing terminal
// view (ANSI redraw on a terminal, one plain line per second otherwise) and the end-of-run summary.
#include <cstdint>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/run_summary.h"

namespace lagpilot::demo {

struct Sample {
  double t = 0;                       // seconds since the load started
  double arrivals = 0;                // msg/s produced during the last interval
  double processed = 0;               // msg/s consumed during the last interval
  std::int64_t arrived_count = 0;     // records produced during the last interval
  std::int64_t processed_count = 0;   // records processed during the last interval
  std::optional<std::int64_t> lag;    // the operator's latest poll
  std::optional<double> lag_seconds;  // idem
  int current = 0;                    // the Deployment's spec.replicas
  int desired = 0;                    // status.replicas.desired (the operator's decision)
  int ready = 0;                      // the Deployment's status.readyReplicas
  int consumers = 0;                  // demo consumers holding partitions
  // When, during the interval, spec.replicas (the operator's scale) and the running consumers last
  // changed: seconds since the load started, to the millisecond (recording_csv).
  std::optional<double> spec_changed_at;
  std::optional<double> consumers_changed_at;
  std::string health;               // status.health
  std::vector<std::string> firing;  // status.alerts[] with state firing
};

// One entry of status.scalingHistory, placed on the demo's time axis.
struct ScalingEvent {
  double t = 0;  // seconds since the load started (negative: before it)
  int from = 0;
  int to = 0;
  std::string policy;
  std::string reason;
  bool dry_run = false;
};

// status.scalingHistory (newest first there), oldest first. `start_unix`: the load's start,
// seconds since the epoch.
std::vector<ScalingEvent> scaling_events_from_status(const nlohmann::json& status,
                                                     double start_unix);

// The run's figures from the samples (one interval per sample, spec.replicas during it, lag and
// lagSeconds at its end) and the applied scalings (dry runs do not count).
RunSummary summarize(const std::vector<Sample>& samples, const std::vector<ScalingEvent>& events,
                     double objective_seconds);

struct RunInfo {
  std::uint64_t seed = 0;
  double duration = 0;           // requested, seconds
  double objective_seconds = 0;  // targetDrainSeconds
  double per_replica_rate = 0;
  std::string pattern;      // LoadPattern::describe()
  std::string plot_path;    // empty: no plot written
  std::string record_path;  // empty: no recording written
  bool interrupted = false;
  std::int64_t produced = 0;
  std::int64_t processed = 0;
  // Scale patches the operator reported in this process (-1: unknown). When status lists fewer,
  // the summary says so.
  int scales_applied = -1;
};

std::string format_summary(const RunSummary& summary, const std::vector<ScalingEvent>& events,
                           const RunInfo& info);

// "12,345"
std::string thousands(std::int64_t value);
// "2m0s", "20s", "1m5s"
std::string format_duration(double seconds);

class LiveView {
 public:
  // ansi: redraw a block in place (stdout is a terminal); otherwise one line per update.
  LiveView(std::FILE* out, bool ansi, double duration, double objective_seconds);

  void update(const Sample& sample, const std::optional<ScalingEvent>& last_scaling);
  // Ends the view: the last frame stays on screen.
  void finish();

 private:
  void draw(const Sample& sample, const std::optional<ScalingEvent>& last_scaling);
  void print_line(const Sample& sample, const std::optional<ScalingEvent>& last_scaling);
  int width() const;

  std::FILE* out_;
  bool ansi_;
  double duration_;
  double objective_;
  int drawn_lines_ = 0;
  std::deque<double> lag_history_;
  std::deque<double> replica_history_;
  std::string last_printed_event_;
};

}  // namespace lagpilot::demo
