#pragma once
// The Kubernetes HPA `behavior` algorithm (pkg/controller/podautoscaler/horizontal.go,
// stabilizeRecommendationWithBehaviors and calculateScale{Up,Down}Limit...), on explicit time.
#include <vector>

#include "scaler/spec.h"
#include "scaler/state.h"
#include "util/clock.h"

namespace lagpilot::scaler {

struct Stabilization {
  int replicas = 0;            // what to scale to after stabilization
  int lowest_scale_up = 0;     // lowest recommendation in the scale-up window (incl. this one)
  int highest_scale_down = 0;  // highest recommendation in the scale-down window (incl. this one)
};

// Scale up only to the lowest recommendation of the last scaleUp.stabilizationSeconds, down only to
// the highest of the last scaleDown.stabilizationSeconds: replicas = clamp(current, lowest,
// highest). `history` holds earlier recommendations; entries exactly a window old are outside it.
Stabilization stabilize(int current_replicas, int recommendation,
                        const std::vector<TimedRecommendation>& history, const ScalingSpec& spec,
                        WallTime now);

// Replicas at the start of the period (now - period_seconds, now]: current minus the net change
// of the scale events inside it.
int replicas_at_period_start(int current_replicas, const std::vector<ScaleEvent>& events,
                             int period_seconds, WallTime now);

// Most replicas allowed now by scaleUp: from the period-start count P, maxPods allows P + pods,
// maxPercent ceil(P * (100 + percent) / 100); selectPolicy kMax takes the larger. Never below
// current; from zero at least 1 (activation, which the HPA leaves to KEDA).
int scale_up_limit(int current_replicas, const std::vector<ScaleEvent>& events,
                   const ScalingRules& rules, WallTime now);

// Fewest replicas allowed now by scaleDown: P - pods, floor(P * (100 - percent) / 100);
// selectPolicy kMax takes the larger change (the smaller count). Never above current, never below
// 0.
int scale_down_limit(int current_replicas, const std::vector<ScaleEvent>& events,
                     const ScalingRules& rules, WallTime now);

}  // namespace lagpilot::scaler
