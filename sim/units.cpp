#include "sim/units.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

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
  if (text.empty()) return std::nullopt;
  if (auto plain = parse_number(text)) {
    if (*plain < 0) return std::nullopt;
    return static_cast<std::int64_t>(std::llround(*plain));
  }
  double total = 0;
  std::size_t position = 0;
  while (position < text.size()) {
    std::size_t end = position;
    while (end < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) {
      ++end;
    }
    if (end == position || end == text.size()) return std::nullopt;
    const auto number = parse_number(text.substr(position, end - position));
    if (!number) return std::nullopt;
    double unit = 0;
    switch (text[end]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    total += *number * unit;
    position = end + 1;
  }
  if (total > 1e12) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(total));
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
