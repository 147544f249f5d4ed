#pragma once
// The scaling decision engine: pure and deterministic, no I/O, no clock (time is
// observation.time). The controller, `lagpilot simulate` and the tests run this same code.
//
// decide(), once per poll:
//  1. Data. A failed poll (ok=false) or one without what the policy needs (lag or depth;
//     depthLatency also latency) never scales down: it holds current replicas. A failed poll or a
//     missing lag/depth counts as a source failure (a missing latency does not: fallback is about
//     the source). From fallback.failureThreshold consecutive failures on, when fallback.replicas
//     is set, desired is exactly fallback.replicas (up or down, not bounded by min/maxReplicas, no
//     stabilization, rate limit or cooldown: KEDA semantics, the operator asked for that count)
//     until a poll succeeds and normal decisions resume.
//  2. Learning. The poll's arrival rate joins the recent readings (trend and noise, planner.h);
//     its group members end a start-up delay measurement begun by record_scale (state.h).
//     drainTime (scaler/throughput.h): a poll adds egressRate / workers (workers =
//     min(replicas, consumers, maxUsefulConsumers, partitionsWithBacklog)) to an EWMA of
//     per-replica throughput only from consumers all consuming and saturated over its interval:
//     backlog >= 10 s of work at the egress rate at both ends; workers unchanged for three polls
//     (joins, leaves and the rebalance after them); after the replicas grew with members unknown,
//     the new pods consuming (egress per worker >= 3/4 of the rate before) or
//     startupDelaySeconds passed; no dip below 3/4 of the previous poll's rate (a pause). Idle,
//     starting, partly ready or paused consumers would teach less than their capacity, and every
//     scale-up would overshoot.
//  3. Policy, the raw recommendation:
//       drainTime      the planner (planner.h): replicas that keep lagSeconds under the objective
//                      (objective_seconds(spec)) given arrivals and their rise, the learned
//                      throughput and start-up delay (spec.startupDelaySeconds overrides it).
//                      Catch-up when the projection misses the objective. Until a throughput is
//                      learned the planner sizes with its lower bound (the highest egress per
//                      member of a poll, throughput.h): it can only over-provision, and one
//                      saturated poll makes it tight. Before any poll gives one, or without
//                      ingressRate, the lagPerReplica rule, releasing at most a quarter of the
//                      replicas per decision.
//       lagPerReplica  ceil(lag / targetLagPerReplica)            (KEDA's lag-per-replica rule)
//       depthLatency   depth > 1,000 and latency > 500 ms: x2 (0 -> 1); depth < 100 and
//                      latency < 100 ms: /2 rounded up; otherwise hold
//  4. Guard rails, in order; Decision::guard_rail names the last one that changed the value.
//     For drainTime with a learned throughput (or its lower bound), the fields the user did not
//     write (spec.user_set) are the planner's (planner_guard_rails): no scale-up limit, release
//     after start-up + poll with no rate limit, no cooldown. In catch-up scale-up has no
//     stabilization, rate limit or tolerance, written or not (unless selectPolicy Disabled), as
//     in Knative's panic mode.
//     a. Activation, only with minReplicas 0 (KEDA): lag <= activationLag -> 0, else at least 1.
//     b. Tolerance: |r / current - 1| <= tolerance keeps current; not from or to zero. Unlike
//        the HPA's (raw usage ratio), r is the rounded recommendation.
//        The result is this poll's recommendation in the stabilization history.
//     c. Bounds [minReplicas, upper], upper = maxReplicas, or the most consumers the queue has work
//        for (the source's limit, e.g. partitions) when known and lower; minReplicas wins over
//        both. When current itself is out of bounds, desired is the bound at once, skipping d-f (as
//        the HPA does).
//     d. Stabilization (HPA): scale up only to the lowest recommendation of the last
//        scaleUp.stabilizationSeconds, down only to the highest of the last
//        scaleDown.stabilizationSeconds.
//     e. Rate (HPA): per sliding periodSeconds, from the replicas at the period's start, at most
//        maxPodsPerPeriod or maxPercentPerPeriod added/removed; the larger change wins.
//     f. Cooldown: no scale-down within cooldownSeconds of the last scale in either direction.
//        Scale-up is only rate limited: a growing backlog must not wait.
//  5. Paused: all of the above runs (status shows what would happen; history stays warm), then
//     desired_replicas = current_replicas.
//
// How the controller calls it, per poll and QueueMonitor (keep one ScalerState per monitor):
//   Decision d = decide(spec, observation, scale.spec.replicas, state, paused);
//   status.replicas.desired = d.replicas_if_unpaused;
//   if (d.is_change() && spec.mode == Mode::kActive && patch_scale(d.desired_replicas).ok())
//     state.record_scale(d.time, d.current_replicas, d.desired_replicas);
// decide() updates `state` itself (recommendations, failures, throughput, arrivals, start-up
// delay). record_scale is the caller's because only the caller knows whether the change was
// applied; DryRun never calls it (and so never learns a start-up delay).
#include <optional>
#include <string>

