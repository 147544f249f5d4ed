#include "sim/replay.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "sim/lagpilot_autoscaler.h"
#include "sim/simulation.h"
#include "sim/units.h"

namespace lagpilot::sim {
namespace {

constexpr const char* kColumns[] = {
    "time",          "arrivals",          "processed",     "lag",
    "lagSeconds",    "replicasDesired",   "replicasReady", "consumersRunning",
    "specChangedAt", "consumersChangedAt"};
constexpr std::size_t kAllColumns = sizeof kColumns / sizeof kColumns[0];
constexpr std::size_t kRequiredColumns = 8;  // the change times are optional

Error invalid(const std::string& message) { return Error{"InvalidReplay", message}; }

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  for (const std::string& field : split_list(line, ',')) fields.push_back(trim(field));
  return fields;
}

std::string column_list(std::size_t count) {
  std::string text;
  for (std::size_t i = 0; i < count; ++i) text += (i ? "," : "") + std::string(kColumns[i]);
  return text;
}

// "# key: value" lines, with their line numbers.
struct HeaderValue {
  std::string value;
  int line = 0;
};

class HeaderReader {
 public:
  HeaderReader(std::string source, std::map<std::string, HeaderValue> values)
      : source_(std::move(source)), values_(std::move(values)) {}

  std::optional<Error> number(const std::string& key, double& target, double low, bool required,
                              bool positive = false) {
    const auto it = values_.find(key);
    if (it == values_.end()) return required ? missing(key) : std::optional<Error>();
    const auto parsed = parse_number(it->second.value);
    if (!parsed || *parsed < low || (positive && *parsed <= low)) {
      return at(it->second, key,
                std::string("expected a number ") + (positive ? "> " : ">= ") + fixed(low) +
                    ", got \"" + it->second.value + "\"");
    }
    target = *parsed;
    return std::nullopt;
  }

  std::optional<Error> count(const std::string& key, int& target, int low, bool required) {
    const auto it = values_.find(key);
    if (it == values_.end()) return required ? missing(key) : std::optional<Error>();
    const auto parsed = parse_count(it->second.value);
    if (!parsed || *parsed < low || *parsed > 100000) {
      return at(it->second, key,
                "expected a whole number >= " + std::to_string(low) + ", got \"" +
                    it->second.value + "\"");
    }
    target = static_cast<int>(*parsed);
    return std::nullopt;
  }

  std::optional<Error> boolean(const std::string& key, std::optional<bool>& target) {
    const auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    if (it->second.value != "true" && it->second.value != "false") {
      return at(it->second, key, "expected true or false, got \"" + it->second.value + "\"");
    }
    target = it->second.value == "true";
    return std::nullopt;
  }

  std::optional<std::string> text(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second.value;
  }

 private:
  static std::string fixed(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
  }
  Error missing(const std::string& key) const {
    return invalid(source_ + ": " + key + ": missing header line \"# " + key + ": VALUE\"");
  }
  Error at(const HeaderValue& value, const std::string& key, const std::string& message) const {
    return invalid(source_ + ":" + std::to_string(value.line) + ": " + key + ": " + message);
  }

  std::string source_;
  std::map<std::string, HeaderValue> values_;
};

}  // namespace

