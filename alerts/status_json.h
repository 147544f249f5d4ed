#pragma once
// The status fields this module owns, exactly as the CRD declares them, and the way back for
// restore. Numbers are rounded so that status changes with the world, not with float noise:
//   alerts[].value, alertHistory[].peakValue   3 significant digits (48213 -> 48200)
//   slos[].sliPercent                          3 decimals
//   slos[].errorBudgetRemainingPercent         1 decimal
//   slos[].errorBudgetRemainingSeconds         whole seconds
//   slos[].burnRates[*]                        2 decimals
// Whole numbers are written as JSON integers. Times are RFC 3339 seconds, as Kubernetes writes.
#include <deque>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/alert_tracker.h"
#include "alerts/health.h"
#include "alerts/slo.h"

namespace lagpilot::alerts {

// status.alerts: [{name, severity, state, since, value?, summary}].
nlohmann::json active_alerts_json(const std::vector<ActiveAlert>& alerts);
// status.alertHistory: [{name, severity, firedAt, resolvedAt, peakValue?, summary}].
nlohmann::json alert_history_json(const std::vector<ResolvedAlert>& history);
// status.slos[] entry: {name, sliPercent?, errorBudgetRemainingPercent,
// errorBudgetRemainingSeconds, burnRates, buckets?}.
nlohmann::json slo_status_json(const SloStatus& slo);
// status.healthReasons.
nlohmann::json health_reasons_json(const HealthVerdict& verdict);

// Back from status, for restore. Entries missing a name, a known state or a valid time are skipped.
std::vector<ActiveAlert> parse_active_alerts(const nlohmann::json& alerts);
std::vector<ResolvedAlert> parse_alert_history(const nlohmann::json& history);

// A number for status: an integer when whole, else the double.
nlohmann::json status_number(double value);

}  // namespace lagpilot::alerts
