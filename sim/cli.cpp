#include "sim/cli.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "scaler/spec.h"
#include "sim/kafka_source.h"
#include "sim/lagpilot_autoscaler.h"
#include "sim/oracle.h"
#include "sim/replay.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/svg_plot.h"
#include "sim/units.h"

namespace lagpilot::sim {
namespace {

constexpr std::int64_t kProgressThreshold = 6 * 3600;

Error flag_error(const std::string& flag, const std::string& message) {
  return Error{"InvalidFlag", flag + ": " + message};
}

// "out.csv" + "seed" -> "out-seed.csv".
std::string with_suffix(const std::string& path, const std::string& suffix) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return path + "-" + suffix;
  }
  return path.substr(0, dot) + "-" + suffix + path.substr(dot);
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string csv_field(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string decisions_csv(const std::vector<DecisionRecord>& log) {
  std::string text =
      "time,currentReplicas,desiredReplicas,recommendedReplicas,decidedBy,guardRail,reason\n";
  const WallTime start = simulated_time(0);
  for (const DecisionRecord& record : log) {
    const scaler::Decision& d = record.decision;
    text +=
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d.time - start).count()) +
        "," + std::to_string(d.current_replicas) + "," + std::to_string(d.desired_replicas) + "," +
        (d.recommended_replicas ? std::to_string(*d.recommended_replicas) : "") + "," +
        d.decided_by + "," + scaler::to_string(d.guard_rail) + "," + csv_field(d.reason) + "\n";
  }
  return text;
}

// Whole seconds as durations ("5s", "1m"), fractions as "0.35s".
std::string pause_text(double seconds) {
  if (seconds == std::floor(seconds)) return format_duration(static_cast<std::int64_t>(seconds));
  return fixed(seconds, 2) + "s";
}

std::string startup_text(const ModelConfig& model) {
  if (model.startup_delays.empty()) return "start-up " + format_duration(model.startup_delay);
  std::string text = "start-up drawn from {";
  for (std::size_t i = 0; i < model.startup_delays.size(); ++i) {
    text += (i ? ", " : "") + fixed(model.startup_delays[i], 1);
  }
  text += "} s";
  if (!model.startup_profiles.empty()) {
    text += " (each scale-up's pods joining apart, as in one of " +
            std::to_string(model.startup_profiles.size()) + " measured)";
  }
  return text;
}

// The replay's model, with every model flag given on the command line taking its place.
ModelConfig replay_model_with_flags(const Replay& replay, const SimulateOptions& options) {
  ModelConfig model = replay_model(replay, options.replay_model_basic);
  const ModelConfig& flags = options.model;
  auto given = [&options](const char* flag) { return options.given.count(flag) > 0; };
  if (given("--service-rate")) model.service_rate = flags.service_rate;
  if (given("--service-noise")) model.service_noise = flags.service_noise;
  if (given("--startup-delay")) {
    model.startup_delay = flags.startup_delay;
    model.startup_delays.clear();
    model.startup_profiles.clear();
  }
  if (given("--startup-delays")) {
    model.startup_delays = flags.startup_delays;
    model.startup_profiles.clear();
  }
  if (given("--partitions")) model.partitions = flags.partitions;
  if (given("--rebalance-pause")) model.rebalance_pause = flags.rebalance_pause;
  if (given("--consumer-stall")) model.consumer_stalls = flags.consumer_stalls;
  if (given("--partition-skew")) model.partition_skew = flags.partition_skew;
  if (given("--commit-interval")) model.commit_interval = flags.commit_interval;
  if (given("--hide-group-members")) model.group_members_visible = flags.group_members_visible;
  return model;
}

}  // namespace

std::string simulate_usage() {
  return R"(Usage: lagpilot simulate [flags]

Replays an arrival trace against a QueueMonitor spec with lagpilot's own scaling engine (or a
baseline) on a simulated Kafka consumer group, one simulated second at a time, and reports
seconds in violation of the objective, replica-seconds, max lag and scaling actions.

