#include "notify/payload.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "util/hash.h"

namespace lagpilot::notify {
namespace {

constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";  // Alertmanager's "no end yet"

std::string format_value(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

nlohmann::json alert_json(const AlertRecord& record, bool firing, const std::string& external_url) {
  return nlohmann::json{
      {"status", firing ? "firing" : "resolved"},
      {"labels", record.labels},
      {"annotations", record.annotations},
      {"startsAt", format_rfc3339(record.starts_at)},
      {"endsAt", !firing && record.ends_at ? format_rfc3339(*record.ends_at) : kZeroTime},
      {"generatorURL", external_url},
      {"fingerprint", record.fingerprint},
  };
}

// The entries every map in `maps` has with the same value.
std::map<std::string, std::string> common_entries(
    const std::vector<const std::map<std::string, std::string>*>& maps) {
  if (maps.empty()) return {};
  std::map<std::string, std::string> common = *maps.front();
  for (const auto* map : maps) {
    for (auto it = common.begin(); it != common.end();) {
      auto found = map->find(it->first);
      if (found == map->end() || found->second != it->second) {
        it = common.erase(it);
      } else {
        ++it;
      }
    }
  }
  return common;
}

std::string alert_title(const AlertRecord& record) {
  auto name = record.labels.find("alertname");
  return (name == record.labels.end() ? std::string("alert") : name->second) + " (" +
         std::string(severity_name(record.severity)) + ")";
}

// Slack's mrkdwn needs &, < and > escaped.
std::string slack_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

const char* slack_color(Severity severity) {
  switch (severity) {
    case Severity::kCritical:
    case Severity::kHigh:
      return "danger";
    case Severity::kMedium:
      return "warning";
    case Severity::kLow:
    case Severity::kInfo:
      return "#439FE0";
  }
  return "warning";
}

bool is_http_url(const std::string& text) {
  return text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0;
}

// The rule's runbook_url label, else its runbook label when that is an http(s) URL.
std::optional<std::string> runbook_url(const std::map<std::string, std::string>& labels) {
  if (auto url = labels.find("runbook_url"); url != labels.end() && !url->second.empty()) {
    return url->second;
  }
  if (auto url = labels.find("runbook"); url != labels.end() && is_http_url(url->second)) {
    return url->second;
  }
  return std::nullopt;
}

std::string label_or(const AlertRecord& record, const std::string& name,
                     const std::string& fallback) {
  auto found = record.labels.find(name);
  return found == record.labels.end() ? fallback : found->second;
}

int64_t epoch_seconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::optional<Severity> parse_severity(std::string_view name) {
  if (name == "critical") return Severity::kCritical;
  if (name == "high") return Severity::kHigh;
  if (name == "medium") return Severity::kMedium;
  if (name == "low") return Severity::kLow;
  if (name == "info") return Severity::kInfo;
  return std::nullopt;
}

std::string_view severity_name(Severity severity) {
  switch (severity) {
    case Severity::kCritical:
      return "critical";
    case Severity::kHigh:
      return "high";
    case Severity::kMedium:
      return "medium";
    case Severity::kLow:
      return "low";
    case Severity::kInfo:
      return "info";
  }
  return "medium";
}

std::string label_fingerprint(const std::map<std::string, std::string>& labels) {
  uint64_t hash = kFnv1a64Offset;
  auto mix = [&hash](const std::string& text) {
    hash = fnv1a64("\xff", fnv1a64(text, hash));  // 0xff separates, as in Prometheus' signatures
  };
  for (const auto& [name, value] : labels) {  // std::map: sorted by name
    mix(name);
    mix(value);
  }
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(hash));
  return buffer;
}

std::string render_monitor_url(const std::string& url_template, const MonitorKey& monitor) {
  std::string out = url_template;
  auto replace_all = [&out](const std::string& from, const std::string& to) {
    for (auto pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos + to.size()))
      out.replace(pos, from.size(), to);
  };
  replace_all("{namespace}", monitor.namespace_name);
  replace_all("{name}", monitor.name);
  return out;
}

AlertRecord make_alert_record(const MonitorAlerts& monitor, const Alert& alert,
                              const std::string& monitor_url) {
  AlertRecord record;
  record.labels = alert.labels;
  for (const auto& [name, value] : monitor.labels) record.labels[name] = value;
  record.labels["alertname"] = alert.name;
  record.labels["severity"] = std::string(severity_name(alert.severity));
  record.labels["namespace"] = monitor.monitor.namespace_name;
  record.labels["queuemonitor"] = monitor.monitor.name;
  record.annotations["summary"] = alert.summary.empty() ? alert.name : alert.summary;
  if (alert.value) record.annotations["value"] = format_value(*alert.value);
  if (auto runbook = runbook_url(alert.labels)) record.annotations["runbook_url"] = *runbook;
  if (!monitor_url.empty()) {
    record.annotations["monitor_url"] = render_monitor_url(monitor_url, monitor.monitor);
  }
  record.severity = alert.severity;
  record.starts_at = alert.since;
  record.fingerprint = label_fingerprint(record.labels);
  return record;
}

std::string group_key(const MonitorKey& monitor, const std::string& receiver) {
  return "lagpilot/" + receiver + ":{namespace=\"" + monitor.namespace_name +
         "\", queuemonitor=\"" + monitor.name + "\"}";
}

nlohmann::json alertmanager_payload(const Notification& notification,
                                    const std::string& external_url) {
  nlohmann::json alerts = nlohmann::json::array();
  std::vector<const std::map<std::string, std::string>*> labels;
  std::vector<const std::map<std::string, std::string>*> annotations;
  for (const auto& record : notification.firing) {
    alerts.push_back(alert_json(record, true, external_url));
    labels.push_back(&record.labels);
    annotations.push_back(&record.annotations);
  }
  for (const auto& record : notification.resolved) {
    alerts.push_back(alert_json(record, false, external_url));
    labels.push_back(&record.labels);
    annotations.push_back(&record.annotations);
  }
  return nlohmann::json{
      {"version", "4"},
      {"groupKey", group_key(notification.monitor, notification.receiver)},
      {"truncatedAlerts", 0},
      {"status", notification.firing.empty() ? "resolved" : "firing"},
      {"receiver", notification.receiver},
      {"groupLabels",
       {{"namespace", notification.monitor.namespace_name},
        {"queuemonitor", notification.monitor.name}}},
      {"commonLabels", common_entries(labels)},
      {"commonAnnotations", common_entries(annotations)},
      {"externalURL", external_url},
      {"alerts", alerts},
  };
}

nlohmann::json alertmanager_api_payload(const Notification& notification, WallTime now,
                                        Duration ends_after) {
  nlohmann::json alerts = nlohmann::json::array();
  auto add = [&](const AlertRecord& record, WallTime ends_at) {
    nlohmann::json item{
        {"labels", record.labels},
        {"annotations", record.annotations},
        {"startsAt", format_rfc3339(record.starts_at)},
        {"endsAt", format_rfc3339(ends_at)},
    };
    if (auto link = record.annotations.find("monitor_url"); link != record.annotations.end()) {
      item["generatorURL"] = link->second;
    }
    alerts.push_back(std::move(item));
  };
  for (const auto& record : notification.firing) add(record, now + ends_after);
  for (const auto& record : notification.resolved) add(record, record.ends_at.value_or(now));
  return alerts;
}

std::string_view pagerduty_severity(Severity severity) {
  switch (severity) {
    case Severity::kCritical:
      return "critical";
    case Severity::kHigh:
      return "error";
    case Severity::kMedium:
      return "warning";
    case Severity::kLow:
    case Severity::kInfo:
      return "info";
  }
  return "warning";
}

std::string pagerduty_dedup_key(const AlertRecord& record) {
  std::string key = "lagpilot/" + label_or(record, "namespace", "") + "/" +
                    label_or(record, "queuemonitor", "") + "/" + label_or(record, "alertname", "") +
                    "/" + record.fingerprint;
  if (key.size() > 255) key = "lagpilot/" + record.fingerprint;
  return key;
}

nlohmann::json pagerduty_event(const Notification& notification, const std::string& routing_key) {
  const bool trigger = !notification.firing.empty();
  const AlertRecord& record = trigger ? notification.firing.front() : notification.resolved.front();
  nlohmann::json event{
      {"routing_key", routing_key},
      {"event_action", trigger ? "trigger" : "resolve"},
      {"dedup_key", pagerduty_dedup_key(record)},
  };
  if (!trigger) return event;
  std::string summary = record.annotations.count("summary") != 0
                            ? record.annotations.at("summary")
                            : label_or(record, "alertname", "alert");
  summary = "[" + std::string(severity_name(record.severity)) + "] " + notification.monitor.str() +
            ": " + summary;
  if (summary.size() > 1024) summary.resize(1024);  // the API's limit
  nlohmann::json custom_details = nlohmann::json::object();
  for (const auto& [name, value] : record.labels) custom_details[name] = value;
  for (const auto& [name, value] : record.annotations) custom_details[name] = value;
  nlohmann::json payload{
      {"summary", summary},
      {"source", "queuemonitor/" + notification.monitor.str()},
      {"severity", pagerduty_severity(record.severity)},
      {"timestamp", format_rfc3339(record.starts_at)},
      {"group", notification.monitor.namespace_name},
      {"class", label_or(record, "alertname", "alert")},
      {"custom_details", custom_details},
  };
  for (const char* component : {"topic", "queue", "stream"}) {
    if (auto value = record.labels.find(component); value != record.labels.end()) {
      payload["component"] = value->second;
      break;
    }
  }
  event["payload"] = std::move(payload);
  event["client"] = "lagpilot";
  nlohmann::json links = nlohmann::json::array();
  if (auto link = record.annotations.find("monitor_url"); link != record.annotations.end()) {
    event["client_url"] = link->second;
    links.push_back(
        {{"href", link->second}, {"text", "QueueMonitor " + notification.monitor.str()}});
  }
  if (auto link = record.annotations.find("runbook_url"); link != record.annotations.end()) {
    links.push_back({{"href", link->second}, {"text", "Runbook"}});
  }
  if (!links.empty()) event["links"] = std::move(links);
  return event;
}

nlohmann::json slack_payload(const Notification& notification, const std::string& external_url) {
  const std::string monitor = notification.monitor.str();
  std::string text;
  auto names = [](const std::vector<AlertRecord>& records, bool with_severity) {
    std::string out;
    for (const auto& record : records) {
      if (!out.empty()) out += ", ";
      if (with_severity) {
        out += alert_title(record);
      } else {
        auto name = record.labels.find("alertname");
        out += name == record.labels.end() ? std::string("alert") : name->second;
      }
    }
    return out;
  };
  if (!notification.firing.empty()) {
    text = "[FIRING:" + std::to_string(notification.firing.size()) + "] QueueMonitor " + monitor +
           ": " + names(notification.firing, true);
    if (!notification.resolved.empty())
      text += "; resolved: " + names(notification.resolved, false);
  } else {
    text = "[RESOLVED] QueueMonitor " + monitor + ": " + names(notification.resolved, false);
  }

  nlohmann::json attachments = nlohmann::json::array();
  auto attachment = [&](const AlertRecord& record, bool firing) {
    const std::string summary =
        record.annotations.count("summary") != 0 ? record.annotations.at("summary") : std::string();
    const std::string title =
        std::string(firing ? "[FIRING] " : "[RESOLVED] ") + alert_title(record);
    nlohmann::json fields = nlohmann::json::array();
    fields.push_back(
        {{"title", "since"}, {"value", format_rfc3339(record.starts_at)}, {"short", true}});
    if (!firing && record.ends_at) {
      fields.push_back(
          {{"title", "resolved"}, {"value", format_rfc3339(*record.ends_at)}, {"short", true}});
    }
    if (auto value = record.annotations.find("value"); value != record.annotations.end()) {
      fields.push_back({{"title", "value"}, {"value", value->second}, {"short", true}});
    }
    nlohmann::json item{
        {"color", firing ? slack_color(record.severity) : "good"},
        {"fallback", slack_escape(title + ": " + summary)},
        {"title", slack_escape(title)},
        {"text", slack_escape(summary)},
        {"fields", fields},
        {"footer", "lagpilot " + monitor},
        {"ts", epoch_seconds(!firing && record.ends_at ? *record.ends_at : record.starts_at)},
    };
    if (!external_url.empty()) item["title_link"] = external_url;
    attachments.push_back(std::move(item));
  };
  for (const auto& record : notification.firing) attachment(record, true);
  for (const auto& record : notification.resolved) attachment(record, false);
  return nlohmann::json{{"text", slack_escape(text)}, {"attachments", attachments}};
}

}  // namespace lagpilot::notify
