#include "scaler/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lagpilot::scaler {

std::string format_count(std::int64_t value) {
  // Via unsigned so that INT64_MIN negates without overflow.
  const bool negative = value < 0;
  std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(value) : value;
  std::string digits = std::to_string(magnitude);
  std::string grouped;
  grouped.reserve(digits.size() + digits.size() / 3 + 1);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return negative ? "-" + grouped : grouped;
}

std::string format_amount(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  const double magnitude = std::fabs(value);
  if (magnitude >= 100) {
    return format_count(std::llround(std::clamp(value, -9e18, 9e18)));  // stay in int64 range
  }
  const int decimals = magnitude >= 10 ? 1 : 2;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text = buffer;
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  if (text == "-0") text = "0";
  return text;
}

}  // namespace lagpilot::scaler
