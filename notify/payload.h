#pragma once
// Notification bodies: the Alertmanager webhook JSON (version 4) and a Slack incoming-webhook
// message. Pure functions of their inputs.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "notify/notifier.h"

namespace lagpilot::notify {

// An alert as sent: full label set, annotations and identity.
struct AlertRecord {
  std::map<std::string, std::string> labels;  // alertname, severity, namespace, queuemonitor, ...
  std::map<std::string, std::string> annotations;  // summary, value
  Severity severity = Severity::kMedium;
  WallTime starts_at;
  std::optional<WallTime> ends_at;  // set once resolved
  std::string fingerprint;          // 16 hex digits over the labels (stable across polls)
};

AlertRecord make_alert_record(const MonitorAlerts& monitor, const Alert& alert);

// FNV-1a 64 over the sorted label names and values, as 16 lower-case hex digits.
std::string label_fingerprint(const std::map<std::string, std::string>& labels);

// One notification of one monitor to one receiver.
struct Notification {
  MonitorKey monitor;
  std::string receiver;
  std::vector<AlertRecord> firing;
  std::vector<AlertRecord> resolved;  // only when the receiver wants resolved notifications
};

// {"version":"4","groupKey":...,"status":"firing"|"resolved","receiver":...,"groupLabels":
//  {namespace, queuemonitor},"commonLabels":...,"commonAnnotations":...,"externalURL":...,
//  "truncatedAlerts":0,"alerts":[{status,labels,annotations,startsAt,endsAt,generatorURL,
//  fingerprint}]}. Firing alerts come first; endsAt of a firing alert is 0001-01-01T00:00:00Z.
nlohmann::json alertmanager_payload(const Notification& notification,
                                    const std::string& external_url);

// {"text": "[FIRING:2] QueueMonitor shop/orders: A (high), B (medium)", "attachments": [one per
// alert: color, title, text (the summary), fields, footer, ts]}.
nlohmann::json slack_payload(const Notification& notification, const std::string& external_url);

// The group key sent in Alertmanager payloads: lagpilot/<receiver>:{namespace="..",
// queuemonitor=".."}.
std::string group_key(const MonitorKey& monitor, const std::string& receiver);

}  // namespace lagpilot::notify
