// bench_scaling: the suites of docs/simulate.md. Every trace runs lagpilot's default policy (the
// QueueMonitor in queuemonitor.yaml: CRD defaults apart from maxReplicas and the freshness SLO),
// HPA+KEDA and the seed rule on the same workload model.
//
// 1. The fixed suite: seven named traces, one seed; per trace the goals of issue #6:
//    violation-seconds <= 50 % of HPA+KEDA's, replica-seconds <= HPA+KEDA's, scaling actions
//    <= 1/3 of the seed rule's.
// 2. The randomized suite (issue #12): every family of randomized_trace() x 10 seeds (heights up
//    to 30x base, lengths and gaps drawn from the seed) x start-up delays of 5, 20 and 60 s. Per
//    family the goals:
//    - violation-seconds summed over the family <= 10 % of HPA+KEDA's, and zero violation-seconds
//      on >= 90 % of its feasible traces (the oracle finds a schedule with none);
//    - replica-seconds <= HPA+KEDA's on every trace;
//    - replica-seconds / the oracle's lower bound <= 1.5 on the median feasible trace, <= 2 on the
//      worst;
//    - scaling actions <= 1/3 of the seed rule's on every trace.
//    A missed goal names its worst trace, with the `lagpilot simulate` command that reruns it.
//
//   bench_scaling [--suite fixed|random|all] [--spec FILE] [--svg-dir DIR] [--seed N]
//                 [--seeds N] [--rebalance-pause D] [--jobs N] [--check] [--traces]
//
// --check: exit 1 when a goal is missed. --traces: the randomized suite's figures per trace too,
// with the goals each trace misses. Deterministic for a seed, whatever --jobs.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sim/oracle.h"
#include "sim/reaction_bound.h"
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

std::vector<BenchCase> fixed_suite() {
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

// The randomized suite's start-up delays (s) and the highest rate it draws, as a share of what
// maxReplicas consumers can drain: the rest is headroom to drain a backlog.
const std::vector<std::int64_t> kStartupDelays = {5, 20, 60};
constexpr double kPeakShareOfCapacity = 0.85;

struct Flags {
  std::string suite = "all";
  std::string spec = std::string(LAGPILOT_BENCH_SCALING_DIR) + "/queuemonitor.yaml";
  std::string svg_dir;
  std::uint64_t seed = 1;
  int seeds = 10;
  int jobs = 2;
  std::int64_t rebalance_pause = 5;
  bool check = false;
  bool traces = false;  // --traces: one row per trace of the randomized suite
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
    "Usage: bench_scaling [--suite fixed|random|all] [--spec FILE] [--svg-dir DIR] [--seed N]\n"
    "                     [--seeds N] [--rebalance-pause D] [--jobs N] [--check] [--traces]\n";

int usage(const std::string& problem) {
  std::cerr << "bench_scaling: " << problem << "\n" << kUsage;
  return 2;
}

int fail(const std::string& message, int code = 2) {
  std::cerr << "bench_scaling: " << message << "\n";
  return code;
}

std::optional<Flags> parse_flags(const std::vector<std::string>& args, int& exit_code) {
  Flags flags;
  exit_code = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--check") {
      flags.check = true;
      continue;
    }
    if (arg == "--traces") {
      flags.traces = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      std::cout << "Runs the scaling suites of docs/simulate.md.\n" << kUsage;
      return std::nullopt;
    }
    const bool takes_value = arg == "--suite" || arg == "--spec" || arg == "--svg-dir" ||
                             arg == "--seed" || arg == "--seeds" || arg == "--jobs" ||
                             arg == "--rebalance-pause";
    if (!takes_value) {
      exit_code = usage("unknown flag " + arg);
      return std::nullopt;
    }
    if (i + 1 >= args.size()) {
      exit_code = usage(arg + " needs a value");
      return std::nullopt;
    }
    const std::string& text = args[++i];
    std::string problem;
    if (arg == "--suite") {
      flags.suite = text;
      if (text != "fixed" && text != "random" && text != "all") {
        problem = "--suite: expected fixed, random or all";
      }
    } else if (arg == "--spec") {
      flags.spec = text;
    } else if (arg == "--svg-dir") {
      flags.svg_dir = text;
    } else if (arg == "--rebalance-pause") {
      const auto pause = parse_duration(text);
      if (pause) flags.rebalance_pause = *pause;
      if (!pause) problem = "--rebalance-pause: expected a duration";
    } else {
      const auto count = parse_count(text);
      const bool positive = count && *count > 0;
      if (arg == "--seed" && count) flags.seed = static_cast<std::uint64_t>(*count);
      if (arg == "--seeds" && positive) flags.seeds = static_cast<int>(*count);
      if (arg == "--jobs" && positive) flags.jobs = static_cast<int>(*count);
      if (!(arg == "--seed" ? count.has_value() : positive)) problem = arg + ": expected a number";
    }
    if (!problem.empty()) {
      exit_code = usage(problem);
      return std::nullopt;
    }
  }
  return flags;
}

