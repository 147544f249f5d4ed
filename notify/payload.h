#pragma once
// Notification bodies: the Alertmanager webhook JSON (version 4), a Slack incoming-webhook
// message, the Alertmanager API v2 alert list (POST /api/v2/alerts) and PagerDuty Events API v2
// events. Pure functions of their inputs.
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
  // summary, value; runbook_url when the rule has a runbook_url (or an http(s) runbook) label;
  // monitor_url when the receiver has a monitorURL.
  std::map<std::string, std::string> annotations;
  Severity severity = Severity::kMedium;
  WallTime starts_at;
  std::optional<WallTime> ends_at;  // set once resolved
  std::string fingerprint;          // 16 hex digits over the labels (stable across polls)
};

// `monitor_url`: the receiver's monitorURL template ({namespace} and {name} replaced), or "".
AlertRecord make_alert_record(const MonitorAlerts& monitor, const Alert& alert,
                              const std::string& monitor_url = "");

// `url_template` with every {namespace} and {name} replaced by the monitor's.
std::string render_monitor_url(const std::string& url_template, const MonitorKey& monitor);

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

// POST /api/v2/alerts: [{labels, annotations, startsAt, endsAt, generatorURL?}], firing alerts
// with endsAt = now + ends_after (Alertmanager resolves them itself if they are not sent again),
// resolved ones with endsAt = when they resolved. generatorURL is the monitor_url annotation.
nlohmann::json alertmanager_api_payload(const Notification& notification, WallTime now,
                                        Duration ends_after);

// PagerDuty's four severities: critical -> critical, high -> error, medium -> warning,
// low and info -> info.
std::string_view pagerduty_severity(Severity severity);
// lagpilot/<namespace>/<queuemonitor>/<alertname>/<fingerprint> (at most 255 characters, else
// lagpilot/<fingerprint>): the same for an alert of a monitor across polls, restarts and
// replicas, so PagerDuty keeps one incident per alert.
std::string pagerduty_dedup_key(const AlertRecord& record);
// One Events API v2 event: a notification with one firing alert is a trigger ({routing_key,
// event_action, dedup_key, payload: {summary, source, severity, timestamp, component?, group,
// class, custom_details}, client, client_url?, links?}); one with a resolved alert a resolve
// ({routing_key, event_action, dedup_key}).
nlohmann::json pagerduty_event(const Notification& notification, const std::string& routing_key);

// The group key sent in Alertmanager payloads: lagpilot/<receiver>:{namespace="..",
// queuemonitor=".."}.
std::string group_key(const MonitorKey& monitor, const std::string& receiver);

}  // namespace lagpilot::notify
