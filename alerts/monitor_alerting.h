#pragma once
// Alerting for one QueueMonitor: rules, SLOs, group progress and health, evaluated once per poll.
// Pure: no I/O, no clock; the controller passes the time and writes what it returns.
//
// Per QueueMonitor, kept with the controller's other in-memory state (docs/alerts.md):
//   MonitorAlerting alerting;
//   on the first reconcile and whenever the spec changes (new generation):
//     ConfigureReport report = alerting.configure(object["spec"], context);
//     !report.ok(): condition Ready=False, reason InvalidSpec, message report.message(), and a
//     Warning Event; the valid rules and SLOs (and scaling) keep working.
//   once, after the first configure, before the first evaluate (operator restart):
//     alerting.restore(object["status"]);
//   every poll, before scaler::decide, also when the source poll failed (source_reachable false,
//   no metrics):
//     const Evaluation& e = alerting.evaluate(sample, now);
//     e.hold_scale_up: cap the decision at the current replicas (no scale-up this poll);
//     for (auto& [key, value] : alerting.status_json().items()) status[key] = value;
//     for each e.transitions: Event (Warning "AlertFiring" / Normal "AlertResolved"),
//     notifications and metrics.
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/alert_tracker.h"
#include "alerts/group_progress.h"
#include "alerts/health.h"
#include "alerts/metric_sample.h"
#include "alerts/rules.h"
#include "alerts/slo.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot::alerts {

// What the controller knows about the monitor beyond spec.alerts/alertsPreset/slos.
struct MonitorContext {
  std::string ns;     // metadata.namespace
  std::string name;   // metadata.name
  std::string topic;  // the source's "topic" label, when it has one
  std::string queue;  // what the source reads, for summaries (controllers/monitor_alerting_glue.h)
  // spec.latency.prometheus.name (default latencyP95Seconds) when spec.latency is set.
  std::optional<std::string> latency_metric;
  double target_drain_seconds = 60;  // spec.scaling.targetDrainSeconds
  double activation_lag = 0;         // spec.scaling.activationLag
  int poll_interval_seconds = 10;    // spec.pollIntervalSeconds
  int source_failure_threshold = 3;  // spec.scaling.fallback.failureThreshold
};

struct AlertingOptions {
  std::size_t history_limit = AlertTracker::kDefaultHistoryLimit;  // status.alertHistory length
  GroupProgressOptions progress;
  // Degraded for "replicas at maximum while lag grows" after this many consecutive polls of it.
  int growth_polls = 3;
};

struct ConfigureReport {
  std::vector<Error> errors;  // one per skipped rule, SLO or field; code "InvalidSpec"
  bool ok() const { return errors.empty(); }
  std::string message() const;  // the messages joined with "; "
};

struct RestoreReport {
  std::size_t alerts = 0;            // pending/firing alerts continued
  std::size_t history = 0;           // alertHistory entries kept
  std::size_t slos = 0;              // SLOs continued from their buckets
  std::vector<std::string> skipped;  // "SLO freshness: recorded for another ..." etc.
};

struct Evaluation {
  WallTime time;
  std::vector<ActiveAlert> active;           // status.alerts
  std::vector<AlertTransition> transitions;  // fired/resolved this poll: Events, notifications
  std::vector<ResolvedAlert> history;        // status.alertHistory, newest first
  std::vector<SloStatus> slos;               // status.slos, in spec order
  GroupProgress progress;
  bool hold_scale_up = false;        // stalled or rewinding: add no replicas
  std::string hold_scale_up_reason;  // for the scaling reason / condition message
  bool growing_at_max = false;
  HealthVerdict health;
};

class MonitorAlerting {
 public:
  explicit MonitorAlerting(AlertingOptions options = {});

  // `spec` is the QueueMonitor's .spec; reads alerts, alertsPreset and slos. Rules are, in order:
  // spec.alerts, the preset's (unless a spec rule has the same name), then each SLO's burn-rate
  // rules (same). Bad items are skipped and reported; the rest work. State carries over by name:
  // alerts keep pending/firing state, SLOs keep their buckets unless metric, goodWhen or
  // windowDays changed (objectivePercent may change freely). An SLO whose item became invalid keeps
  // its buckets (unevaluated, still written to status) until it is fixed or removed.
  ConfigureReport configure(const nlohmann::json& spec, const MonitorContext& context);

  // Continues from the status this module wrote before a restart: status.alerts, alertHistory and
  // slos[].buckets. Call after configure and before the first evaluate; ignored after that.
  RestoreReport restore(const nlohmann::json& status);

  const Evaluation& evaluate(const MetricSample& sample, WallTime now);

  // {"alerts", "alertHistory", "slos", "health", "healthReasons"} of the last evaluation, to be
  // merged key by key into status (every key is always present, so stale entries are replaced).
  // Empty before the first evaluate (leave status as it is).
  nlohmann::json status_json() const;

  const std::vector<AlertRule>& rules() const { return alerts_.rules(); }
  const std::optional<Evaluation>& last_evaluation() const { return last_; }

 private:
  AlertingOptions options_;
  MonitorContext context_;
  AlertTracker alerts_;
  std::vector<std::unique_ptr<SloTracker>> slos_;  // spec order
  // Buckets of SLOs whose spec item is invalid (by name), kept until the item is fixed or removed.
  std::map<std::string, std::string> dormant_buckets_;
  std::set<std::string> invalid_slo_names_;
  GroupProgressTracker progress_;
  int growth_streak_ = 0;
  std::optional<Evaluation> last_;
};

// The status fields of one evaluation (what MonitorAlerting::status_json returns).
// dormant_buckets: SLO name -> buckets, written as {name, buckets} entries after the others.
nlohmann::json status_json(const Evaluation& evaluation,
                           const std::map<std::string, std::string>& dormant_buckets = {});

}  // namespace lagpilot::alerts
