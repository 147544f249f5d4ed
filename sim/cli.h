#pragma once
// `lagpilot simulate`: replay an arrival trace against a QueueMonitor spec with the real engine
// (or a baseline) and report how long consumers were behind and what it cost.
#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "sim/model.h"
#include "util/result.h"

namespace lagpilot::sim {

struct SimulateOptions {
  std::optional<std::string> spec_path;  // nullopt: CRD defaults (--replay: the recording's)
  // A recording of a real run (sim/replay.h): its arrivals are the trace, its header the model,
  // and the report compares the real run's figures with the simulated ones.
  std::optional<std::string> replay_path;
  bool replay_model_basic = false;
  int replay_runs = 9;  // --replay: the median of this many model seeds is compared  //
                        // --replay-model basic: replay_model(replay, true)
  std::string trace = "step";
  std::uint64_t seed = 1;
  std::optional<std::int64_t> duration;
  ModelConfig model;
  std::optional<int> initial_replicas;
  std::optional<double> objective_seconds;
  std::vector<std::string> policies{"lagpilot"};
  std::optional<std::string> csv_path;
  std::optional<std::string> svg_path;
  std::optional<std::string> decisions_path;  // lagpilot's decision at every poll, as CSV
  bool oracle = true;                         // the oracle bound (sim/oracle.h); --no-oracle: off
  bool quiet = false;                         // no progress line
  bool progress = false;                      // a progress line even when stderr is not a terminal
  bool help = false;
  std::set<std::string> given;  // the flags given on the command line (--replay: they win)
};

std::string simulate_usage();

// Error code "InvalidFlag", the message names the flag.
Result<SimulateOptions> parse_simulate_options(const std::vector<std::string>& args);

// The whole command. Results go to `out`; errors and the progress line to `err` (the progress
// line on long runs, >= 6 simulated hours, when `err_is_terminal`, or always with --progress).
// Exit code 0; 2 for bad flags or input (the message names the file, line and field); 1 when an
// output file cannot be written.
int run_simulate_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     bool err_is_terminal = false);

}  // namespace lagpilot::sim
