#pragma once
// spdlog set-up for the operator: human-readable text on a terminal, one JSON object per line
// otherwise. Messages are written as "key=value ... free text"; the JSON form lifts the leading
// key=value pairs into fields (monitor, reconcile_id, ...).
#include <memory>
#include <string>

#include "tracing/tracer.h"

namespace lagpilot::operator_main {

// `tracer`: lines logged inside a sampled trace (a reconcile) carry its id, as the field trace_id
// in JSON and as "trace_id=<id>" before the message in text; nullptr: none.
void configure_logging(const std::string& level, const std::string& format,
                       std::shared_ptr<const tracing::Tracer> tracer = nullptr);

// Exposed for tests: the JSON line for one message; `trace_id` "": no trace_id field.
std::string json_log_line(const std::string& timestamp, const std::string& level,
                          const std::string& logger, const std::string& message,
                          const std::string& trace_id = "");

}  // namespace lagpilot::operator_main
