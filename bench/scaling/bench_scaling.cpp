// bench_scaling: the fixed suite of docs/simulate.md. Every trace runs lagpilot's default policy
// (the QueueMonitor in queuemonitor.yaml: CRD defaults apart from maxReplicas, targetDrainSeconds
// and the freshness SLO) and both baselines on the same workload model, and the table shows
// whether lagpilot meets the goals of issue #6 on it:
//   violation-seconds <= 50 % of HPA+KEDA's, replica-seconds <= HPA+KEDA's, scaling actions
//   <= 1/3 of the seed rule's.
//
//   bench_scaling [--spec FILE] [--svg-dir DIR] [--seed N] [--rebalance-pause D] [--check]
//
// --check: exit 1 when a goal is missed on some trace. Deterministic for a seed.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/svg_plot.h"
#include "sim/units.h"

namespace lagpilot::sim {
namespace {

struct BenchCase {
  std::string name;
  std::string trace;
  std::int64_t duration;
};

std::vector<BenchCase> suite() {
  return {
      {"step", "step:base=2000,peak=6000,at=20m,until=1h20m", 2 * 3600},
      {"spike", "spike:base=2000,peak=9000,at=30m,length=2m", 2 * 3600},
      {"diurnal", "diurnal:trough=600,peak=8000,period=4h", 4 * 3600},
      {"sawtooth", "sawtooth:base=1000,peak=7000,period=15m", 2 * 3600},
      {"bursts", "bursts:base=1500,peak=9000,gap=10m,length=90s", 4 * 3600},
      {"ramp", "ramp:base=1000,peak=8000", 2 * 3600},
      {"diurnal-24h", "diurnal:trough=600,peak=8000,period=24h", 24 * 3600},
  };
}

struct Flags {
  std::string spec = std::string(LAGPILOT_BENCH_SCALING_DIR) + "/queuemonitor.yaml";
  std::string svg_dir;
  std::uint64_t seed = 1;
  std::int64_t rebalance_pause = 5;
  bool check = false;
};

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string ratio(double part, double whole) {
  if (whole <= 0) return part <= 0 ? "-" : "inf";
  return fixed(100 * part / whole, 0) + " %";
}

constexpr char kUsage[] =
    "Usage: bench_scaling [--spec FILE] [--svg-dir DIR] [--seed N] [--rebalance-pause D] "
    "[--check]\n";

int usage(const std::string& problem) {
  std::cerr << "bench_scaling: " << problem << "\n" << kUsage;
  return 2;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (arg == "--check") {
      flags.check = true;
    } else if (arg == "--spec" || arg == "--svg-dir" || arg == "--seed" ||
               arg == "--rebalance-pause") {
      const auto text = value();
      if (!text) return usage(arg + " needs a value");
      if (arg == "--spec") flags.spec = *text;
      if (arg == "--svg-dir") flags.svg_dir = *text;
      if (arg == "--seed") {
        const auto seed = parse_count(*text);
        if (!seed) return usage("--seed: expected a number");
        flags.seed = static_cast<std::uint64_t>(*seed);
      }
      if (arg == "--rebalance-pause") {
        const auto pause = parse_duration(*text);
        if (!pause) return usage("--rebalance-pause: expected a duration");
        flags.rebalance_pause = *pause;
      }
    } else if (arg == "-h" || arg == "--help") {
      std::cout << "Runs the scaling suite of docs/simulate.md.\n" << kUsage;
      return 0;
    } else {
      return usage("unknown flag " + arg);
    }
  }

  auto spec = load_simulation_spec(flags.spec);
  if (!spec) {
    std::cerr << "bench_scaling: " << spec.error().message << "\n";
    return 2;
  }
  ModelConfig model;
  model.service_rate = 400;
  model.service_noise = 0.1;
  model.startup_delay = 20;
  model.partitions = 24;
  model.rebalance_pause = flags.rebalance_pause;
  model.seed = flags.seed;
  const double objective = objective_seconds(*spec);

  std::cout << "Workload: " << fixed(model.service_rate, 0) << " msg/s per replica +/- "
            << fixed(model.service_noise * 100, 0) << " % per second, start-up "
            << format_duration(model.startup_delay) << ", " << model.partitions
            << " partitions, rebalance pause " << format_duration(model.rebalance_pause)
            << ", seed " << flags.seed << ".\nSpec: " << flags.spec
            << "; objective lagSeconds <= " << fixed(objective, 0) << " s.\n\n";

