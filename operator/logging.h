#pragma once
// spdlog set-up for the operator: human-readable text on a terminal, one JSON object per line
// otherwise. Messages are written as "key=value ... free text"; the JSON form lifts the leading
// key=value pairs into fields (monitor, reconcile_id, ...).
#include <string>

namespace lagpilot::operator_main {

void configure_logging(const std::string& level, const std::string& format);

// Exposed for tests: the JSON line for one message.
std::string json_log_line(const std::string& timestamp, const std::string& level,
                          const std::string& logger, const std::string& message);

}  // namespace lagpilot::operator_main