ModelConfig bench_model(const Flags& flags) {
  ModelConfig model;
  model.service_rate = 400;
  model.service_noise = 0.1;
  model.startup_delay = 20;
  model.partitions = 24;
  model.rebalance_pause = flags.rebalance_pause;
  model.seed = flags.seed;
  return model;
}

// lagpilot, HPA+KEDA and the seed rule (policy_names() order) on one scenario.
Result<std::vector<SimulationResult>> run_policies(const Scenario& scenario, bool keep_series) {
  std::vector<SimulationResult> results;
  for (const std::string& policy : policy_names()) {
    auto result = run_scenario(scenario, policy, keep_series);
    if (!result) return result.error();
    results.push_back(std::move(*result));
  }
  return results;
}

Status write_plot(const std::string& path, const std::vector<SimulationResult>& results,
                  const std::string& title, double objective) {
  std::vector<const SimulationResult*> plotted;
  for (const auto& result : results) plotted.push_back(&result);
  const PlotOptions plot{.title = title, .objective_seconds = objective, .width = 1100};
  return write_text_file(path, render_svg(plotted, plot));
}

// ---- The fixed suite ----------------------------------------------------------------------

// Prints the fixed suite's tables; sets `every_goal` false on a miss. Returns an exit code.
int run_fixed_suite(const Flags& flags, const SimulationSpec& spec, bool& every_goal) {
  const ModelConfig model = bench_model(flags);
  const double objective = objective_seconds(spec);
  std::vector<SimulationResult> all;
  std::string verdicts =
      "| trace | violation s vs HPA+KEDA | replica-s vs HPA+KEDA | actions vs seed | goals |\n"
      "|---|---:|---:|---:|---|\n";
  for (const BenchCase& bench : fixed_suite()) {
    auto trace = generate_trace(bench.trace, bench.duration, flags.seed);
    if (!trace) return fail(trace.error().message);
    trace->description = bench.name;
    Scenario scenario{.spec = spec,
                      .trace = std::move(*trace),
                      .model = model,
                      .initial_replicas = std::nullopt,
                      .objective_seconds = objective};
    auto results = run_policies(scenario, !flags.svg_dir.empty());
    if (!results) return fail(results.error().message);
    const Summary& lagpilot = (*results)[0].summary;
    const Summary& hpa = (*results)[1].summary;
    const Summary& seed = (*results)[2].summary;
    std::vector<std::string> missed{};
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
      const std::string title =
          bench.name + ": " + bench.trace + " (" + format_duration(bench.duration) + ")";
      if (auto written =
              write_plot(flags.svg_dir + "/" + bench.name + ".svg", *results, title, objective);
          !written) {
        return fail(written.error().message, 1);
      }
    }
    for (auto& result : *results) {
      result.trace = bench.name;
      result.series.clear();
      all.push_back(std::move(result));
    }
  }

  std::cout << "## Fixed suite\n\nTraces:\n\n";
  for (const BenchCase& bench : fixed_suite()) {
    std::cout << "- " << bench.name << ": `" << bench.trace << "`, "
              << format_duration(bench.duration) << "\n";
  }
  std::cout << "\n" << format_results_table(all) << "\n" << verdicts;
  if (!flags.svg_dir.empty()) std::cout << "\nPlots: " << flags.svg_dir << "/<trace>.svg\n";
  return 0;
}

