#include "sim/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "sim/units.h"

namespace lagpilot::sim {
namespace {

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string percent(double part, double whole) {
  return whole > 0 ? fixed(100 * part / whole, 1) + " %" : "0 %";
}

}  // namespace

std::string thousands(double value) {
  const auto rounded = static_cast<long long>(std::llround(value));
  std::string digits = std::to_string(rounded < 0 ? -rounded : rounded);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return rounded < 0 ? "-" + out : out;
}

std::string format_oracle_bound(const OracleBound& bound) {
  if (!bound.feasible) return "no schedule meets the objective: " + bound.why_infeasible;
  return "no schedule with zero violations costs less than " + thousands(bound.replica_seconds) +
         " replica-seconds (" + thousands(bound.consuming_seconds) + " consuming + " +
         thousands(bound.startup_seconds) + " starting up; blocks of " +
         format_duration(bound.block_seconds) + ")";
}

std::string oracle_ratio(double replica_seconds, const std::optional<double>& bound) {
  if (!bound || *bound <= 0) return "-";
  return fixed(replica_seconds / *bound, 2) + "x";
}

void write_series_csv(std::ostream& out, const SimulationResult& result) {
  out << "time,arrivals,processed,lag,lagSeconds,replicasCurrent,replicasDesired,rebalancing\n";
  for (const SecondRecord& r : result.series) {
    out << r.time << ',' << fixed(r.arrivals, 1) << ',' << fixed(r.processed, 1) << ','
        << std::llround(r.lag) << ',' << fixed(r.lag_seconds, 2) << ',' << r.replicas_current << ','
        << r.replicas_desired << ',' << (r.rebalancing ? 1 : 0) << '\n';
  }
}

Status write_series_csv_file(const std::string& path, const SimulationResult& result) {
  std::ofstream out(path);
  if (!out) return Error{"WriteFailed", path + ": cannot write"};
  write_series_csv(out, result);
  out.flush();
  if (!out) return Error{"WriteFailed", path + ": write failed"};
  return ok_status();
}

Status write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) return Error{"WriteFailed", path + ": cannot write"};
  out << text;
  out.flush();
  if (!out) return Error{"WriteFailed", path + ": write failed"};
  return ok_status();
}

std::string format_summary(const SimulationResult& result) {
  const Summary& s = result.summary;
  std::string text;
  text += "  violation        " + thousands(static_cast<double>(s.violation_seconds)) + " s (" +
          percent(static_cast<double>(s.violation_seconds), static_cast<double>(s.duration)) +
          " of " + format_duration(static_cast<std::int64_t>(s.duration)) + ", lagSeconds > " +
          fixed(s.objective_seconds, 0) + " s)\n";
  const std::string versus_oracle =
      result.oracle_replica_seconds && *result.oracle_replica_seconds > 0
          ? oracle_ratio(s.replica_seconds, result.oracle_replica_seconds) + " the oracle bound " +
                thousands(*result.oracle_replica_seconds) + "; "
          : "";
  text += "  replica-seconds  " + thousands(s.replica_seconds) + " (" + versus_oracle + "mean " +
          fixed(s.mean_replicas, 2) + " replicas, peak " + std::to_string(s.peak_replicas) + ")\n";
  text += "  max lag          " + thousands(s.max_lag) + " msgs\n";
  text += "  max lagSeconds   " + fixed(s.max_lag_seconds, 1) + " s\n";
  text += "  scaling actions  " + std::to_string(s.scaling_actions) + " (" +
          std::to_string(s.scale_ups) + " up, " + std::to_string(s.scale_downs) + " down)\n";
  text += "  messages         " + thousands(s.arrived) + " arrived, " + thousands(s.processed) +
          " processed, " + thousands(s.final_lag) + " left\n";
  return text;
}

std::string format_results_table(const std::vector<SimulationResult>& results) {
  const bool oracle = std::any_of(results.begin(), results.end(), [](const SimulationResult& r) {
    return r.oracle_replica_seconds.has_value();
  });
  std::string text = "| trace | policy | violation s | replica-s | " +
                     std::string(oracle ? "vs oracle | " : "") +
                     "max lag | max lagSeconds | scaling actions |\n|---|---|---:|---:|" +
                     (oracle ? "---:|" : "") + "---:|---:|---:|\n";
  for (const SimulationResult& result : results) {
    const Summary& s = result.summary;
    std::string versus_oracle;
    if (oracle) {
      versus_oracle = result.oracle_replica_seconds && *result.oracle_replica_seconds > 0
                          ? oracle_ratio(s.replica_seconds, result.oracle_replica_seconds) +
                                " of " + thousands(*result.oracle_replica_seconds) + " | "
                          : "- | ";
    }
    text += "| " + result.trace + " | " + result.policy + " | " +
            thousands(static_cast<double>(s.violation_seconds)) + " | " +
            thousands(s.replica_seconds) + " | " + versus_oracle + thousands(s.max_lag) + " | " +
            fixed(s.max_lag_seconds, 1) + " | " + std::to_string(s.scaling_actions) + " |\n";
  }
  return text;
}

}  // namespace lagpilot::sim