Flags:
  --spec FILE              QueueMonitor YAML, the file you would apply (default: CRD defaults;
                           with --replay, the recording's spec)
  --replay FILE            replay a real run recorded by `lagpilot-demo --record FILE`: its
                           arrivals are the trace, its header and rows set the model (service
                           rate, partitions, measured start-up delays, commit interval, partition
                           skew, hidden group members; flags given here win), and the report puts
                           the real run's violation-seconds and replica-seconds next to these
  --replay-runs N          the comparison takes the median of N runs, model seeds --seed,
                           --seed + 1, ... (start-up draws, commit phases); the per-second
                           outputs are the first's                                 [9]
  --replay-model M         full: every piece the recording measures; basic: only what the model
                           had before replays (rate, partitions, the median start-up in whole
                           seconds; one FIFO, processed offsets, members visible)  [full]
  --trace NAME|FILE        step, spike, diurnal, sawtooth, bursts, ramp, constant, with optional
                           parameters (spike:peak=12000,length=5m), or a CSV file of
                           "time,arrivals" rows (seconds, msg/s)                  [step]
  --seed N                 seed for generated traces and service noise             [1]
  --duration D             simulated time, e.g. 2h, 90m (generators: 2h; CSV: the file)
  --service-rate R         msg/s one consuming replica processes                   [400]
  --service-noise F        relative standard deviation of that rate, per second    [0.1]
  --startup-delay D        pod creation to consuming                               [20s]
  --partitions N           topic partitions; consumers beyond them sit idle        [24]
  --rebalance-pause D      consumption stalls this long after each group change,
                           fractions too (0.4s)                                    [0s]
  --startup-delays LIST    start-up delay distribution, seconds with fractions (3.2,4.1,4.5):
                           each scale-up draws one (seeded); replaces --startup-delay [none]
  --partition-skew         arrivals spread evenly over partitions, partition p consumed by
                           member p mod n at that member's rate: 12 partitions over 5 members
                           leave some with 3 and some with 2                      [off: one FIFO]
  --commit-interval S      seconds between offset commits: polls see committed offsets, half
                           of it behind on average                                 [0]
  --hide-group-members     polls do not see the group's members (a Kafka cluster that cannot
                           describe groups, such as librdkafka's mock)             [off]
  --consumer-stall S+L     the group consumes nothing from S for L (a poison message, a
                           downstream outage), e.g. 30m+10m; several: 30m+10m,90m+5m  [none]
  --initial-replicas N     replicas at the start (default: enough for the first second's rate)
  --objective D            violation: lagSeconds above this (default: the spec's lagSeconds SLO
                           threshold, else its targetDrainSeconds)
  --policy-baseline P      lagpilot (the spec as written), hpa-keda (KEDA Kafka scaler + HPA
                           defaults), seed (the seed rule), or all                 [lagpilot]
  --csv FILE               per-second CSV (with "all": FILE-<policy>.csv per policy)
  --svg FILE               plot (with "all": the policies overlaid)
  --decisions FILE         lagpilot's decision at every poll (time, replicas, rule, guard rail,
                           reason) as CSV: why it scaled when it did (lagpilot runs only)
  --oracle, --no-oracle    compute, or skip, the oracle bound: a provable lower bound on the
                           replica-seconds of any schedule with zero violations of the objective
                           on this trace and model (it knows the future); every report shows
                           replica-seconds as a multiple of it                     [--oracle]
  --progress, --quiet      force or suppress the progress line (shown on terminals for runs of
                           6 simulated hours or more)
  -h, --help

Deterministic: the same flags and seed give the same numbers. Exit code 2 for bad flags or input
files (the message names the file, line and field).

)" + trace_help();
}