// ---- The randomized suite -----------------------------------------------------------------

// One run of the randomized suite: a drawn trace on the bench model with one start-up delay.
struct BenchTrace {
  RandomizedTrace drawn;
  Trace trace;
  ModelConfig model;
  int max_replicas = 0;
  int min_replicas = 0;
  int initial_replicas = 0;
  double objective_seconds = 0;
};

// The oracle's lower bound on the replica-seconds any autoscaler needs to keep lagSeconds within
// the objective on this trace and model; nullopt when no schedule can meet the objective (a rise
// faster than any pod can start, or more than maxReplicas can drain).
std::optional<double> oracle_replica_seconds(const BenchTrace& bench) {
  const OracleBound bound = oracle_lower_bound(
      oracle_problem_for(bench.trace, bench.model, bench.max_replicas, bench.objective_seconds,
                         bench.initial_replicas, bench.min_replicas));
  if (!bound.feasible) return std::nullopt;
  return bound.replica_seconds;
}

struct TraceOutcome {
  RandomizedTrace drawn;
  std::int64_t startup_delay = 0;
  Summary lagpilot, hpa, seed;
  std::optional<double> oracle;
  double reaction_bound = 0;  // lagpilot's violation-seconds no reaction removes (above)
};

BenchTrace make_bench_trace(const RandomizedTrace& drawn, Trace trace, std::int64_t startup_delay,
                            const Flags& flags, const SimulationSpec& spec) {
  BenchTrace bench{.drawn = drawn, .trace = std::move(trace), .model = bench_model(flags)};
  bench.model.startup_delay = startup_delay;
  bench.model.seed = drawn.seed;
  bench.max_replicas = spec.monitor.scaling.max_replicas;
  bench.min_replicas = spec.monitor.scaling.min_replicas;
  bench.objective_seconds = objective_seconds(spec);
  bench.initial_replicas = default_initial_replicas(
      bench.trace, bench.model, spec.monitor.scaling.min_replicas, bench.max_replicas);
  return bench;
}

Scenario scenario_for(const BenchTrace& bench, const SimulationSpec& spec) {
  return Scenario{.spec = spec,
                  .trace = bench.trace,
                  .model = bench.model,
                  .initial_replicas = bench.initial_replicas,
                  .objective_seconds = bench.objective_seconds};
}

struct Job {
  RandomizedTrace drawn;
  std::int64_t startup_delay = 0;
};

// Runs every job on flags.jobs threads; outcomes in job order, so the output does not depend on
// the thread count.
Result<std::vector<TraceOutcome>> run_jobs(const std::vector<Job>& jobs, const Flags& flags,
                                           const SimulationSpec& spec) {
  std::vector<std::optional<Result<TraceOutcome>>> slots(jobs.size());
  std::atomic<std::size_t> next{0};
  auto work = [&]() {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const Job& job = jobs[i];
      auto trace = generate_trace(job.drawn.description, job.drawn.duration, job.drawn.seed);
      if (!trace) {
        slots[i] = Result<TraceOutcome>(trace.error());
        continue;
      }
      const BenchTrace bench =
          make_bench_trace(job.drawn, std::move(*trace), job.startup_delay, flags, spec);
      auto results = run_policies(scenario_for(bench, spec), true);
      if (!results) {
        slots[i] = Result<TraceOutcome>(results.error());
        continue;
      }
      const double reaction_bound = reaction_bound_violation_seconds(
          (*results)[0].series,
          ReactionBoundInputs{.service_rate = bench.model.service_rate,
                              .startup_delay = bench.model.startup_delay,
                              .max_consumers = std::min(bench.model.partitions, bench.max_replicas),
                              .objective_seconds = bench.objective_seconds,
                              .poll_interval = spec.monitor.poll_interval_seconds});
      slots[i] = Result<TraceOutcome>(TraceOutcome{.drawn = job.drawn,
                                                   .startup_delay = job.startup_delay,
                                                   .lagpilot = (*results)[0].summary,
                                                   .hpa = (*results)[1].summary,
                                                   .seed = (*results)[2].summary,
                                                   .oracle = oracle_replica_seconds(bench),
                                                   .reaction_bound = reaction_bound});
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < flags.jobs; ++t) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  std::vector<TraceOutcome> outcomes;
  for (auto& slot : slots) {
    if (!*slot) return slot->error();
    outcomes.push_back(std::move(**slot));
  }
  return outcomes;
}

