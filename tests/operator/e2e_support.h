#pragma once
// What the operator end-to-end tests read back with kubectl: the consumer Deployment's replicas
// and the QueueMonitor's status (the scenarios name them order-consumer and orders).
#include <nlohmann/json.hpp>
#include <string>

#include "controlplane/test_support.h"

namespace lagpilot::testkit {

// spec.replicas of Deployment `name` in `ns`; -1 when it cannot be read.
inline int deployment_replicas(const std::string& ns, const std::string& name = "order-consumer") {
  auto out = controlplane::kubectl("get deployment " + name + " -n " + ns +
                                   " -o jsonpath={.spec.replicas}");
  try {
    return out.exit_code == 0 ? std::stoi(out.output) : -1;
  } catch (...) {
    return -1;
  }
}

// .status of QueueMonitor `name` in `ns`; an empty object when it cannot be read.
inline nlohmann::json monitor_status(const std::string& ns, const std::string& name = "orders") {
  auto out = controlplane::kubectl("get qm " + name + " -n " + ns + " -o json");
  if (out.exit_code != 0) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(out.output, nullptr, false);
  return parsed.is_discarded() ? nlohmann::json::object()
                               : parsed.value("status", nlohmann::json::object());
}

}  // namespace lagpilot::testkit
