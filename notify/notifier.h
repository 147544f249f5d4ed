#pragma once
// Alert notifications. The controller hands a Notifier each monitor's currently firing alerts
// every poll; the notifier works out what each receiver has to be told (new alerts, resolved
// ones, repeats) and delivers it in the background. notify() never waits on the network.
#include <chrono>
#include <compare>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.h"

namespace lagpilot::notify {

// Ordered most to least severe: a receiver with minSeverity s gets alerts with severity <= s.
enum class Severity { kCritical = 0, kHigh = 1, kMedium = 2, kLow = 3, kInfo = 4 };

std::optional<Severity> parse_severity(std::string_view name);  // "critical" ... "info"
std::string_view severity_name(Severity severity);

struct MonitorKey {
  std::string namespace_name;
  std::string name;
  auto operator<=>(const MonitorKey&) const = default;
  std::string str() const { return namespace_name + "/" + name; }
};

// One firing alert as the alert evaluator sees it.
struct Alert {
  std::string name;                           // rule name; sent as label alertname
  Severity severity = Severity::kMedium;      // sent as label severity
  std::map<std::string, std::string> labels;  // the rule's extra labels (spec.alerts[].labels)
  std::string summary;                        // rendered summary; annotation summary
  std::optional<double> value;                // the metric at the last poll; annotation value
  WallTime since;                             // when it started firing; startsAt
};

// A monitor's alert state at one poll.
struct MonitorAlerts {
  MonitorKey monitor;
  // Added to every alert's labels, e.g. {"topic": "orders"}. alertname, severity, namespace and
  // queuemonitor are always set by the notifier and win over rule and monitor labels.
  std::map<std::string, std::string> labels;
  std::vector<Alert> firing;  // every alert firing now (not pending ones); empty: none
};

enum class WebhookFormat { kAlertmanager, kSlack };

// spec.notifications.webhooks[] with the URL read from its Secret.
struct WebhookReceiver {
  std::string name;
  std::string url;  // from the Secret: may embed a token, never logged
  WebhookFormat format = WebhookFormat::kAlertmanager;
  std::chrono::seconds repeat_interval{14400};
  bool send_resolved = true;
  Severity min_severity = Severity::kInfo;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // The monitor's current firing alerts and its receivers, every poll (also when nothing fires,
  // so resolutions are seen). Only compares with what each receiver was last told and queues
  // what has to be sent: never blocks on the network. Receivers missing from `receivers` are
  // forgotten without a notification.
  virtual void notify(const MonitorAlerts& alerts,
                      const std::vector<WebhookReceiver>& receivers) = 0;
  // The monitor was deleted: its firing alerts are sent as resolved to receivers with
  // sendResolved, then its state is forgotten.
  virtual void remove_monitor(const MonitorKey& monitor) = 0;
};

}  // namespace lagpilot::notify
