#pragma once
// spec of a QueueMonitor (lagpilot.io/v1alpha1), parsed and checked. The CRD schema rejects most
// bad input with a 422; this catches the rest (and specs that bypassed the schema) with an error
// naming the field. spec.source and spec.latency are checked here only for shape (one member, an
// object); each member is checked by its source kind (sources/source_registry.h).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "scaler/spec.h"
#include "util/result.h"

namespace lagpilot::api {

struct TargetRef {
  std::string api_version;
  std::string kind;
  std::string name;
};

// spec.scaling.onDelete: what happens to the target's replicas when the monitor is deleted.
enum class OnDelete {
  kKeep,     // left as they are (default)
  kRestore,  // set back to status.originalReplicas (a finalizer holds the deletion until then)
};

struct QueueMonitorSpec {
  std::string source_kind;  // the one member of spec.source, its kind
  nlohmann::json source;    // spec.source.<kind>, as written
  int poll_interval_seconds = 10;
  TargetRef target;
  scaler::ScalingSpec scaling;
  OnDelete on_delete = OnDelete::kKeep;  // spec.scaling.onDelete
  nlohmann::json latency;                // spec.latency, null when absent
  nlohmann::json alerts;                 // spec.alerts (array), evaluated by the alerts module
  nlohmann::json slos;                   // spec.slos (array)
  nlohmann::json notifications;          // spec.notifications, null when absent
  std::string alerts_preset = "none";
};

// `spec` is the object's .spec. Error code "InvalidSpec"; the message starts with the field path,
// e.g. "spec.scaling.maxReplicas: must be >= minReplicas (3)".
Result<QueueMonitorSpec> parse_queue_monitor_spec(const nlohmann::json& spec);

// What the operator needs beyond a well-formed spec (`lagpilot simulate` models latency itself
// and does not): depthLatency needs spec.latency, without which it could only ever hold.
Status check_spec_for_operator(const QueueMonitorSpec& spec);

}  // namespace lagpilot::api