double share(double part, double whole) { return whole > 0 ? part / whole : 0; }

// One family's figures against the goals.
struct FamilyVerdict {
  std::string family;
  int traces = 0;
  double violation = 0, hpa_violation = 0;
  double reaction_bound = 0;  // of lagpilot's violation-seconds, those no reaction removes
  int zero_violation = 0;
  int over_hpa_replicas = 0;
  // Over the feasible traces (some schedule meets the objective); unset when none is.
  std::optional<double> oracle_median{}, oracle_worst{};
  int infeasible = 0;  // traces on which no schedule has zero violations (the oracle says why)
  int actions = 0, seed_actions = 0;
  int over_third_actions = 0;
  double worst_actions_share = 0;
  std::vector<std::string> missed{};
  // The worst trace for each goal, indices into the family's outcomes.
  std::size_t most_violation = 0, worst_replicas = 0, worst_oracle = 0, worst_actions = 0;
};

FamilyVerdict judge_family(const std::string& family, const std::vector<TraceOutcome>& outcomes) {
  FamilyVerdict v{.family = family, .traces = static_cast<int>(outcomes.size())};
  std::vector<double> oracle_ratios;
  auto worse = [&](std::size_t& worst, std::size_t i, auto key) {
    if (key(outcomes[i]) > key(outcomes[worst])) worst = i;
  };
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const TraceOutcome& o = outcomes[i];
    v.violation += o.lagpilot.violation_seconds;
    v.hpa_violation += o.hpa.violation_seconds;
    v.reaction_bound += o.reaction_bound;
    if (!o.oracle) ++v.infeasible;
    if (o.lagpilot.violation_seconds == 0 && o.oracle) ++v.zero_violation;
    if (o.lagpilot.replica_seconds > o.hpa.replica_seconds) ++v.over_hpa_replicas;
    v.actions += o.lagpilot.scaling_actions;
    v.seed_actions += o.seed.scaling_actions;
    if (3 * o.lagpilot.scaling_actions > o.seed.scaling_actions) ++v.over_third_actions;
    if (o.oracle && *o.oracle > 0) oracle_ratios.push_back(o.lagpilot.replica_seconds / *o.oracle);
    // Ties in violation-seconds (often all 0) go to the costliest trace against HPA+KEDA.
    worse(v.most_violation, i, [](const TraceOutcome& t) {
      return t.lagpilot.violation_seconds +
             share(t.lagpilot.replica_seconds, t.hpa.replica_seconds);
    });
    worse(v.worst_replicas, i, [](const TraceOutcome& t) {
      return share(t.lagpilot.replica_seconds, t.hpa.replica_seconds);
    });
    worse(v.worst_actions, i, [](const TraceOutcome& t) {
      return share(t.lagpilot.scaling_actions, t.seed.scaling_actions);
    });
    worse(v.worst_oracle, i, [](const TraceOutcome& t) {
      return t.oracle ? share(t.lagpilot.replica_seconds, *t.oracle) : 0;
    });
  }
  const TraceOutcome& worst_actions = outcomes[v.worst_actions];
  v.worst_actions_share =
      share(worst_actions.lagpilot.scaling_actions, worst_actions.seed.scaling_actions);
  if (!oracle_ratios.empty()) {
    std::sort(oracle_ratios.begin(), oracle_ratios.end());
    const std::size_t n = oracle_ratios.size();
    v.oracle_median =
        n % 2 ? oracle_ratios[n / 2] : (oracle_ratios[n / 2 - 1] + oracle_ratios[n / 2]) / 2;
    v.oracle_worst = oracle_ratios.back();
  }

  if (v.violation > 0.1 * v.hpa_violation) v.missed.push_back("violation");
  // Judged on the traces where zero is possible at all.
  const int feasible = v.traces - v.infeasible;
  if (v.zero_violation * 10 < feasible * 9) v.missed.push_back("zero-violation");
  if (v.over_hpa_replicas > 0) v.missed.push_back("replica-s");
  if (v.oracle_median && (*v.oracle_median > 1.5 || *v.oracle_worst > 2)) {
    v.missed.push_back("oracle");
  }
  if (v.over_third_actions > 0) v.missed.push_back("actions");
  return v;
}

