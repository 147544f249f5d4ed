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

// How to reach an HTTP API: an Authorization header value and a CA bundle, from a Secret. Never
// logged.
struct HttpCredentials {
  std::string authorization;  // "Bearer <token>" or "Basic <base64>"; empty: none
  std::string ca_pem;         // trusted besides the system roots; empty: system roots only
  auto operator<=>(const HttpCredentials&) const = default;
};

// spec.notifications.alertmanagers[]: alerts pushed to each URL's POST /api/v2/alerts the way
// Prometheus does: every firing alert re-sent every resend interval (and on every change) with
// endsAt = now + 4 x max(resend interval, the monitor's poll interval), a resolved one once with
// endsAt = when it resolved. Each URL is delivered to independently (an HA pair: both).
struct AlertmanagerTarget {
  std::string name;
  std::vector<std::string> urls;  // base URLs, e.g. http://alertmanager:9093
  HttpCredentials credentials;
  std::chrono::seconds resend_interval{60};
  Severity min_severity = Severity::kInfo;
  std::string monitor_url;  // template with {namespace} and {name}; empty: no link
};

// spec.notifications.pagerduty[]: PagerDuty Events API v2, one trigger per firing alert and one
// resolve when it stops, with a dedup_key stable per monitor and alert.
struct PagerDutyTarget {
  std::string name;
  std::string routing_key;  // the integration key, from a Secret; never logged
  std::string url = "https://events.pagerduty.com/v2/enqueue";
  HttpCredentials credentials;  // ca_pem only (a proxy with a private CA); no Authorization
  bool send_resolved = true;
  std::chrono::seconds repeat_interval{14400};  // a still-firing alert is triggered again
  Severity min_severity = Severity::kInfo;
  std::string monitor_url;  // template with {namespace} and {name}; empty: no link
};

// Every receiver of one monitor. Names are unique across the three lists.
struct Receivers {
  std::vector<WebhookReceiver> webhooks;
  std::vector<AlertmanagerTarget> alertmanagers;
  std::vector<PagerDutyTarget> pagerduty;
  bool empty() const { return size() == 0; }
  std::size_t size() const { return webhooks.size() + alertmanagers.size() + pagerduty.size(); }
};

// What a webhook receiver was last told about a monitor: kept in the QueueMonitor's status
// (status.webhookDeliveries) so that a restarted operator, or another replica, does not announce
// the same firing alerts again before the receiver's repeat interval.
struct WebhookDelivery {
  std::string receiver;
  WallTime delivered_at;
  std::vector<std::string> firing;  // fingerprints of the alerts firing in it, sorted
  bool operator==(const WebhookDelivery&) const = default;
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  // The monitor's current firing alerts and its receivers, every poll (also when nothing fires,
  // so resolutions are seen). Only compares with what each receiver was last told and queues
  // what has to be sent: never blocks on the network. Receivers missing from `receivers` are
  // forgotten without a notification.
  virtual void notify(const MonitorAlerts& alerts, const Receivers& receivers) = 0;
  void notify(const MonitorAlerts& alerts, const std::vector<WebhookReceiver>& webhooks) {
    notify(alerts, Receivers{webhooks, {}, {}});
  }
  // The monitor was deleted: its firing alerts are sent as resolved to receivers with
  // sendResolved (Alertmanagers: always), then its state is forgotten.
  virtual void remove_monitor(const MonitorKey& monitor) = 0;
  // The monitor's webhook receivers' last delivered notifications that still had firing alerts,
  // by receiver name; with what restore_webhook_deliveries() gave and no notify() has taken up.
  virtual std::vector<WebhookDelivery> webhook_deliveries(const MonitorKey& monitor) const {
    (void)monitor;
    return {};
  }
  // Before the monitor's first notify() in this process: what its webhook receivers were told by
  // the process before. An alert that still fires and was in a delivery counts as delivered then,
  // so it is neither announced again nor repeated before the receiver's repeat interval.
  virtual void restore_webhook_deliveries(const MonitorKey& monitor,
                                          const std::vector<WebhookDelivery>& deliveries) {
    (void)monitor;
    (void)deliveries;
  }
};

}  // namespace lagpilot::notify