Result<Replay> parse_replay(const std::string& text, const std::string& source) {
  Replay replay;
  replay.source = source;
  std::map<std::string, HeaderValue> header;
  std::istringstream in(text);
  std::string line;
  int line_number = 0;
  bool columns_seen = false;
  std::size_t columns = kRequiredColumns;
  auto fail = [&](const std::string& field, const std::string& message) {
    return invalid(source + ":" + std::to_string(line_number) + ": " + field + ": " + message);
  };
  while (std::getline(in, line)) {
    ++line_number;
    const std::string content = trim(line);
    if (content.empty()) continue;
    if (content[0] == '#') {
      const auto colon = content.find(':');
      if (colon == std::string::npos) continue;  // a comment, e.g. the format line
      const std::string key = trim(content.substr(1, colon - 1));
      if (key.empty() || key.find(' ') != std::string::npos) continue;
      header[key] = HeaderValue{.value = trim(content.substr(colon + 1)), .line = line_number};
      continue;
    }
    const std::vector<std::string> fields = split_fields(content);
    if (!columns_seen) {
      if ((fields.size() != kRequiredColumns && fields.size() != kAllColumns) ||
          !std::equal(fields.begin(), fields.end(), std::begin(kColumns))) {
        return fail("header", "expected the columns " + column_list(kRequiredColumns) +
                                  " (optionally ," + kColumns[8] + "," + kColumns[9] + "), got \"" +
                                  content + "\"");
      }
      columns = fields.size();
      columns_seen = true;
      continue;
    }
    if (fields.size() != columns) {
      return fail("row", "expected " + std::to_string(columns) + " fields (" +
                             column_list(columns) + "), got " + std::to_string(fields.size()));
    }
    ReplayRow row;
    auto number = [&](std::size_t i, double& target) -> std::optional<Error> {
      const auto parsed = parse_number(fields[i]);
      if (!parsed) return fail(kColumns[i], "not a number: \"" + fields[i] + "\"");
      if (*parsed < 0) return fail(kColumns[i], "must be >= 0, got \"" + fields[i] + "\"");
      target = *parsed;
      return std::nullopt;
    };
    auto optional_number = [&](std::size_t i,
                               std::optional<double>& target) -> std::optional<Error> {
      if (fields[i].empty()) return std::nullopt;  // not known at that second
      double value = 0;
      if (auto error = number(i, value)) return error;
      target = value;
      return std::nullopt;
    };
    auto replicas = [&](std::size_t i, int& target) -> std::optional<Error> {
      const auto parsed = parse_count(fields[i]);
      if (!parsed || *parsed > 100000) {
        return fail(kColumns[i], "expected a whole number >= 0, got \"" + fields[i] + "\"");
      }
      target = static_cast<int>(*parsed);
      return std::nullopt;
    };
    if (auto e = number(0, row.time)) return *e;
    if (!replay.rows.empty() && row.time <= replay.rows.back().time) {
      return fail("time", "must increase: \"" + fields[0] + "\" after " +
                              std::to_string(replay.rows.back().time));
    }
    if (auto e = number(1, row.arrivals)) return *e;
    if (auto e = number(2, row.processed)) return *e;
    if (auto e = optional_number(3, row.lag)) return *e;
    if (auto e = optional_number(4, row.lag_seconds)) return *e;
    if (auto e = replicas(5, row.replicas_desired)) return *e;
    if (auto e = replicas(6, row.replicas_ready)) return *e;
    if (auto e = replicas(7, row.consumers_running)) return *e;
    if (columns == kAllColumns) {
      if (auto e = optional_number(8, row.spec_changed_at)) return *e;
      if (auto e = optional_number(9, row.consumers_changed_at)) return *e;
    }
    replay.rows.push_back(row);
  }
  if (!columns_seen) {
    return invalid(source + ": no header row (expected \"" + column_list(kRequiredColumns) + "\")");
  }
  if (replay.rows.empty()) return invalid(source + ": no rows after the header row");

  HeaderReader reader(source, std::move(header));
  double poll = 0;
  std::optional<Error> error;
  if ((error = reader.number("serviceRate", replay.service_rate, 0, true, true)) ||
      (error = reader.count("partitions", replay.partitions, 1, true)) ||
      (error = reader.number("pollInterval", poll, 1, true)) ||
      (error = reader.number("objective", replay.objective_seconds, 0, true, true)) ||
      (error = reader.count("initialReplicas", replay.initial_replicas, 0, true)) ||
      (error = reader.number("violationSeconds", replay.real_violation_seconds, 0, true)) ||
      (error = reader.number("replicaSeconds", replay.real_replica_seconds, 0, true)) ||
      (error = reader.boolean("groupMembersVisible", replay.group_members_visible))) {
    return *error;
  }
  replay.poll_interval = static_cast<int>(std::lround(poll));
  double value = 0;
  if ((error = reader.number("podReadyDelay", value, 0, false))) return *error;
  if (reader.text("podReadyDelay")) replay.pod_ready_delay = value;
  if ((error = reader.number("commitInterval", value, 0, false))) return *error;
  if (reader.text("commitInterval")) replay.commit_interval = value;
  if ((error = reader.number("rebalancePause", value, 0, false))) return *error;
  if (reader.text("rebalancePause")) replay.rebalance_pause = value;
  if (auto seed = reader.text("seed")) {
    if (auto parsed = parse_count(*seed)) replay.seed = static_cast<std::uint64_t>(*parsed);
  }
  replay.load = reader.text("load").value_or("");
  if (auto spec = reader.text("spec"); spec && !spec->empty()) {
    const std::filesystem::path path(*spec);
    replay.spec_path = path.is_absolute()
                           ? path.string()
                           : (std::filesystem::path(source).parent_path() / path).string();
  }
  return replay;
}