std::string verdict_row(const FamilyVerdict& v) {
  std::string oracle = "-";
  if (v.oracle_median) oracle = fixed(*v.oracle_median, 2) + ", " + fixed(*v.oracle_worst, 2);
  std::string goals = "met";
  if (!v.missed.empty()) {
    goals = "**missed:";
    for (std::size_t i = 0; i < v.missed.size(); ++i) goals += (i ? ", " : " ") + v.missed[i];
    goals += "**";
  }
  if (!v.oracle_median) goals += "; no trace feasible";
  return "| " + v.family + " | " + std::to_string(v.traces) + " | " + thousands(v.violation) +
         " / " + thousands(v.hpa_violation) + " (" + ratio(v.violation, v.hpa_violation) + ") | " +
         std::to_string(v.zero_violation) + " / " + std::to_string(v.traces - v.infeasible) + " (" +
         ratio(v.zero_violation, v.traces - v.infeasible) + ") | " + thousands(v.reaction_bound) +
         " | " + std::to_string(v.infeasible) + " | " + std::to_string(v.over_hpa_replicas) +
         " | " + oracle + " | " + thousands(v.actions) + " / " + thousands(v.seed_actions) + " (" +
         ratio(v.actions, v.seed_actions) + "), worst " + fixed(100 * v.worst_actions_share, 0) +
         " % | " + goals + " |\n";
}

std::string rerun_command(const TraceOutcome& o, const Flags& flags) {
  // The default spec as a path from the repository's root.
  const std::string spec =
      flags.spec == Flags{}.spec ? "bench/scaling/queuemonitor.yaml" : flags.spec;
  return "lagpilot simulate --spec " + spec + " --trace '" + o.drawn.description + "' --duration " +
         format_duration(o.drawn.duration) + " --seed " + std::to_string(o.drawn.seed) +
         " --startup-delay " + format_duration(o.startup_delay) + " --rebalance-pause " +
         format_duration(flags.rebalance_pause) + " --policy-baseline all";
}

std::string plot_name(const TraceOutcome& o) {
  return "random-" + o.drawn.family + "-seed" + std::to_string(o.drawn.seed) + "-startup" +
         std::to_string(o.startup_delay) + "s.svg";
}

// What makes `o` the worst trace for `goal`, in figures.
std::string worst_figures(const std::string& goal, const TraceOutcome& o) {
  const auto& l = o.lagpilot;
  if (goal == "replica-s") {
    return thousands(l.replica_seconds) + " replica-s vs HPA+KEDA's " +
           thousands(o.hpa.replica_seconds) + " (" +
           ratio(l.replica_seconds, o.hpa.replica_seconds) + ")";
  }
  if (goal == "actions") {
    return std::to_string(l.scaling_actions) + " scaling actions vs the seed rule's " +
           std::to_string(o.seed.scaling_actions);
  }
  if (goal == "oracle") {
    return thousands(l.replica_seconds) + " replica-s vs the bound's " +
           thousands(o.oracle.value_or(0));
  }
  return thousands(l.violation_seconds) + " violation s (max lagSeconds " +
         fixed(l.max_lag_seconds, 1) + ") vs HPA+KEDA's " + thousands(o.hpa.violation_seconds) +
         "; " + thousands(l.replica_seconds) + " replica-s vs " + thousands(o.hpa.replica_seconds) +
         ", " + std::to_string(l.scaling_actions) + " actions";
}

