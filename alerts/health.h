#pragma once
// status.health and status.healthReasons from one evaluation, most severe reasons first:
//   Unhealthy  the source is unreachable; a critical alert fires; an SLO's error budget is spent.
//   Degraded   a high, medium or low alert fires (info never affects health; pending alerts do
//              not either); lag grew on the last growth_polls polls while replicas were at the
//              maximum; the consumer group is stalled or rewinding.
//   Healthy    none of these.
//   Unknown    nothing evaluated yet.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/alert_tracker.h"
#include "alerts/group_progress.h"
#include "alerts/slo.h"

namespace lagpilot::alerts {

enum class Health { kUnknown, kHealthy, kDegraded, kUnhealthy };
std::string_view to_string(Health health);  // CRD spelling: Healthy, Degraded, Unhealthy, Unknown

struct HealthVerdict {
  Health health = Health::kUnknown;
  std::vector<std::string> reasons;  // at most 20, each at most 1024 bytes (the CRD's bounds)
};

struct HealthInputs {
  bool source_reachable = true;
  std::string source_error;
  std::vector<ActiveAlert> alerts;
  std::vector<SloStatus> slos;
  GroupProgress progress;
  bool growing_at_max = false;  // lag kept growing while replicas were at the maximum
};

HealthVerdict assess_health(const HealthInputs& inputs);

}  // namespace lagpilot::alerts
