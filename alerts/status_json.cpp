#include "alerts/status_json.h"

#include <cmath>

namespace lagpilot::alerts {
namespace {

using Json = nlohmann::json;

std::optional<WallTime> time_field(const Json& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_string()) return std::nullopt;
  return parse_rfc3339(it->get<std::string>());
}

std::optional<double> number_field(const Json& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string string_field(const Json& entry, const char* key) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

Severity severity_field(const Json& entry) {
  return parse_severity(string_field(entry, "severity")).value_or(Severity::kMedium);
}

}  // namespace

Json status_number(double value) {
  if (std::isfinite(value) && std::fabs(value) < 9.0e15 && std::floor(value) == value) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

Json active_alerts_json(const std::vector<ActiveAlert>& alerts) {
  Json out = Json::array();
  for (const auto& alert : alerts) {
    Json entry = {{"name", alert.name},
                  {"severity", std::string(to_string(alert.severity))},
                  {"state", std::string(to_string(alert.state))},
                  {"since", format_rfc3339(alert.since)},
                  {"summary", alert.summary}};
    if (alert.value) entry["value"] = status_number(round_significant(*alert.value, 3));
    out.push_back(std::move(entry));
  }
  return out;
}

Json alert_history_json(const std::vector<ResolvedAlert>& history) {
  Json out = Json::array();
  for (const auto& resolved : history) {
    Json entry = {{"name", resolved.name},
                  {"severity", std::string(to_string(resolved.severity))},
                  {"firedAt", format_rfc3339(resolved.fired_at)},
                  {"resolvedAt", format_rfc3339(resolved.resolved_at)},
                  {"summary", resolved.summary}};
    if (resolved.peak_value) {
      entry["peakValue"] = status_number(round_significant(*resolved.peak_value, 3));
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Json slo_status_json(const SloStatus& slo) {
  Json entry = {
      {"name", slo.name},
      {"errorBudgetRemainingPercent",
       status_number(round_decimals(slo.budget_remaining_percent, 1))},
      {"errorBudgetRemainingSeconds", status_number(std::round(slo.budget_remaining_seconds))}};
  if (slo.sli_percent) entry["sliPercent"] = status_number(round_decimals(*slo.sli_percent, 3));
  Json burn_rates = Json::object();
  for (const auto& [key, rate] : slo.burn_rates)
    burn_rates[key] = status_number(round_decimals(rate, 2));
  entry["burnRates"] = std::move(burn_rates);
  if (!slo.buckets.empty()) entry["buckets"] = slo.buckets;
  return entry;
}

Json health_reasons_json(const HealthVerdict& verdict) {
  Json out = Json::array();
  for (const auto& reason : verdict.reasons) out.push_back(reason);
  return out;
}

std::vector<ActiveAlert> parse_active_alerts(const Json& alerts) {
  std::vector<ActiveAlert> out;
  if (!alerts.is_array()) return out;
  for (const auto& entry : alerts) {
    if (!entry.is_object()) continue;
    ActiveAlert alert;
    alert.name = string_field(entry, "name");
    const std::string state = string_field(entry, "state");
    auto since = time_field(entry, "since");
    if (alert.name.empty() || !since || (state != "pending" && state != "firing")) continue;
    alert.state = state == "pending" ? AlertState::kPending : AlertState::kFiring;
    alert.since = *since;
    alert.severity = severity_field(entry);
    alert.value = number_field(entry, "value");
    alert.summary = string_field(entry, "summary");
    out.push_back(std::move(alert));
  }
  return out;
}

std::vector<ResolvedAlert> parse_alert_history(const Json& history) {
  std::vector<ResolvedAlert> out;
  if (!history.is_array()) return out;
  for (const auto& entry : history) {
    if (!entry.is_object()) continue;
    ResolvedAlert resolved;
    resolved.name = string_field(entry, "name");
    auto fired_at = time_field(entry, "firedAt");
    auto resolved_at = time_field(entry, "resolvedAt");
    if (resolved.name.empty() || !fired_at || !resolved_at) continue;
    resolved.fired_at = *fired_at;
    resolved.resolved_at = *resolved_at;
    resolved.severity = severity_field(entry);
    resolved.peak_value = number_field(entry, "peakValue");
    resolved.summary = string_field(entry, "summary");
    out.push_back(std::move(resolved));
  }
  return out;
}

}  // namespace lagpilot::alerts