std::size_t worst_for(const std::string& goal, const FamilyVerdict& v) {
  if (goal == "replica-s") return v.worst_replicas;
  if (goal == "actions") return v.worst_actions;
  if (goal == "oracle") return v.worst_oracle;
  return v.most_violation;
}

// Plots lagpilot, HPA+KEDA and the seed rule on one trace of the suite.
Status plot_outcome(const TraceOutcome& o, const Flags& flags, const SimulationSpec& spec) {
  auto trace = generate_trace(o.drawn.description, o.drawn.duration, o.drawn.seed);
  if (!trace) return trace.error();
  const BenchTrace bench =
      make_bench_trace(o.drawn, std::move(*trace), o.startup_delay, flags, spec);
  auto results = run_policies(scenario_for(bench, spec), true);
  if (!results) return results.error();
  const std::string title = o.drawn.description + " (" + format_duration(o.drawn.duration) +
                            "), seed " + std::to_string(o.drawn.seed) + ", start-up " +
                            format_duration(o.startup_delay);
  return write_plot(flags.svg_dir + "/" + plot_name(o), *results, title, bench.objective_seconds);
}

// Per family and start-up delay: the violation-seconds of each policy, and on how many traces
// each had none. Shows where the violations come from, and whether even the seed rule (fast and
// costly) avoids them.
std::string violations_by_delay(const std::vector<TraceOutcome>& outcomes) {
  std::string table =
      "Per start-up delay, lagpilot / HPA+KEDA / seed rule:\n\n"
      "| family | start-up | violation s | reaction bound (lagpilot) | traces without violations "
      "|\n|---|---:|---:|---:|---:|\n";
  for (const std::string& family : randomized_trace_families()) {
    for (const std::int64_t delay : kStartupDelays) {
      double violation[3] = {0, 0, 0};
      int zero[3] = {0, 0, 0};
      int traces = 0;
      double bound = 0;
      for (const auto& o : outcomes) {
        if (o.drawn.family != family || o.startup_delay != delay) continue;
        ++traces;
        bound += o.reaction_bound;
        const Summary* summaries[3] = {&o.lagpilot, &o.hpa, &o.seed};
        for (int p = 0; p < 3; ++p) {
          violation[p] += summaries[p]->violation_seconds;
          if (summaries[p]->violation_seconds == 0) ++zero[p];
        }
      }
      table += "| " + family + " | " + format_duration(delay) + " | " + thousands(violation[0]) +
               " / " + thousands(violation[1]) + " / " + thousands(violation[2]) + " | " +
               thousands(bound) + " | " + std::to_string(zero[0]) + " / " +
               std::to_string(zero[1]) + " / " + std::to_string(zero[2]) + " of " +
               std::to_string(traces) + " |\n";
    }
  }
  return table;
}

// The goals one trace misses on its own (the family's sums and medians aside): "violation" (any
// violation-second on a feasible trace), "replica-s", "oracle" (over 2x the bound), "actions".
std::vector<std::string> trace_misses(const TraceOutcome& o) {
  std::vector<std::string> missed;
  if (o.oracle && o.lagpilot.violation_seconds > 0) missed.push_back("violation");
  if (o.lagpilot.replica_seconds > o.hpa.replica_seconds) missed.push_back("replica-s");
  if (o.oracle && *o.oracle > 0 && o.lagpilot.replica_seconds > 2 * *o.oracle) {
    missed.push_back("oracle");
  }
  if (3 * o.lagpilot.scaling_actions > o.seed.scaling_actions) missed.push_back("actions");
  return missed;
}

