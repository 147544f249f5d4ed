#include "sim/units.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "util/duration.h"

namespace lagpilot::sim {

std::optional<double> parse_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::vector<std::string> split_list(const std::string& text, char separator) {
  std::vector<std::string> items;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(separator, begin);
    items.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return items;
    begin = end + 1;
  }
}

std::optional<std::int64_t> parse_duration(const std::string& text) {
  const auto parsed = parse_rounded_seconds(text);
  if (!parsed) return std::nullopt;
  return parsed->count();
}

std::string format_duration(std::int64_t seconds) {
  if (seconds <= 0) return "0s";
  std::string text;
  const std::int64_t days = seconds / 86400;
  const std::int64_t hours = seconds % 86400 / 3600;
  const std::int64_t minutes = seconds % 3600 / 60;
  const std::int64_t rest = seconds % 60;
  if (days) text += std::to_string(days) + "d";
  if (hours) text += std::to_string(hours) + "h";
  if (minutes) text += std::to_string(minutes) + "m";
  if (rest) text += std::to_string(rest) + "s";
  return text;
}

}  // namespace lagpilot::sim
