#pragma once
// The local control plane's audit log (one JSON event a line, controlplane's audit policy), as the
// operator's fail-over and sharding tests read it to tell which process wrote what, and when the
// server received it. A test derives its record type from AuditEvent to add what counts as a write
// for it.
#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/test_environment.h"
#include "util/clock.h"

namespace lagpilot::testkit {

// One request as the API server's audit log recorded it.
struct AuditEvent {
  std::string verb;
  std::string user;
  std::string resource;
  std::string subresource;
  std::string name;
  std::string user_agent;
  int code = 0;
  WallTime received;

  bool is_scale_patch() const {
    return resource == "deployments" && subresource == "scale" && verb == "patch" &&
           code / 100 == 2;
  }
  std::string describe() const {
    return verb + " " + resource + (subresource.empty() ? "" : "/" + subresource) + " " + name +
           " by " + user + " -> " + std::to_string(code) + " at " + format_rfc3339_micro(received);
  }
};

// The records (completed requests) about objects in `ns`, in the order the server received them.
template <typename Record>
std::vector<Record> audit_records(const std::string& ns) {
  using nlohmann::json;
  std::ifstream in(controlplane::ControlPlaneEnvironment::plane()->audit_log_path());
  std::vector<Record> records;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(ns) == std::string::npos) continue;
    auto event = json::parse(line, nullptr, false);
    if (event.is_discarded() || event.value("stage", "") != "ResponseComplete") continue;
    const json ref = event.value("objectRef", json::object());
    if (ref.value("namespace", "") != ns) continue;
    Record record;
    record.verb = event.value("verb", "");
    record.user = event.value(json::json_pointer("/user/username"), "");
    record.resource = ref.value("resource", "");
    record.subresource = ref.value("subresource", "");
    record.name = ref.value("name", "");
    record.user_agent = event.value("userAgent", "");
    record.code = event.value(json::json_pointer("/responseStatus/code"), 0);
    auto received = parse_rfc3339(event.value("requestReceivedTimestamp", ""));
    if (!received) continue;
    record.received = *received;
    records.push_back(record);
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const Record& a, const Record& b) { return a.received < b.received; });
  return records;
}

}  // namespace lagpilot::testkit
