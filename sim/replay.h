#pragma once
// A real run replayed: what `lagpilot-demo --record FILE` observed (tools/demo/recording.h) read
// back, so that `lagpilot simulate --replay FILE` can run the same arrivals through the model and
// the engine and compare its figures with the real run's.
//
// The file: "# key: value" header lines, then a header row
// "time,arrivals,processed,lag,lagSeconds,replicasDesired,replicasReady,consumersRunning" (and
// optionally ",specChangedAt,consumersChangedAt") and one row per sampled second. Header keys read
// here (others are ignored):
//   serviceRate (msg/s per consumer, > 0), partitions (>= 1), pollInterval (s, >= 1),
//   objective (s, > 0), initialReplicas (>= 0), violationSeconds and replicaSeconds (the real
//   run's, >= 0): required;
//   podReadyDelay, commitInterval, rebalancePause (s, >= 0), groupMembersVisible (true/false), spec
//   (the QueueMonitor YAML, relative to the recording's directory), seed, load: optional.
// Errors (code "InvalidReplay") name the file, the line and the field:
// "run.csv:14: lagSeconds: not a number: \"x\"", "run.csv: serviceRate: missing header line
// \"# serviceRate: VALUE\"".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scaler/spec.h"
#include "sim/model.h"
#include "sim/traces.h"
#include "util/result.h"
#include "util/run_summary.h"

namespace lagpilot::sim {

struct ReplayRow {
  double time = 0;       // s since the load started, at the row's end
  double arrivals = 0;   // records produced during the row's interval
  double processed = 0;  // records processed during it
  std::optional<double> lag;
  std::optional<double> lag_seconds;
  int replicas_desired = 0;   // spec.replicas
  int replicas_ready = 0;     // status.readyReplicas
  int consumers_running = 0;  // consumers holding partitions
  // When during the row the operator last scaled / the running consumers last changed (s since
  // the load started); the optional last two columns.
  std::optional<double> spec_changed_at;
  std::optional<double> consumers_changed_at;
};

struct Replay {
  std::string source;  // the file
  double service_rate = 0;
  int partitions = 0;
  int poll_interval = 1;
  double objective_seconds = 0;
  int initial_replicas = 0;
  double real_violation_seconds = 0;
  double real_replica_seconds = 0;
  std::optional<double> pod_ready_delay;
  std::optional<double> commit_interval;
  std::optional<double> rebalance_pause;  // s, the demo's measured reassignment pause
  std::optional<bool> group_members_visible;
  std::optional<std::string> spec_path;  // resolved against the recording's directory
  std::optional<std::uint64_t> seed;
  std::string load;
  std::vector<ReplayRow> rows;
};

Result<Replay> parse_replay(const std::string& text, const std::string& source);
Result<Replay> read_replay(const std::string& path);

// The arrivals column as a trace: second t's rate is row t's arrivals (rows are about a second
// apart; a late row's surplus is the next row's deficit, so the total is the real run's).
// `poll_phase` in [0, 1): where in each second the operator polled; the trace is shifted so that
// the simulator's poll at whole second t sees what the real poll at t + poll_phase saw:
// second t's rate is (1 - phase) x row t + phase x row t + 1 (arrivals even within a row).
Trace replay_trace(const Replay& replay, double poll_phase = 0);

// Where in each second the operator polled, from the times it scaled (specChangedAt: a scale
// happens at a poll): their circular mean fraction of a second. nullopt without those times.
std::optional<double> measured_poll_phase(const Replay& replay);

// Start-up delays measured in the run: for each rise of replicasDesired (from the previous row,
// or initialReplicas before the first), the time from that row to the first row where
// consumersRunning reaches the new count (capped at partitions); rises overtaken by a scale-down
// before that are skipped (a scale-down later in the second the count was reached does not
// cancel it). With the specChangedAt/consumersChangedAt columns, from the exact
// time of the scale to the exact time the consumers reached the count (else row to row).
// Seconds, in row order.
std::vector<double> measured_startup_delays(const Replay& replay);

// Staggered readiness, measured: for each rise of replicasDesired with its specChangedAt, the
// delay from the scale to each consumer that joined for it (consumersChangedAt of each row where
// consumersRunning rose, once per consumer added there), ascending, until consumersRunning
// reached the new count (capped at partitions); rises overtaken by a scale-down first, or
// without the change-time columns, give none. The model's startup_profiles.
std::vector<std::vector<double>> measured_startup_profiles(const Replay& replay);

// The model a replay runs on: service rate and partitions from the header, no service noise (the
// demo's consumers run at a fixed rate), the start-up delay the median of the measured ones
// rounded to whole seconds (podReadyDelay + 1 when nothing was measured). Unless `basic`, also
// what the model learned from replays: the measured start-up delays as the distribution each
// scale-up draws from and, with the change-time columns, the measured per-consumer profiles
// (staggered readiness: measured_startup_profiles), the measured rebalance pause (fractions of a
// second), the commit interval, whether polls see the group's members, and per-partition skew.
// `basic`: the model as it was before (one FIFO, polls see processed offsets and the members).
ModelConfig replay_model(const Replay& replay, bool basic = false);

// (simulated - real) / real; 0 when both are 0, nullopt when only real is 0.
std::optional<double> relative_difference(double real, double simulated);

// The real run's figures from its rows, as the demo computes them (util/run_summary.h: one interval
// per row with replicasDesired during it, lag and lagSeconds at its end), scaling actions counted
// from changes of replicasDesired between rows.
RunSummary real_run_summary(const Replay& replay);

// The real run's figures next to the simulated ones, with the relative differences for
// violation-seconds and replica-seconds (the header's figures), then max lagSeconds and max lag
// (from the rows):
//   "                          real   simulated  difference\n"
//   "  violation-seconds         23          21      -8.7 %\n" ...
// `simulated`: one run, or several (replay_runs): the medians are compared, the range shown.
std::string format_replay_comparison(const Replay& replay,
                                     const std::vector<RunSummary>& simulated);

// The replay's lagpilot run for `runs` model seeds first_seed, first_seed + 1, ...: the model's
// draws (start-up delays, commit phases, service noise) are seeded, and a real run is one draw of
// them, so a replay compares the real figures with the simulated ones' median and range.
std::vector<RunSummary> replay_runs(const Trace& trace, const ModelConfig& model,
                                    const scaler::ScalingSpec& scaling, int poll_interval_seconds,
                                    int initial_replicas, double objective_seconds,
                                    std::uint64_t first_seed, int runs);

// The median (the mean of the middle two for an even count) of one figure.
double median_of(const std::vector<RunSummary>& runs, double RunSummary::* figure);

}  // namespace lagpilot::sim
