#pragma once
// What a run produces for people: the per-second CSV, a summary, and a comparison table.
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/oracle.h"
#include "sim/simulation.h"
#include "util/result.h"

namespace lagpilot::sim {

// Header "time,arrivals,processed,lag,lagSeconds,replicasCurrent,replicasDesired,rebalancing";
// one row per simulated second (see SecondRecord).
void write_series_csv(std::ostream& out, const SimulationResult& result);
Status write_series_csv_file(const std::string& path, const SimulationResult& result);
Status write_text_file(const std::string& path, const std::string& text);

// Several lines: violation-seconds, replica-seconds (with oracle_replica_seconds: as a multiple of
// it, "85,370 (1.31x the oracle bound 65,100; ...)"), max lag, max lagSeconds, scaling actions.
std::string format_summary(const SimulationResult& result);

// A Markdown table, one row per result: trace, policy, violation s, replica-s, max lag, max
// lagSeconds, scaling actions; when some result has oracle_replica_seconds, a "vs oracle" column
// after replica-s ("1.31x of 65,100", "-" without one).
std::string format_results_table(const std::vector<SimulationResult>& results);

// 1234567 -> "1,234,567" (rounded).
std::string thousands(double value);

// One line on the oracle bound: "no schedule with zero violations costs less than 64,847
// replica-seconds (64,650 consuming + 197 starting up; blocks of 4s)", or "no schedule meets the
// objective: <why>".
std::string format_oracle_bound(const OracleBound& bound);

// replica-seconds / bound as "1.31x" ("-" without a positive bound).
std::string oracle_ratio(double replica_seconds, const std::optional<double>& bound);

}  // namespace lagpilot::sim
