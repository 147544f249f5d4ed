#pragma once
// Comparisons of a metric against a threshold, the severities, and the three-valued logic rules
// are evaluated with: a condition on a metric that is unknown this poll is itself unknown.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/metric_sample.h"

namespace lagpilot::alerts {

enum class Op { kGreater, kGreaterOrEqual, kLess, kLessOrEqual, kEqual, kNotEqual };

// CRD spellings: > >= < <= == !=.
std::optional<Op> parse_op(std::string_view text);
std::string_view to_string(Op op);
bool compare(double value, Op op, double threshold);

// Most severe first; the order notifications.webhooks[].minSeverity uses.
enum class Severity { kCritical, kHigh, kMedium, kLow, kInfo };

// CRD spellings: critical, high, medium, low, info.
std::optional<Severity> parse_severity(std::string_view text);
std::string_view to_string(Severity severity);

enum class Truth { kFalse, kTrue, kUnknown };

// <metric> <op> <threshold>.
struct Condition {
  std::string metric;
  Op op = Op::kGreater;
  double threshold = 0;

  // kUnknown when the metric has no value.
  Truth evaluate(const MetricValues& values) const;
};

// Every condition holds (Kleene AND: false wins over unknown).
struct Clause {
  std::vector<Condition> all_of;

  Truth evaluate(const MetricValues& values) const;
};

// Numbers in summaries and reasons: fixed notation, shortest round trip ("48200", "0.42").
std::string format_number(double value);
// `value` rounded to `digits` significant digits (48213 -> 48200 with 3), so that reported values
// do not change every poll from small fluctuations.
double round_significant(double value, int digits);
// `value` rounded to `decimals` decimal places.
double round_decimals(double value, int decimals);

}  // namespace lagpilot::alerts