std::string per_trace_table(const std::vector<TraceOutcome>& outcomes) {
  std::string table =
      "Per trace (violation s: lagpilot / HPA+KEDA / seed rule):\n\n"
      "| family | seed | start-up | violation s | reaction bound | replica-s vs HPA+KEDA | "
      "replica-s / oracle | actions vs seed | misses "
      "|\n|---|---:|---:|---:|---:|---:|---:|---:|---|"
      "\n";
  for (const auto& o : outcomes) {
    std::string misses;
    for (const auto& goal : trace_misses(o)) misses += (misses.empty() ? "" : ", ") + goal;
    const std::string oracle =
        o.oracle && *o.oracle > 0 ? fixed(o.lagpilot.replica_seconds / *o.oracle, 2) : "-";
    table += "| " + o.drawn.family + " | " + std::to_string(o.drawn.seed) + " | " +
             format_duration(o.startup_delay) + " | " + thousands(o.lagpilot.violation_seconds) +
             " / " + thousands(o.hpa.violation_seconds) + " / " +
             thousands(o.seed.violation_seconds) + " | " + thousands(o.reaction_bound) + " | " +
             thousands(o.lagpilot.replica_seconds) + " / " + thousands(o.hpa.replica_seconds) +
             " (" + ratio(o.lagpilot.replica_seconds, o.hpa.replica_seconds) + ") | " + oracle +
             " | " + std::to_string(o.lagpilot.scaling_actions) + " / " +
             std::to_string(o.seed.scaling_actions) + " | " + misses + " | `" +
             o.drawn.description + "` (" + format_duration(o.drawn.duration) + ") |\n";
  }
  return table;
}

