#include "alerts/condition.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace lagpilot::alerts {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 6> kOps{{{Op::kGreater, ">"},
                                                               {Op::kGreaterOrEqual, ">="},
                                                               {Op::kLess, "<"},
                                                               {Op::kLessOrEqual, "<="},
                                                               {Op::kEqual, "=="},
                                                               {Op::kNotEqual, "!="}}};

constexpr std::array<std::pair<Severity, std::string_view>, 5> kSeverities{
    {{Severity::kCritical, "critical"},
     {Severity::kHigh, "high"},
     {Severity::kMedium, "medium"},
     {Severity::kLow, "low"},
     {Severity::kInfo, "info"}}};

}  // namespace

std::optional<Op> parse_op(std::string_view text) {
  for (const auto& [op, spelling] : kOps) {
    if (spelling == text) return op;
  }
  return std::nullopt;
}

std::string_view to_string(Op op) {
  for (const auto& [known, spelling] : kOps) {
    if (known == op) return spelling;
  }
  return "?";
}

bool compare(double value, Op op, double threshold) {
  switch (op) {
    case Op::kGreater:
      return value > threshold;
    case Op::kGreaterOrEqual:
      return value >= threshold;
    case Op::kLess:
      return value < threshold;
    case Op::kLessOrEqual:
      return value <= threshold;
    case Op::kEqual:
      return value == threshold;
    case Op::kNotEqual:
      return value != threshold;
  }
  return false;
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (const auto& [severity, spelling] : kSeverities) {
    if (spelling == text) return severity;
  }
  return std::nullopt;
}

std::string_view to_string(Severity severity) {
  for (const auto& [known, spelling] : kSeverities) {
    if (known == severity) return spelling;
  }
  return "?";
}

Truth Condition::evaluate(const MetricValues& values) const {
  auto it = values.find(metric);
  if (it == values.end()) return Truth::kUnknown;
  return compare(it->second, op, threshold) ? Truth::kTrue : Truth::kFalse;
}

Truth Clause::evaluate(const MetricValues& values) const {
  Truth result = Truth::kTrue;
  for (const auto& condition : all_of) {
    Truth truth = condition.evaluate(values);
    if (truth == Truth::kFalse) return Truth::kFalse;
    if (truth == Truth::kUnknown) result = Truth::kUnknown;
  }
  return result;
}

std::string format_number(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "NaN" : (value > 0 ? "+Inf" : "-Inf");
  if (value == 0) return "0";  // also -0
  std::array<char, 512> buffer{};
  std::to_chars_result written =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  if (written.ec != std::errc()) {
    written = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  }
  return std::string(buffer.data(), written.ptr);
}

double round_significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return value;
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  const int decimals = digits - 1 - magnitude;
  return round_decimals(value, decimals);
}

double round_decimals(double value, int decimals) {
  if (!std::isfinite(value)) return value;
  if (decimals >= 0) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
  }
  const double scale = std::pow(10.0, -decimals);
  return std::round(value / scale) * scale;
}

}  // namespace lagpilot::alerts