Result<Replay> read_replay(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid(path + ": cannot read the recording");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse_replay(buffer.str(), path);
}

Trace replay_trace(const Replay& replay, double poll_phase) {
  Trace trace;
  trace.name = replay.source;
  trace.description = "replay of " + replay.source;
  const double phase = std::clamp(poll_phase, 0.0, 1.0);
  const auto& rows = replay.rows;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double next = i + 1 < rows.size() ? rows[i + 1].arrivals : rows[i].arrivals;
    trace.rates.push_back(phase > 0 ? (1 - phase) * rows[i].arrivals + phase * next
                                    : rows[i].arrivals);
  }
  return trace;
}

std::optional<double> measured_poll_phase(const Replay& replay) {
  constexpr double kTurn = 2 * 3.14159265358979323846;
  double x = 0;
  double y = 0;
  int count = 0;
  for (const ReplayRow& row : replay.rows) {
    if (!row.spec_changed_at) continue;
    const double fraction = *row.spec_changed_at - std::floor(*row.spec_changed_at);
    x += std::cos(kTurn * fraction);
    y += std::sin(kTurn * fraction);
    ++count;
  }
  if (count == 0) return std::nullopt;
  double phase = std::atan2(y, x) / kTurn;
  if (phase < 0) phase += 1;
  return phase >= 1 ? 0.0 : phase;
}

namespace {

// A row that scaled down, but whose consumers reached `wanted` earlier in that second (the
// scale-down came after they all ran: it does not cancel the measurement).
bool reached_before_the_scale_down(const ReplayRow& row, int wanted) {
  return row.consumers_running >= wanted && row.consumers_changed_at && row.spec_changed_at &&
         *row.consumers_changed_at <= *row.spec_changed_at;
}

}  // namespace

std::vector<std::vector<double>> measured_startup_profiles(const Replay& replay) {
  std::vector<std::vector<double>> profiles;
  const auto& rows = replay.rows;
  int previous = replay.initial_replicas;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int desired = rows[i].replicas_desired;
    if (desired > previous && rows[i].spec_changed_at) {
      const int wanted = std::min(desired, replay.partitions);
      int running = i > 0 ? rows[i - 1].consumers_running : replay.initial_replicas;
      std::vector<double> profile;
      for (std::size_t j = i; j < rows.size() && running < wanted; ++j) {
        const bool scaled_down = rows[j].replicas_desired < desired;
        if (scaled_down && !reached_before_the_scale_down(rows[j], wanted)) break;
        const int now = std::min(rows[j].consumers_running, wanted);
        if (now > running && rows[j].consumers_changed_at) {
          const double delay =
              std::max(0.0, *rows[j].consumers_changed_at - *rows[i].spec_changed_at);
          profile.insert(profile.end(), static_cast<std::size_t>(now - running), delay);
        }
        running = std::max(running, now);
      }
      if (running >= wanted && !profile.empty()) profiles.push_back(std::move(profile));
    }
    previous = desired;
  }
  return profiles;
}

std::vector<double> measured_startup_delays(const Replay& replay) {
  std::vector<double> delays;
  const auto& rows = replay.rows;
  int previous = replay.initial_replicas;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int desired = rows[i].replicas_desired;
    if (desired > previous) {
      const int wanted = std::min(desired, replay.partitions);
      for (std::size_t j = i; j < rows.size(); ++j) {
        if (rows[j].replicas_desired < desired && !reached_before_the_scale_down(rows[j], wanted)) {
          break;  // scaled down before they all ran
        }
        if (rows[j].consumers_running >= wanted) {
          if (rows[i].spec_changed_at && rows[j].consumers_changed_at) {
            delays.push_back(
                std::max(0.0, *rows[j].consumers_changed_at - *rows[i].spec_changed_at));
          } else {
            delays.push_back(rows[j].time - rows[i].time);
          }
          break;
        }
      }
    }
    previous = desired;
  }
  return delays;
}

