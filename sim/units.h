#pragma once
// Durations and numbers as the simulator's flags and trace parameters spell them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lagpilot::sim {

// util/duration.h's parse_duration in the simulator's whole seconds, rounded to the nearest:
// "90", "90s", "20m", "2h", "1d", "1h30m", "1.5h". nullopt when malformed.
std::optional<std::int64_t> parse_duration(const std::string& text);
// 7200 -> "2h", 5400 -> "1h30m", 45 -> "45s", 0 -> "0s".
std::string format_duration(std::int64_t seconds);
// A finite number with nothing after it ("400", "0.1", "1e3"); nullopt otherwise.
std::optional<double> parse_number(const std::string& text);
// A non-negative integer ("24"); nullopt otherwise.
std::optional<std::int64_t> parse_count(const std::string& text);
// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {""}.
std::vector<std::string> split_list(const std::string& text, char separator);

}  // namespace lagpilot::sim
