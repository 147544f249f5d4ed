#include "util/duration.h"

#include <cmath>
#include <optional>

namespace lagpilot {
namespace {

constexpr double kMaxMilliseconds = 1e15;  // 10^12 s

Error not_a_duration(std::string_view text) {
  return Error{"InvalidDuration",
               "\"" + std::string(text) + "\" is not a duration (e.g. 20s, 2m, 1m30s)"};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Digits with at most one '.', at least one digit: "90", "1.5", ".5", "2.".
std::optional<double> decimal(std::string_view text) {
  double value = 0;
  double scale = 0;  // 0 before the '.', then 0.1, 0.01, ...
  bool any_digit = false;
  for (char c : text) {
    if (c == '.') {
      if (scale != 0) return std::nullopt;
      scale = 1;
      continue;
    }
    if (!is_digit(c)) return std::nullopt;
    any_digit = true;
    if (scale == 0) {
      value = value * 10 + (c - '0');
    } else {
      scale /= 10;
      value += (c - '0') * scale;
    }
  }
  if (!any_digit) return std::nullopt;
  return value;
}

std::optional<double> unit_milliseconds(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s") return 1e3;
  if (unit == "m") return 60e3;
  if (unit == "h") return 3600e3;
  if (unit == "d") return 86400e3;
  return std::nullopt;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return not_a_duration(text);
  double total = 0;
  if (auto plain = decimal(text)) {
    total = *plain * 1e3;
  } else {
    std::size_t position = 0;
    while (position < text.size()) {
      std::size_t unit_start = position;
      while (unit_start < text.size() && (is_digit(text[unit_start]) || text[unit_start] == '.')) {
        ++unit_start;
      }
      std::size_t unit_end = unit_start;
      while (unit_end < text.size() && !is_digit(text[unit_end]) && text[unit_end] != '.') {
        ++unit_end;
      }
      const auto number = decimal(text.substr(position, unit_start - position));
      const auto unit = unit_milliseconds(text.substr(unit_start, unit_end - unit_start));
      if (!number || !unit) return not_a_duration(text);
      total += *number * *unit;
      position = unit_end;
    }
  }
  if (total > kMaxMilliseconds) return not_a_duration(text);
  return std::chrono::milliseconds(std::llround(total));
}

Result<std::chrono::seconds> parse_whole_seconds(std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) return parsed.error();
  if (parsed->count() % 1000 != 0) {
    return Error{"InvalidDuration",
                 "\"" + std::string(text) + "\" is not a whole number of seconds"};
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*parsed);
}

Result<std::chrono::seconds> parse_rounded_seconds(std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) return parsed.error();
  return std::chrono::seconds((parsed->count() + 500) / 1000);
}

}  // namespace lagpilot