  std::vector<SimulationResult> all;
  std::string verdicts =
      "| trace | violation s vs HPA+KEDA | replica-s vs HPA+KEDA | actions vs seed | goals |\n"
      "|---|---:|---:|---:|---|\n";
  bool every_goal = true;
  for (const BenchCase& bench : suite()) {
    auto trace = generate_trace(bench.trace, bench.duration, flags.seed);
    if (!trace) {
      std::cerr << "bench_scaling: " << trace.error().message << "\n";
      return 2;
    }
    trace->description = bench.name;
    Scenario scenario{.spec = *spec,
                      .trace = std::move(*trace),
                      .model = model,
                      .initial_replicas = std::nullopt,
                      .objective_seconds = objective};
    std::vector<SimulationResult> results;
    for (const std::string& policy : policy_names()) {
      auto result = run_scenario(scenario, policy, !flags.svg_dir.empty());
      if (!result) {
        std::cerr << "bench_scaling: " << result.error().message << "\n";
        return 2;
      }
      results.push_back(std::move(*result));
    }
    const Summary& lagpilot = results[0].summary;
    const Summary& hpa = results[1].summary;
    const Summary& seed = results[2].summary;
    std::vector<std::string> missed;
    if (2 * lagpilot.violation_seconds > hpa.violation_seconds &&
        !(lagpilot.violation_seconds == 0 && hpa.violation_seconds == 0)) {
      missed.push_back("violation");
    }
    if (lagpilot.replica_seconds > hpa.replica_seconds) missed.push_back("replica-s");
    if (3 * lagpilot.scaling_actions > seed.scaling_actions) missed.push_back("actions");
    every_goal = every_goal && missed.empty();
    std::string goals = "met";
    if (!missed.empty()) {
      goals = "**missed:";
      for (const auto& goal : missed) goals += " " + goal;
      goals += "**";
    }
    verdicts +=
        "| " + bench.name + " | " + thousands(static_cast<double>(lagpilot.violation_seconds)) +
        " / " + thousands(static_cast<double>(hpa.violation_seconds)) + " (" +
        ratio(static_cast<double>(lagpilot.violation_seconds),
              static_cast<double>(hpa.violation_seconds)) +
        ") | " + thousands(lagpilot.replica_seconds) + " / " + thousands(hpa.replica_seconds) +
        " (" + ratio(lagpilot.replica_seconds, hpa.replica_seconds) + ") | " +
        std::to_string(lagpilot.scaling_actions) + " / " + std::to_string(seed.scaling_actions) +
        " (" + ratio(lagpilot.scaling_actions, seed.scaling_actions) + ") | " + goals + " |\n";

    if (!flags.svg_dir.empty()) {
      std::vector<const SimulationResult*> plotted;
      for (const auto& result : results) plotted.push_back(&result);
      const std::string path = flags.svg_dir + "/" + bench.name + ".svg";
      const PlotOptions plot{
          .title = bench.name + ": " + bench.trace + " (" + format_duration(bench.duration) + ")",
          .objective_seconds = objective,
          .width = 1100};
      if (auto written = write_text_file(path, render_svg(plotted, plot)); !written) {
        std::cerr << "bench_scaling: " << written.error().message << "\n";
        return 1;
      }
    }
    for (auto& result : results) {
      result.trace = bench.name;
      result.series.clear();
      all.push_back(std::move(result));
    }
  }

  std::cout << "Traces:\n\n";
  for (const BenchCase& bench : suite()) {
    std::cout << "- " << bench.name << ": `" << bench.trace << "`, "
              << format_duration(bench.duration) << "\n";
  }
  std::cout << "\n" << format_results_table(all) << "\n" << verdicts;
  if (!flags.svg_dir.empty()) std::cout << "\nPlots: " << flags.svg_dir << "/<trace>.svg\n";
  if (flags.check && !every_goal) return 1;
  return 0;
}

}  // namespace lagpilot::sim

int main(int argc, char** argv) {
  return lagpilot::sim::run_bench(std::vector<std::string>(argv + 1, argv + argc));
}
