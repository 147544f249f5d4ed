#include <cctype>
#include <cstdio>
#include <ctime>

#include "util/clock.h"

namespace lagpilot {

std::string format_rfc3339(WallTime t) {
  std::time_t seconds =
      std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string format_rfc3339_micro(WallTime t) {
  auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(t);
  if (seconds > t) seconds -= std::chrono::seconds(1);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t - seconds).count();
  std::string whole = format_rfc3339(seconds);
  char fraction[32];
  std::snprintf(fraction, sizeof fraction, ".%06ldZ", static_cast<long>(micros));
  return whole.substr(0, whole.size() - 1) + fraction;
}

std::optional<WallTime> parse_rfc3339(const std::string& text) {
  std::tm parts{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &parts.tm_year, &parts.tm_mon,
                  &parts.tm_mday, &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  std::size_t pos = static_cast<std::size_t>(consumed);
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    std::size_t end = pos + 1;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
    std::string digits = "0";
    digits.append(text, pos, end - pos);
    fraction = std::stod(digits);
    pos = end;
  }
  long offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int hours = 0, minutes = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &hours, &minutes) != 2) return std::nullopt;
    offset_seconds = (hours * 3600L + minutes * 60L) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  std::time_t seconds = timegm(&parts);
  if (seconds == -1) return std::nullopt;
  auto t = std::chrono::system_clock::from_time_t(seconds - offset_seconds);
  return t +
         std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(fraction));
}

}  // namespace lagpilot