Result<SimulateOptions> parse_simulate_options(const std::vector<std::string>& args) {
  SimulateOptions options;
  using Setter = std::function<std::optional<Error>(const std::string& flag, const std::string&)>;
  auto duration_into = [](std::int64_t& target, bool positive) -> Setter {
    return [&target, positive](const std::string& flag, const std::string& value) {
      const auto parsed = parse_duration(value);
      if (!parsed || (positive && *parsed <= 0)) {
        return std::optional<Error>(
            flag_error(flag, "expected a " + std::string(positive ? "positive " : "") +
                                 "duration such as 20s, 10m or 2h, got \"" + value + "\""));
      }
      target = *parsed;
      return std::optional<Error>();
    };
  };
  std::int64_t duration = 0;
  std::int64_t objective = 0;
  std::map<std::string, Setter> flags{
      {"--spec",
       [&](const std::string&, const std::string& value) {
         options.spec_path = value;
         return std::optional<Error>();
       }},
      {"--trace",
       [&](const std::string&, const std::string& value) {
         options.trace = value;
         return std::optional<Error>();
       }},
      {"--replay",
       [&](const std::string&, const std::string& value) {
         options.replay_path = value;
         return std::optional<Error>();
       }},
      {"--replay-runs",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_count(value);
         if (!parsed || *parsed < 1 || *parsed > 1000) {
           return std::optional<Error>(
               flag_error(flag, "expected a count between 1 and 1000, got \"" + value + "\""));
         }
         options.replay_runs = static_cast<int>(*parsed);
         return std::optional<Error>();
       }},
      {"--replay-model",
       [&](const std::string& flag, const std::string& value) {
         if (value != "full" && value != "basic") {
           return std::optional<Error>(
               flag_error(flag, "expected full or basic, got \"" + value + "\""));
         }
         options.replay_model_basic = value == "basic";
         return std::optional<Error>();
       }},
      {"--startup-delays",
       [&](const std::string& flag, const std::string& value) {
         options.model.startup_delays.clear();
         for (const std::string& item : split_list(value, ',')) {
           const auto parsed = parse_number(item);
           if (!parsed || *parsed < 0 || *parsed > 3600) {
             return std::optional<Error>(flag_error(
                 flag,
                 "expected seconds >= 0 separated by commas (3.2,4.1), got \"" + item + "\""));
           }
           options.model.startup_delays.push_back(*parsed);
         }
         return std::optional<Error>();
       }},
      {"--commit-interval",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_number(value);
         if (!parsed || *parsed < 0 || *parsed > 3600) {
           return std::optional<Error>(
               flag_error(flag, "expected seconds >= 0 (0.2), got \"" + value + "\""));
         }
         options.model.commit_interval = *parsed;
         return std::optional<Error>();
       }},
      {"--seed",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_count(value);
         if (!parsed) return std::optional<Error>(flag_error(flag, "expected a number >= 0"));
         options.seed = static_cast<std::uint64_t>(*parsed);
         return std::optional<Error>();
       }},
      {"--duration",
       [&](const std::string& flag, const std::string& value) {
         auto error = duration_into(duration, true)(flag, value);
         if (!error) options.duration = duration;
         return error;
       }},
      {"--service-rate",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_number(value);
         if (!parsed || *parsed <= 0) {
           return std::optional<Error>(
               flag_error(flag, "expected msg/s > 0, got \"" + value + "\""));
         }
         options.model.service_rate = *parsed;
         return std::optional<Error>();
       }},
      {"--service-noise",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_number(value);
         if (!parsed || *parsed < 0 || *parsed > 1) {
           return std::optional<Error>(
               flag_error(flag, "expected a fraction between 0 and 1, got \"" + value + "\""));
         }
         options.model.service_noise = *parsed;
         return std::optional<Error>();
       }},
      {"--startup-delay", duration_into(options.model.startup_delay, false)},
      {"--rebalance-pause",
       [&](const std::string& flag, const std::string& value) {
         // Fractions of a second too: 0.4, 0.4s; else a duration such as 5s or 1m.
         std::optional<double> seconds = parse_number(value);
         if (!seconds && !value.empty() && value.back() == 's') {
           seconds = parse_number(value.substr(0, value.size() - 1));
         }
         if (!seconds) {
           if (const auto whole = parse_duration(value)) seconds = static_cast<double>(*whole);
         }
         if (!seconds || *seconds < 0 || *seconds > 3600) {
           return std::optional<Error>(flag_error(
               flag, "expected a duration such as 0.4s, 5s or 1m, got \"" + value + "\""));
         }
         options.model.rebalance_pause = *seconds;
         return std::optional<Error>();
       }},
      {"--consumer-stall",
       [&](const std::string& flag, const std::string& value) {
         options.model.consumer_stalls.clear();
         for (const std::string& window : split_list(value, ',')) {
           const std::size_t plus = window.find('+');
           const auto start =
               plus == std::string::npos ? std::nullopt : parse_duration(window.substr(0, plus));
           const auto length =
               plus == std::string::npos ? std::nullopt : parse_duration(window.substr(plus + 1));
           if (!start || !length || *length <= 0) {
             return std::optional<Error>(
                 flag_error(flag,
                            "expected START+LENGTH durations such as 30m+10m (several separated by "
                            "commas), got \"" +
                                window + "\""));
           }
           options.model.consumer_stalls.push_back({.start = *start, .length = *length});
         }
         return std::optional<Error>();
       }},
      {"--partitions",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_count(value);
         if (!parsed || *parsed < 1 || *parsed > 100000) {
           return std::optional<Error>(
               flag_error(flag, "expected a count >= 1, got \"" + value + "\""));
         }
         options.model.partitions = static_cast<int>(*parsed);
         return std::optional<Error>();
       }},
      {"--initial-replicas",
       [&](const std::string& flag, const std::string& value) {
         const auto parsed = parse_count(value);
         if (!parsed || *parsed > 100000) {
           return std::optional<Error>(
               flag_error(flag, "expected a count >= 0, got \"" + value + "\""));
         }
         options.initial_replicas = static_cast<int>(*parsed);
         return std::optional<Error>();
       }},
      {"--objective",
       [&](const std::string& flag, const std::string& value) {
         auto error = duration_into(objective, true)(flag, value);
         if (!error) options.objective_seconds = static_cast<double>(objective);
         return error;
       }},
      {"--policy-baseline",
       [&](const std::string& flag, const std::string& value) {
         if (value == "all") {
           options.policies = policy_names();
           return std::optional<Error>();
         }
         const auto names = policy_names();
         if (std::find(names.begin(), names.end(), value) == names.end()) {
           return std::optional<Error>(
               flag_error(flag, "expected lagpilot, hpa-keda, seed or all, got \"" + value + "\""));
         }
         options.policies = {value};
         return std::optional<Error>();
       }},
      {"--csv",
       [&](const std::string&, const std::string& value) {
         options.csv_path = value;
         return std::optional<Error>();
       }},
      {"--svg",
       [&](const std::string&, const std::string& value) {
         options.svg_path = value;
         return std::optional<Error>();
       }},
      {"--decisions",
       [&](const std::string&, const std::string& value) {
         options.decisions_path = value;
         return std::optional<Error>();
       }},
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      continue;
    }
    if (arg == "--quiet") {
      options.quiet = true;
      continue;
    }
    if (arg == "--progress") {
      options.progress = true;
      continue;
    }
    if (arg == "--oracle" || arg == "--no-oracle") {
      options.oracle = arg == "--oracle";
      continue;
    }
    if (arg == "--partition-skew") {
      options.model.partition_skew = true;
      options.given.insert(arg);
      continue;
    }
    if (arg == "--hide-group-members") {
      options.model.group_members_visible = false;
      options.given.insert(arg);
      continue;
    }
    std::string flag = arg;
    std::optional<std::string> value;
    if (const auto equals = arg.find('='); arg.rfind("--", 0) == 0 && equals != std::string::npos) {
      flag = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    }
    const auto setter = flags.find(flag);
    if (setter == flags.end()) {
      return flag_error(flag, "unknown flag (see lagpilot simulate --help)");
    }
    if (!value) {
      if (i + 1 >= args.size()) return flag_error(flag, "needs a value");
      value = args[++i];
    }
    if (auto error = setter->second(flag, *value)) return *error;
    options.given.insert(flag);
  }
  if (options.replay_path && options.given.count("--trace")) {
    return flag_error("--trace", "not with --replay (the recording's arrivals are the trace)");
  }
  return options;
}