ModelConfig replay_model(const Replay& replay, bool basic) {
  ModelConfig model;
  model.service_rate = replay.service_rate;
  model.service_noise = 0;
  model.partitions = replay.partitions;
  model.rebalance_pause = 0;
  const std::vector<double> delays = measured_startup_delays(replay);
  if (delays.empty()) {
    model.startup_delay =
        static_cast<std::int64_t>(std::lround(replay.pod_ready_delay.value_or(0))) + 1;
  } else {
    std::vector<double> sorted = delays;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    const double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    model.startup_delay = std::llround(median);
  }
  if (basic) return model;
  model.startup_delays = delays;
  model.startup_profiles = measured_startup_profiles(replay);
  model.partition_skew = true;
  model.commit_interval = replay.commit_interval.value_or(0);
  model.rebalance_pause = replay.rebalance_pause.value_or(0);
  model.group_members_visible = replay.group_members_visible.value_or(true);
  return model;
}

std::optional<double> relative_difference(double real, double simulated) {
  if (real == 0) return simulated == 0 ? std::optional<double>(0.0) : std::nullopt;
  return (simulated - real) / real;
}

RunSummary real_run_summary(const Replay& replay) {
  RunSummaryBuilder builder(replay.objective_seconds);
  double previous_time = 0;
  int previous_replicas = replay.initial_replicas;
  for (const ReplayRow& row : replay.rows) {
    builder.add_interval(row.time - previous_time, row.replicas_desired, row.lag, row.lag_seconds);
    builder.add_scaling(previous_replicas, row.replicas_desired);
    previous_time = row.time;
    previous_replicas = row.replicas_desired;
  }
  return builder.summary();
}

double median_of(const std::vector<RunSummary>& runs, double RunSummary::* figure) {
  if (runs.empty()) return 0;
  std::vector<double> values;
  for (const RunSummary& run : runs) values.push_back(run.*figure);
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<RunSummary> replay_runs(const Trace& trace, const ModelConfig& model,
                                    const scaler::ScalingSpec& scaling, int poll_interval_seconds,
                                    int initial_replicas, double objective_seconds,
                                    std::uint64_t first_seed, int runs) {
  std::vector<RunSummary> summaries;
  for (int i = 0; i < runs; ++i) {
    ModelConfig seeded = model;
    seeded.seed = first_seed + static_cast<std::uint64_t>(i);
    LagpilotAutoscaler autoscaler(scaling, poll_interval_seconds);
    RunOptions options;
    options.objective_seconds = objective_seconds;
    options.keep_series = false;
    summaries.push_back(simulate(trace, seeded, initial_replicas, autoscaler, options).summary);
  }
  return summaries;
}

std::string format_replay_comparison(const Replay& replay,
                                     const std::vector<RunSummary>& simulated) {
  auto range = [&simulated](double RunSummary::* figure, int decimals) {
    if (simulated.size() < 2) return std::string();
    double low = simulated.front().*figure;
    double high = low;
    for (const RunSummary& run : simulated) {
      low = std::min(low, run.*figure);
      high = std::max(high, run.*figure);
    }
    char text[64];
    std::snprintf(text, sizeof text, "  %.*f..%.*f", decimals, low, decimals, high);
    return std::string(text);
  };
  auto line = [&](const char* what, double real, double RunSummary::* figure, int decimals,
                  bool relative) {
    const double sim = median_of(simulated, figure);
    char difference[32] = "";
    if (relative) {
      if (const auto d = relative_difference(real, sim)) {
        std::snprintf(difference, sizeof difference, "%+.1f %%", *d * 100);
      } else {
        std::snprintf(difference, sizeof difference, "(real 0)");
      }
    }
    char text[160];
    std::snprintf(text, sizeof text, "  %-20s %10.*f %11.*f %11s", what, decimals, real, decimals,
                  sim, difference);
    return std::string(text) + range(figure, decimals) + "\n";
  };
  const RunSummary rows = real_run_summary(replay);
  std::string out = "replay of " + replay.source + " (the real run against this simulation";
  if (simulated.size() > 1) {
    out += ": the median of " + std::to_string(simulated.size()) + " model seeds, and their range";
  }
  out += ")\n";
  out += "  " + std::string(20, ' ') + "       real   simulated  difference\n";
  out += line("violation-seconds", replay.real_violation_seconds, &RunSummary::violation_seconds, 0,
              true);
  out +=
      line("replica-seconds", replay.real_replica_seconds, &RunSummary::replica_seconds, 0, true);
  out += line("max lagSeconds", rows.max_lag_seconds, &RunSummary::max_lag_seconds, 1, false);
  out += line("max lag (msgs)", rows.max_lag, &RunSummary::max_lag, 0, false);
  return out;
}

}  // namespace lagpilot::sim
