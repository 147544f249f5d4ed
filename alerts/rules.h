#pragma once
// Alert rules: spec.alerts[], the alertsPreset "default" rules, and how one rule is evaluated.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/condition.h"
#include "alerts/metric_sample.h"
#include "alerts/summary_template.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot::alerts {

enum class RuleOrigin { kSpec, kPreset, kBurnRate };

// A rule holds when any clause holds (Kleene OR: true wins over unknown, unknown over false).
// spec.alerts rules have one clause of one condition; preset and burn-rate rules may have more
// (ConsumerGroupEmpty: consumers == 0 and consumerLag > activationLag).
struct AlertRule {
  std::string name;
  std::vector<Clause> any_of;
  Duration for_duration{0};     // must hold continuously this long before firing
  Duration keep_firing_for{0};  // keeps firing this long after it stops holding
  Severity severity = Severity::kMedium;
  std::map<std::string, std::string> labels;  // spec labels only; see alert_labels()
  SummaryTemplate summary;
  RuleOrigin origin = RuleOrigin::kSpec;

  // The first condition of the first clause: what status.alerts[].value shows by default.
  const Condition& primary() const { return any_of.front().all_of.front(); }
};

// The outcome of one rule on one poll. `subject` is the condition whose metric and threshold the
// alert reports: the primary condition of the first clause that holds, else of the first clause.
struct RuleVerdict {
  Truth truth = Truth::kUnknown;
  const Condition* subject = nullptr;
  std::optional<double> value;  // subject's metric, when known
};

RuleVerdict evaluate_rule(const AlertRule& rule, const MetricValues& values);

// "<metric> <op> <threshold> (value {{ .value }})", the CRD's default summary.
SummaryTemplate default_summary(const Condition& condition);

// What lagpilot knows about the monitor when it builds rules.
struct RuleContext {
  MetricCatalog catalog;
  double target_drain_seconds = 60;  // spec.scaling.targetDrainSeconds
  double activation_lag = 0;         // spec.scaling.activationLag
  int poll_interval_seconds = 10;    // spec.pollIntervalSeconds
  int source_failure_threshold = 3;  // spec.scaling.fallback.failureThreshold (default 3)
};

// One spec.alerts item; `index` is its position, for error paths. Errors have code "InvalidSpec"
// and a message starting with the field, e.g.
//   spec.alerts[2].metric: unknown metric "lagg" (known: consumerLag, ...)
Result<AlertRule> parse_alert_rule(const nlohmann::json& item, std::size_t index,
                                   const MetricCatalog& catalog);

struct ParsedRules {
  std::vector<AlertRule> rules;  // the valid ones, in spec order
  std::vector<Error> errors;     // one per skipped rule (or for spec.alerts itself)
};

// Every spec.alerts item; a bad item is skipped and reported, the others are kept. A name used
// twice keeps the first and reports the second. null/absent spec.alerts is an empty list.
ParsedRules parse_alert_rules(const nlohmann::json& alerts, const MetricCatalog& catalog);

enum class AlertsPreset { kNone, kDefault };
// spec.alertsPreset: absent/null -> none. Error names the field.
Result<AlertsPreset> parse_alerts_preset(const nlohmann::json& preset);

// The documented default rules (docs/alerts.md), in this order:
//   ConsumerLagHigh            consumerLag > 1000 for 120 s                       medium
//   ConsumerLagCritical        consumerLag > 5000                                 critical
//   LagSecondsHigh             lagSeconds > targetDrainSeconds for 120 s          high
//   ConsumerGroupEmpty         consumers == 0 and consumerLag > activationLag
//                              for 60 s                                           high
//   SourceUnreachable          sourceReachable == 0 for
//                              (failureThreshold - 1) x pollInterval              critical
//   ScaledToMaxWithGrowingLag  scaledToMaxWithGrowingLag == 1 for 300 s           high
std::vector<AlertRule> default_preset_rules(const RuleContext& context);

// The labels sent with an alert: the rule's, plus alertname, severity, namespace, queuemonitor and
// topic (which the rule's labels may not override).
std::map<std::string, std::string> alert_labels(const AlertRule& rule, const std::string& ns,
                                                const std::string& name, const std::string& topic);

}  // namespace lagpilot::alerts