int run_random_suite(const Flags& flags, const SimulationSpec& spec, bool& every_goal) {
  const ModelConfig model = bench_model(flags);
  const double max_rate = kPeakShareOfCapacity * model.service_rate *
                          std::min(model.partitions, spec.monitor.scaling.max_replicas);
  std::vector<Job> jobs;
  for (const std::string& family : randomized_trace_families()) {
    for (int s = 0; s < flags.seeds; ++s) {
      auto drawn = randomized_trace(family, flags.seed + static_cast<std::uint64_t>(s), max_rate);
      if (!drawn) return fail(drawn.error().message);
      for (const std::int64_t delay : kStartupDelays) jobs.push_back({*drawn, delay});
    }
  }
  auto outcomes = run_jobs(jobs, flags, spec);
  if (!outcomes) return fail(outcomes.error().message);

  std::cout << "\n## Randomized suite\n\n"
            << randomized_trace_families().size() << " families x " << flags.seeds
            << " seeds (from " << flags.seed << ") x start-up delays";
  for (const std::int64_t delay : kStartupDelays) std::cout << " " << delay << "s";
  std::cout
      << " = " << jobs.size() << " traces; peaks up to " << thousands(max_rate)
      << " msg/s, base down to peak / 30.\n\n"
      << "| family | traces | violation s vs HPA+KEDA | zero-violation traces (of feasible) | "
         "reaction bound (violation s) | infeasible | replica-s > HPA+KEDA | replica-s / oracle "
         "(median, worst) | actions vs seed | goals "
         "|\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
         "---|\n";
  std::vector<std::string> details;
  std::vector<const TraceOutcome*> plots;
  for (const std::string& family : randomized_trace_families()) {
    std::vector<TraceOutcome> mine;
    for (const auto& o : *outcomes) {
      if (o.drawn.family == family) mine.push_back(o);
    }
    const FamilyVerdict v = judge_family(family, mine);
    every_goal = every_goal && v.missed.empty();
    std::cout << verdict_row(v);
    // The missed goals grouped by their worst trace (violation and zero-violation share one).
    std::vector<std::pair<std::size_t, std::vector<std::string>>> worst_traces;
    for (const std::string& goal : v.missed) {
      const std::size_t index = worst_for(goal, v);
      auto same = std::find_if(worst_traces.begin(), worst_traces.end(),
                               [&](const auto& entry) { return entry.first == index; });
      if (same == worst_traces.end()) {
        worst_traces.push_back({index, {goal}});
      } else {
        same->second.push_back(goal);
      }
    }
    std::vector<std::size_t> plotted = {v.most_violation};
    for (const auto& [index, goals] : worst_traces) {
      const TraceOutcome& worst = mine[index];
      std::string names;
      for (const auto& goal : goals) names += (names.empty() ? "" : ", ") + goal;
      details.push_back("- " + family + " misses " + names + ". Worst trace: seed " +
                        std::to_string(worst.drawn.seed) + ", start-up " +
                        format_duration(worst.startup_delay) + ", `" + worst.drawn.description +
                        "` (" + format_duration(worst.drawn.duration) +
                        "): " + worst_figures(goals.front(), worst) + ".\n  Rerun: `" +
                        rerun_command(worst, flags) + "`" +
                        (flags.svg_dir.empty() ? "" : "\n  Plot: " + plot_name(worst)) + "\n");
      plotted.push_back(index);
    }
    std::sort(plotted.begin(), plotted.end());
    plotted.erase(std::unique(plotted.begin(), plotted.end()), plotted.end());
    for (const std::size_t i : plotted) {
      for (const auto& o : *outcomes) {
        if (o.drawn.description == mine[i].drawn.description &&
            o.startup_delay == mine[i].startup_delay) {
          plots.push_back(&o);
        }
      }
    }
  }
  std::cout << "\n" << violations_by_delay(*outcomes);
  if (flags.traces) std::cout << "\n" << per_trace_table(*outcomes);
  std::cout << "\nGoals per family: violation-seconds <= 10 % of HPA+KEDA's (violation) and zero "
               "on >= 90 % of the feasible traces (zero-violation; infeasible: the oracle finds no "
               "schedule of the model with zero violations, e.g. a rise faster than a pod starts); "
               "replica-seconds <= HPA+KEDA's on every "
               "trace (replica-s); replica-seconds <= 1.5x the oracle bound on the median trace "
               "and 2x on the worst (oracle); scaling actions <= 1/3 of the seed rule's on every "
               "trace (actions).\n";
  if (!details.empty()) std::cout << "\nMissed goals, with the worst trace for each:\n\n";
  for (const auto& detail : details) std::cout << detail;
  if (!flags.svg_dir.empty()) {
    for (const TraceOutcome* o : plots) {
      if (auto written = plot_outcome(*o, flags, spec); !written) {
        return fail(written.error().message, 1);
      }
    }
    std::cout << "\nPlots (per family the trace with the most violation-seconds, and the worst "
                 "trace of each missed goal): "
              << flags.svg_dir << "/random-<family>-seed<N>-startup<D>s.svg\n";
  }
  return 0;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
  int exit_code = 0;
  const auto flags = parse_flags(args, exit_code);
  if (!flags) return exit_code;
  auto spec = load_simulation_spec(flags->spec);
  if (!spec) return fail(spec.error().message);
  const ModelConfig model = bench_model(*flags);
  std::cout << "Workload: " << fixed(model.service_rate, 0) << " msg/s per replica +/- "
            << fixed(model.service_noise * 100, 0) << " % per second, start-up "
            << format_duration(model.startup_delay) << " (randomized suite: 5s, 20s, 60s), "
            << model.partitions << " partitions, rebalance pause "
            << format_duration(model.rebalance_pause) << ", seed " << flags->seed
            << ".\nSpec: " << flags->spec
            << "; objective lagSeconds <= " << fixed(objective_seconds(*spec), 0) << " s.\n\n";

  bool every_goal = true;
  if (flags->suite != "random") {
    if (const int code = run_fixed_suite(*flags, *spec, every_goal); code != 0) return code;
  }
  if (flags->suite != "fixed") {
    if (const int code = run_random_suite(*flags, *spec, every_goal); code != 0) return code;
  }
  if (flags->check && !every_goal) return 1;
  return 0;
}

}  // namespace lagpilot::sim

int main(int argc, char** argv) {
  return lagpilot::sim::run_bench(std::vector<std::string>(argv + 1, argv + argc));
}
