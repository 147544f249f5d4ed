#pragma once
// The QueueMonitor's status, built from the one the object has. Each setter owns its fields and
// their JSON keys (docs/api.md, crds/queuemonitor.yaml); the controller never writes raw keys.
// build() gives the new status; what to write is decided by comparing it with the old one:
//   unchanged()            nothing but lastPollTime differs: write nothing;
//   only_running_figures() metric values, SLO figures and alert values moved, nothing else: the
//                          passing of time, written at most every metrics_status_interval.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controllers/conditions.h"
#include "notify/notifier.h"
#include "scaler/engine.h"
#include "sources/queue_source.h"
#include "util/clock.h"

namespace lagpilot::controllers {

class StatusBuilder {
 public:
  StatusBuilder(nlohmann::json old_status, std::int64_t generation, WallTime now);

  // status.metrics from a successful poll (replacing the queue figures and lastPollTime).
  // Without one, the last good metrics stay (their lastPollTime says how old they are).
  void queue_metrics(const QueueSnapshot& snapshot);
  // status.metrics.latency {name: seconds} (and latencyP95Seconds under its default name).
  void latency(const std::string& metric_name, double seconds);
  void no_latency();

  void set(const Condition& condition);
  void remove(const std::string& condition_type);
  // True when `condition` differs in status or reason from what the old status has: a change worth
  // an Event (a failure that persists is no news).
  bool is_news(const Condition& condition) const;

  // The alerting fields (alerts, alertHistory, slos, health, healthReasons), as
  // MonitorAlerting::status_json gives them.
  void alerting(const nlohmann::json& fields);
  // Health without an evaluation (invalid spec, missing target).
  void health_unknown(const std::string& reason);

  // A scalingHistory entry, newest first, at most `history_limit`; `dry_run` entries record what
  // DryRun mode would have done. An applied change also sets lastScaleTime.
  void scaling_history(const scaler::Decision& decision, bool dry_run, int history_limit);
  void replicas(int current, int desired);
  // A scalingHistory entry that is no decision of the scaling engine: `by` is "external" (the
  // replicas changed outside lagpilot) or "pausedReplicas" (the annotation's pin, applied: it
  // sets lastScaleTime).
  void history_entry(int from, int to, const std::string& by, const std::string& reason,
                     int history_limit);
  // status.originalReplicas: the target's replicas before this monitor took it (nullopt: none).
  void original_replicas(std::optional<int> replicas);
  std::optional<int> original_replicas() const;

  // status.webhookDeliveries: each webhook receiver's last delivered notification with firing
  // alerts (Notifier::webhook_deliveries), so a restarted operator or another replica does not
  // announce them again. None: the key goes.
  void webhook_deliveries(const std::vector<notify::WebhookDelivery>& deliveries);
  // What status.webhookDeliveries recorded; entries that do not parse are skipped.
  std::vector<notify::WebhookDelivery> webhook_deliveries() const;

  nlohmann::json build() const;
  const nlohmann::json& old_status() const { return old_status_; }
  bool unchanged() const;
  bool only_running_figures() const;

 private:
  nlohmann::json old_status_;
  nlohmann::json status_;
  nlohmann::json conditions_;
  std::int64_t generation_;
  WallTime now_;
};

// status without what changes with every poll while nothing happens: metric values (which
// metrics are known stays), the SLOs' running figures and buckets, and the values and summaries
// of active alerts. Two statuses equal under this differ only by the passing of time.
nlohmann::json without_running_figures(nlohmann::json status);

}  // namespace lagpilot::controllers