int run_simulate_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     bool err_is_terminal) {
  auto parsed = parse_simulate_options(args);
  if (!parsed) {
    err << "lagpilot simulate: " << parsed.error().message << "\n";
    return 2;
  }
  const SimulateOptions& options = *parsed;
  if (options.help) {
    out << simulate_usage();
    return 0;
  }

  std::optional<Replay> replay;
  std::optional<std::string> spec_path = options.spec_path;
  if (options.replay_path) {
    auto read = read_replay(*options.replay_path);
    if (!read) {
      err << "lagpilot simulate: " << read.error().message << "\n";
      return 2;
    }
    replay = std::move(*read);
    if (!spec_path) spec_path = replay->spec_path;
  }

  Scenario scenario;
  if (spec_path) {
    auto spec = load_simulation_spec(*spec_path);
    if (!spec) {
      err << "lagpilot simulate: " << spec.error().message << "\n";
      return 2;
    }
    scenario.spec = std::move(*spec);
  } else {
    scenario.spec = default_simulation_spec();
  }
  double poll_phase = 0;
  if (replay) {
    if (!options.replay_model_basic) poll_phase = measured_poll_phase(*replay).value_or(0);
    scenario.trace = replay_trace(*replay, poll_phase);
    if (options.duration)
      scenario.trace.rates.resize(static_cast<std::size_t>(*options.duration), 0);
    scenario.model = replay_model_with_flags(*replay, options);
  } else {
    auto trace = load_trace(options.trace, options.duration, options.seed);
    if (!trace) {
      err << "lagpilot simulate: " << trace.error().message << "\n";
      return 2;
    }
    scenario.trace = std::move(*trace);
    scenario.model = options.model;
  }
  scenario.model.seed = options.seed;
  const bool partitioned =
      source_reporting_for(scenario.spec.monitor.source_kind, scenario.spec.monitor.source)
          .partitioned;
  if (!partitioned && !options.given.count("--partitions")) {
    // Queues without partitions: no cap on consumers below maxReplicas.
    scenario.model.partitions = std::max(scenario.spec.monitor.scaling.max_replicas, 1);
  }
  scenario.initial_replicas = options.initial_replicas;
  if (replay && !scenario.initial_replicas) scenario.initial_replicas = replay->initial_replicas;
  std::string objective_source = "--objective";
  if (options.objective_seconds) {
    scenario.objective_seconds = *options.objective_seconds;
  } else if (replay) {
    scenario.objective_seconds = replay->objective_seconds;
    objective_source = "the recording";
  } else {
    scenario.objective_seconds = objective_seconds(scenario.spec, &objective_source);
  }

  const auto& monitor = scenario.spec.monitor;
  const ModelConfig& model = scenario.model;
  out << "lagpilot simulate\n"
      << "  spec       " << scenario.spec.source << " (policy "
      << scaler::to_string(monitor.scaling.policy) << ", replicas " << monitor.scaling.min_replicas
      << ".." << monitor.scaling.max_replicas << ", poll every " << monitor.poll_interval_seconds
      << " s)\n"
      << "  trace      " << scenario.trace.description << " ("
      << format_duration(scenario.trace.duration()) << ", seed " << options.seed << ")\n"
      << "  model      " << fixed(model.service_rate, 0) << " msg/s per replica +/- "
      << fixed(model.service_noise * 100, 0) << " %, " << startup_text(model) << ", "
      << model.partitions << (partitioned ? " partitions" : " consumers at most (no partitions)")
      << (model.partition_skew ? " (partition p to member p mod n)" : "") << ", rebalance pause "
      << pause_text(model.rebalance_pause) << ", " << initial_replicas(scenario)
      << " initial replicas\n";
  if (model.commit_interval > 0 || !model.group_members_visible || poll_phase > 0) {
    out << "  polls      ";
    if (poll_phase > 0) {
      out << "at " << fixed(poll_phase, 2) << " s into each second (the real run's; trace shifted)"
          << (model.commit_interval > 0 || !model.group_members_visible ? "; " : "");
    }
    if (model.commit_interval > 0) {
      out << "committed offsets, commits every " << fixed(model.commit_interval, 2) << " s";
    }
    if (!model.group_members_visible) {
      out << (model.commit_interval > 0 ? "; " : "") << "group members not visible";
    }
    out << "\n";
  }
  for (const StallWindow& stall : model.consumer_stalls) {
    out << "  stall      the group consumes nothing from " << format_duration(stall.start)
        << " for " << format_duration(stall.length) << "\n";
  }
  out << "  objective  lagSeconds <= " << fixed(scenario.objective_seconds, 0) << " s (from "
      << objective_source << ")\n";
  std::optional<double> oracle_bound;
  if (options.oracle) {
    const OracleBound bound = oracle_lower_bound(oracle_problem_for(
        scenario.trace, model, monitor.scaling.max_replicas, scenario.objective_seconds,
        initial_replicas(scenario), monitor.scaling.min_replicas));
    if (bound.feasible) oracle_bound = bound.replica_seconds;
    out << "  oracle     " << format_oracle_bound(bound) << "\n";
  }

  const bool show_progress =
      !options.quiet &&
      (options.progress || (err_is_terminal && scenario.trace.duration() >= kProgressThreshold));
  const bool keep_series = options.csv_path || options.svg_path;
  std::vector<SimulationResult> results;
  std::optional<std::string> decisions;
  for (const std::string& policy : options.policies) {
    std::function<void(std::int64_t, std::int64_t)> progress;
    if (show_progress) {
      progress = [&err, &policy, err_is_terminal, last = -1](std::int64_t done,
                                                             std::int64_t total) mutable {
        const int percent = static_cast<int>(100 * done / std::max<std::int64_t>(total, 1));
        if (percent / 10 == last / 10 && done != total) return;
        last = percent;
        err << (err_is_terminal ? "\r" : "") << "simulating " << policy << ": " << percent << " % ("
            << format_duration(done) << " of " << format_duration(total) << ")"
            << (err_is_terminal && done != total ? "" : "\n") << std::flush;
      };
    }
    auto autoscaler = make_autoscaler(policy, scenario.spec);
    if (!autoscaler) {
      err << "lagpilot simulate: " << autoscaler.error().message << "\n";
      return 2;
    }
    SimulationResult result =
        simulate(scenario.trace, scenario.model, initial_replicas(scenario), **autoscaler,
                 RunOptions{.objective_seconds = scenario.objective_seconds,
                            .keep_series = keep_series,
                            .progress = progress});
    result.oracle_replica_seconds = oracle_bound;
    out << "\n"
        << policy
        << (policy == "lagpilot" ? " (" + scaler::to_string(monitor.scaling.policy) + ")" : "")
        << "\n"
        << format_summary(result);
    if (replay && policy == "lagpilot") {
      // The first seed's run above, and the others: a real run is one draw of the model's.
      std::vector<RunSummary> runs{result.summary};
      if (options.replay_runs > 1) {
        const auto more =
            replay_runs(scenario.trace, scenario.model, monitor.scaling,
                        monitor.poll_interval_seconds, initial_replicas(scenario),
                        scenario.objective_seconds, options.seed + 1, options.replay_runs - 1);
        runs.insert(runs.end(), more.begin(), more.end());
      }
      out << "\n" << format_replay_comparison(*replay, runs);
    }
    const auto* engine = dynamic_cast<const LagpilotAutoscaler*>(autoscaler->get());
    if (engine && options.decisions_path) {
      decisions = decisions_csv(engine->log());
    }
    results.push_back(std::move(result));
  }
  if (results.size() > 1) out << "\n" << format_results_table(results);

  int exit_code = 0;
  if (decisions) {
    if (auto written = write_text_file(*options.decisions_path, *decisions); !written) {
      err << "lagpilot simulate: " << written.error().message << "\n";
      exit_code = 1;
    } else {
      out << "wrote " << *options.decisions_path << "\n";
    }
  }
  if (options.csv_path) {
    for (const SimulationResult& result : results) {
      const std::string path =
          results.size() > 1 ? with_suffix(*options.csv_path, result.policy) : *options.csv_path;
      if (auto written = write_series_csv_file(path, result); !written) {
        err << "lagpilot simulate: " << written.error().message << "\n";
        exit_code = 1;
      } else {
        out << "wrote " << path << "\n";
      }
    }
  }
  if (options.svg_path) {
    std::vector<const SimulationResult*> plotted;
    for (const SimulationResult& result : results) plotted.push_back(&result);
    const PlotOptions plot{.title = "lagpilot simulate: " + scenario.trace.description,
                           .objective_seconds = scenario.objective_seconds};
    if (auto written = write_text_file(*options.svg_path, render_svg(plotted, plot)); !written) {
      err << "lagpilot simulate: " << written.error().message << "\n";
      exit_code = 1;
    } else {
      out << "wrote " << *options.svg_path << "\n";
    }
  }
  return exit_code;
}

}  // namespace lagpilot::sim
