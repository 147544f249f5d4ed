#include "alerts/health.h"

#include "alerts/summary_template.h"

namespace lagpilot::alerts {
namespace {

constexpr std::size_t kMaxReasons = 20;
constexpr std::size_t kMaxReasonLength = 1024;

}  // namespace

std::string_view to_string(Health health) {
  switch (health) {
    case Health::kUnknown:
      return "Unknown";
    case Health::kHealthy:
      return "Healthy";
    case Health::kDegraded:
      return "Degraded";
    case Health::kUnhealthy:
      return "Unhealthy";
  }
  return "Unknown";
}

HealthVerdict assess_health(const HealthInputs& inputs) {
  std::vector<std::string> unhealthy;
  std::vector<std::string> degraded;
  if (!inputs.source_reachable) {
    unhealthy.push_back(inputs.source_error.empty() ? "source unreachable"
                                                    : "source unreachable: " + inputs.source_error);
  }
  for (const auto& alert : inputs.alerts) {
    if (alert.state != AlertState::kFiring || alert.severity == Severity::kInfo) continue;
    std::string reason = alert.name + " firing (" + std::string(to_string(alert.severity)) + ")";
    (alert.severity == Severity::kCritical ? unhealthy : degraded).push_back(std::move(reason));
  }
  for (const auto& slo : inputs.slos) {
    if (!slo.budget_exhausted) continue;
    unhealthy.push_back("SLO " + slo.name + " error budget exhausted");
  }
  if (inputs.growing_at_max) degraded.push_back("replicas at maximum while lag grows");
  if (inputs.progress.hold_scale_up()) {
    degraded.push_back(inputs.progress.describe());
  }

  HealthVerdict verdict;
  verdict.health = !unhealthy.empty()  ? Health::kUnhealthy
                   : !degraded.empty() ? Health::kDegraded
                                       : Health::kHealthy;
  for (auto* reasons : {&unhealthy, &degraded}) {
    for (auto& reason : *reasons) {
      if (verdict.reasons.size() == kMaxReasons) break;
      verdict.reasons.push_back(truncate_utf8(std::move(reason), kMaxReasonLength));
    }
  }
  return verdict;
}

}  // namespace lagpilot::alerts