#include "scaler/observation.h"
#include "scaler/spec.h"
#include "scaler/state.h"
#include "util/clock.h"

namespace lagpilot::scaler {

enum class GuardRail {
  kNone,
  kPaused,
  kMissingData,  // failed poll or missing metric: held
  kFallback,
  kActivation,  // scale to zero / activation from zero
  kTolerance,
  kMinReplicas,
  kMaxReplicas,
  kConsumerLimit,  // the most consumers the queue has work for (e.g. its partitions)
  kScaleUpStabilization,
  kScaleDownStabilization,
  kScaleUpRate,
  kScaleDownRate,
  kCooldown,
  kGroupNotProgressing,  // hold_scale_up(): a stalled or rewinding consumer group
};

// CamelCase ("ScaleDownStabilization"), usable as a Kubernetes condition reason.
std::string to_string(GuardRail guard_rail);

struct Decision {
  WallTime time;  // the observation's; pass it to ScalerState::record_scale
  int current_replicas = 0;
  int desired_replicas = 0;      // what to set now; current_replicas when holding or paused
  int replicas_if_unpaused = 0;  // desired_replicas, or what it would be were it not paused
  std::optional<int> recommended_replicas;  // the policy's raw output; nullopt without usable data
  // status.scalingHistory[].policy: the rule that decided ("drainTime", "lagPerReplica" when
  // drainTime fell back to it, "depthLatency") or "fallback".
  std::string decided_by;
  GuardRail guard_rail = GuardRail::kNone;
  std::string guard_rail_detail;  // e.g. "capped at maxReplicas 24"; empty with kNone
  // The inputs and arithmetic, e.g. "lag 48,200 msgs, 96 s behind, draining at 410 msg/s/replica,
  // arrivals 3,400 msg/s: 4 -> 9"; a guard rail adds "(policy wants 11; <detail>)".
  std::string reason;
  // drainTime: the objective is at risk (planner.h), so scale-up limits were lifted and nothing
  // scales down; the detail says why, e.g. "catch-up: projected lagSeconds 41 s within 30 s
  // exceeds the objective 30 s; scale-up limits lifted, no scale-down". For the status.
  bool catch_up = false;
  std::string catch_up_detail;

  bool is_change() const { return desired_replicas != current_replicas; }
};

// current_replicas: the target's spec.replicas (scale subresource). paused: annotation
// lagpilot.io/paused is "true". The spec is expected to pass validate(); an invalid one still gives
// a defined (if unhelpful) answer.
Decision decide(const ScalingSpec& spec, const Observation& observation, int current_replicas,
                ScalerState& state, bool paused);

// More pods don't fix a consumer group that makes no progress (stalled, or rewinding: see
// alerts/group_progress.h). Caps a scale-up of `decision` at its current replicas, `why` in the
// reason ("holding 4 replicas: <why> (policy wants 9)"); scale-downs and holds pass unchanged. A
// paused decision keeps its "paused" reason with the held one as its unpaused part. The controller
// and the simulator apply it after decide() when the group's progress says so.
void hold_scale_up(Decision& decision, const std::string& why);

}  // namespace lagpilot::scaler
