#include "scaler/engine.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <utility>

#include "scaler/behavior.h"
#include "scaler/format.h"
#include "scaler/planner.h"
#include "scaler/policies.h"
#include "scaler/throughput.h"

namespace lagpilot::scaler {
namespace {

Result<Recommendation> recommend(const ScalingSpec& spec, const Observation& observation,
                                 int current_replicas, const PlanContext& context) {
  if (!observation.ok) {
    return Error{"SourceFailed", observation.error.empty()
                                     ? "source poll failed"
                                     : "source poll failed: " + observation.error};
  }
  switch (spec.policy) {
    case Policy::kLagPerReplica:
      return recommend_lag_per_replica(spec, observation);
    case Policy::kDepthLatency:
      return recommend_depth_latency(observation, current_replicas);
    case Policy::kDrainTime:
      break;  // the default policy, below
  }
  return recommend_drain_time(spec, observation, context);
}

std::string replicas_text(int replicas) { return format_count(replicas); }

std::string paused_reason(int current, const std::string& unpaused) {
  return "paused (lagpilot.io/paused): holding " + replicas_text(current) +
         "; unpaused: " + unpaused;
}

std::string transition(int current, int desired) {
  if (desired == current) return "holding " + replicas_text(current);
  return replicas_text(current) + " -> " + replicas_text(desired);
}

// The replica count on its way through the guard rails, and the last rail that changed it.
class GuardRailChain {
 public:
  explicit GuardRailChain(int replicas) : replicas_(replicas) {}

  int replicas() const { return replicas_; }
  GuardRail rail() const { return rail_; }
  const std::string& detail() const { return detail_; }

  void apply(GuardRail rail, int replicas, std::string detail) {
    if (replicas == replicas_) return;
    replicas_ = replicas;
    rail_ = rail;
    detail_ = std::move(detail);
  }

 private:
  int replicas_;
  GuardRail rail_ = GuardRail::kNone;
  std::string detail_;
};

struct Bounds {
  int lower = 0;
  int upper = 0;
  GuardRail upper_rail = GuardRail::kMaxReplicas;
  std::string upper_detail;
};

Bounds bounds(const ScalingSpec& spec, const Observation& observation) {
  Bounds bounds{.lower = std::max(spec.min_replicas, 0),
                .upper = spec.max_replicas,
                .upper_detail = "capped at maxReplicas " + replicas_text(spec.max_replicas)};
  if (observation.max_useful_consumers > 0 && observation.max_useful_consumers < bounds.upper) {
    bounds.upper = observation.max_useful_consumers;
    bounds.upper_rail = GuardRail::kConsumerLimit;
    bounds.upper_detail = "capped at " + replicas_text(observation.max_useful_consumers) +
                          " replicas" + ": the queue has work for no more consumers";
  }
  if (bounds.upper < bounds.lower) {
    bounds.upper = bounds.lower;
    bounds.upper_rail = GuardRail::kMinReplicas;
    bounds.upper_detail = "held at minReplicas " + replicas_text(bounds.lower);
  }
  return bounds;
}

void apply_activation(const ScalingSpec& spec, const Observation& observation, int current,
                      GuardRailChain& chain) {
  if (spec.min_replicas != 0) return;
  const std::int64_t lag = backlog(observation).value_or(0);
  const std::string comparison = "lag " + format_count(lag) +
                                 (lag <= spec.activation_lag ? " <= " : " > ") + "activationLag " +
                                 format_count(spec.activation_lag);
  if (lag <= spec.activation_lag) {
    chain.apply(GuardRail::kActivation, 0,
                comparison + (current == 0 ? ": stays at zero" : ": scale to zero"));
  } else {
    chain.apply(GuardRail::kActivation, std::max(chain.replicas(), 1),
                comparison + ": at least 1 replica");
  }
}

void apply_tolerance(const ScalingSpec& spec, int current, bool catch_up, GuardRailChain& chain) {
  constexpr double kFloatNoise = 1e-9;
  if (current == 0 || chain.replicas() == 0 || catch_up) return;
  const double band = std::max(spec.tolerance, 0.0) * current + kFloatNoise;
  if (std::abs(chain.replicas() - current) <= band) {
    chain.apply(GuardRail::kTolerance, current,
                "within tolerance " + format_amount(spec.tolerance * 100) + "% of " +
                    replicas_text(current));
  }
}

void apply_bounds(const Bounds& bounds, GuardRailChain& chain) {
  if (chain.replicas() > bounds.upper) {
    chain.apply(bounds.upper_rail, bounds.upper, bounds.upper_detail);
  } else if (chain.replicas() < bounds.lower) {
    chain.apply(GuardRail::kMinReplicas, bounds.lower,
                "raised to minReplicas " + replicas_text(bounds.lower));
  }
}

void apply_stabilization(const ScalingSpec& spec, const Bounds& bounds, int current,
                         int recommendation, const ScalerState& state, WallTime now,
                         GuardRailChain& chain) {
  const Stabilization stabilized =
      stabilize(current, recommendation, state.recommendations(), spec, now);
  const int replicas = std::clamp(stabilized.replicas, bounds.lower, bounds.upper);
  if (chain.replicas() > current) {
    chain.apply(GuardRail::kScaleUpStabilization, replicas,
                "lowest recommendation in the last " +
                    format_count(spec.scale_up.stabilization_seconds) + " s is " +
                    replicas_text(stabilized.lowest_scale_up));
  } else if (chain.replicas() < current) {
    chain.apply(GuardRail::kScaleDownStabilization, replicas,
                "highest recommendation in the last " +
                    format_count(spec.scale_down.stabilization_seconds) + " s is " +
                    replicas_text(stabilized.highest_scale_down));
  }
}

// The default policy's release (planner_guard_rails): when the stabilization window still holds
// a recommendation above the latest one, a scale-down that would give back less than half of the
// excess waits for the window, so a release after a burst is one action (one rebalance) instead of
// a step per poll as the burst's recommendations leave the window.
void apply_release_in_one_step(const ScalingSpec& spec, const Bounds& bounds, int current,
                               int recommendation, GuardRailChain& chain) {
  if (spec.user_set.scale_down || chain.replicas() >= current) return;
  const int target = std::clamp(recommendation, bounds.lower, bounds.upper);
  const int excess = current - target;
  const int released = current - chain.replicas();
  if (chain.replicas() <= target || 2 * released >= excess) return;
  chain.apply(GuardRail::kScaleDownStabilization, current,
              "highest recommendation in the last " +
                  format_count(spec.scale_down.stabilization_seconds) + " s is " +
                  replicas_text(chain.replicas()) + ", less than half of the " +
                  replicas_text(excess) + " replicas to release: releasing them at once later");
}

void apply_rate_limits(const ScalingSpec& spec, const ScalerState& state, int current, WallTime now,
                       GuardRailChain& chain) {
  if (chain.replicas() > current) {
    const int limit = scale_up_limit(current, state.scale_events(), spec.scale_up, now);
    if (chain.replicas() <= limit) return;
    chain.apply(GuardRail::kScaleUpRate, limit,
                spec.scale_up.select_policy == SelectPolicy::kDisabled
                    ? "scale-up disabled"
                    : "scale-up rate: at most " + replicas_text(limit) + " replicas within " +
                          format_count(spec.scale_up.period_seconds) + " s");
  } else if (chain.replicas() < current) {
    const int limit = scale_down_limit(current, state.scale_events(), spec.scale_down, now);
    if (chain.replicas() >= limit) return;
    chain.apply(GuardRail::kScaleDownRate, limit,
                spec.scale_down.select_policy == SelectPolicy::kDisabled
                    ? "scale-down disabled"
                    : "scale-down rate: at least " + replicas_text(limit) + " replicas within " +
                          format_count(spec.scale_down.period_seconds) + " s");
  }
}

void apply_cooldown(const ScalingSpec& spec, const ScalerState& state, int current, WallTime now,
                    GuardRailChain& chain) {
  if (chain.replicas() >= current || !state.last_scale_time()) return;
  const auto since_last_scale = now - *state.last_scale_time();
  if (since_last_scale >= std::chrono::seconds(spec.cooldown_seconds)) return;
  const double seconds = std::chrono::duration<double>(since_last_scale).count();
  chain.apply(GuardRail::kCooldown, current,
              "last scale " + format_amount(seconds) + " s ago, no scale-down within " +
                  format_count(spec.cooldown_seconds) + " s");
}

Decision decide_without_data(const ScalingSpec& spec, const Error& problem, bool source_answered,
                             int current, const ScalerState& state) {
  Decision decision;
  decision.current_replicas = current;
  decision.desired_replicas = current;
  decision.decided_by = to_string(spec.policy);
  const int failures = state.consecutive_failures();
  const int threshold = std::max(spec.fallback.failure_threshold, 1);
  if (spec.fallback.replicas && failures >= threshold) {
    decision.desired_replicas = std::max(*spec.fallback.replicas, 0);
    decision.decided_by = "fallback";
    decision.guard_rail = GuardRail::kFallback;
    decision.guard_rail_detail = replicas_text(failures) +
                                 " consecutive failed polls, fallback.replicas " +
                                 replicas_text(decision.desired_replicas);
  } else {
    decision.guard_rail = GuardRail::kMissingData;
    decision.guard_rail_detail = "no scale-down without data";
    if (!source_answered) {
      decision.guard_rail_detail += spec.fallback.replicas ? "; " + replicas_text(failures) +
                                                                 " of " + replicas_text(threshold) +
                                                                 " failed polls before fallback"
                                                           : "; no fallback configured";
    }
  }
  decision.reason = problem.message + ": " + transition(current, decision.desired_replicas) + " (" +
                    decision.guard_rail_detail + ")";
  return decision;
}

// In catch-up the objective comes before scale-up limits, as in Knative's panic mode: no
// stabilization or rate limit on the way up, unless scale-up is disabled outright.
ScalingSpec lift_scale_up_limits(const ScalingSpec& spec) {
  ScalingSpec lifted = spec;
  if (spec.scale_up.select_policy == SelectPolicy::kDisabled) return lifted;
  lifted.scale_up.stabilization_seconds = 0;
  lifted.scale_up.max_pods_per_period = 0;
  lifted.scale_up.max_percent_per_period = 0;
  return lifted;
}

Decision decide_with_data(const ScalingSpec& given_spec, const Observation& observation,
                          const Recommendation& recommendation, int current, ScalerState& state) {
  const WallTime now = observation.time;
  const ScalingSpec spec = recommendation.catch_up ? lift_scale_up_limits(given_spec) : given_spec;
  GuardRailChain chain(recommendation.replicas);
  apply_activation(spec, observation, current, chain);
  apply_tolerance(spec, current, recommendation.catch_up, chain);
  const int remembered = chain.replicas();

  const Bounds limits = bounds(spec, observation);
  apply_bounds(limits, chain);
  if (current >= limits.lower && current <= limits.upper) {
    apply_stabilization(spec, limits, current, remembered, state, now, chain);
    if (recommendation.applied_policy == Policy::kDrainTime) {
      apply_release_in_one_step(spec, limits, current, remembered, chain);
    }
    apply_rate_limits(spec, state, current, now, chain);
    apply_cooldown(spec, state, current, now, chain);
  } else {
    chain.apply(current > limits.upper ? limits.upper_rail : GuardRail::kMinReplicas,
                std::clamp(current, limits.lower, limits.upper),
                current > limits.upper ? limits.upper_detail
                                       : "raised to minReplicas " + replicas_text(limits.lower));
  }
  state.record_recommendation(now, remembered);

  Decision decision;
  decision.current_replicas = current;
  decision.desired_replicas = chain.replicas();
  decision.recommended_replicas = recommendation.replicas;
  decision.decided_by = to_string(recommendation.applied_policy);
  decision.guard_rail = chain.rail();
  decision.guard_rail_detail = chain.detail();
  decision.catch_up = recommendation.catch_up;
  decision.catch_up_detail = recommendation.catch_up_detail;
  decision.reason = recommendation.inputs;
  if (decision.catch_up) decision.reason += "; " + decision.catch_up_detail;
  decision.reason += ": " + transition(current, chain.replicas());
  if (chain.rail() != GuardRail::kNone) {
    decision.reason +=
        " (policy wants " + replicas_text(recommendation.replicas) + "; " + chain.detail() + ")";
  }
  return decision;
}

// The planner's inputs from this poll: the arrival reading, and the members that may end a
// start-up delay measurement.
void observe_arrivals_and_members(const Observation& observation, ScalerState& state) {
  if (!observation.ok) return;
  if (observation.ingress_rate) state.record_arrivals(observation.time, *observation.ingress_rate);
  state.startup_delay().polled(observation.time, observation.consumers);
}

PlanContext plan_context(const ScalingSpec& spec, const Observation& observation, int current,
                         const ScalerState& state, double startup_delay, double poll_interval) {
  PlanContext context;
  context.per_replica_rate = state.throughput().planning_rate();
  context.per_replica_rate_is_lower_bound = !state.throughput().per_replica_rate().has_value();
  context.arrivals = arrival_outlook(state.arrivals());
  context.current_replicas = current;
  context.ready_consumers =
      observation.consumers ? std::clamp(*observation.consumers, 0, current) : current;
  // Pods not in the group yet work one start-up delay after the last scale-up (a full one when
  // none is recorded, e.g. after an operator restart).
  if (context.ready_consumers < current) {
    const double since_scale_up =
        state.last_scale_up_time()
            ? std::chrono::duration<double>(observation.time - *state.last_scale_up_time()).count()
            : 0;
    context.starting_ready_in = std::max(startup_delay - since_scale_up, 0.0);
  }
  context.most_useful_replicas = bounds(spec, observation).upper;
  context.startup_delay = startup_delay;
  context.startup_delay_source = spec.startup_delay_seconds        ? "spec"
                                 : state.startup_delay().seconds() ? "learned"
                                                                   : "default";
  context.poll_interval = poll_interval;
  return context;
}

}  // namespace

std::string to_string(GuardRail guard_rail) {
  switch (guard_rail) {
    case GuardRail::kNone:
      return "None";
    case GuardRail::kPaused:
      return "Paused";
    case GuardRail::kMissingData:
      return "MissingData";
    case GuardRail::kFallback:
      return "Fallback";
    case GuardRail::kActivation:
      return "Activation";
    case GuardRail::kTolerance:
      return "Tolerance";
    case GuardRail::kMinReplicas:
      return "MinReplicas";
    case GuardRail::kMaxReplicas:
      return "MaxReplicas";
    case GuardRail::kConsumerLimit:
      return "ConsumerLimit";
    case GuardRail::kScaleUpStabilization:
      return "ScaleUpStabilization";
    case GuardRail::kScaleDownStabilization:
      return "ScaleDownStabilization";
    case GuardRail::kScaleUpRate:
      return "ScaleUpRate";
    case GuardRail::kScaleDownRate:
      return "ScaleDownRate";
    case GuardRail::kCooldown:
      return "Cooldown";
    case GuardRail::kGroupNotProgressing:
      return "GroupNotProgressing";
  }
  return "Unknown";
}

Decision decide(const ScalingSpec& given_spec, const Observation& observation, int current_replicas,
                ScalerState& state, bool paused) {
  const int current = std::max(current_replicas, 0);
  observe_arrivals_and_members(observation, state);
  const double startup_delay = startup_delay_seconds(given_spec, state);
  const double poll_interval = poll_interval_seconds(state.arrivals());
  // Until a per-replica rate (or its lower bound) is known there is no plan, and the documented
  // defaults guard.
  const ScalingSpec spec = state.throughput().planning_rate()
                               ? planner_guard_rails(given_spec, startup_delay, poll_interval)
                               : given_spec;
  state.forget_expired(observation.time, spec);
  if (!state.seeded()) {
    // As the HPA's recordInitialRecommendation: the first decision behaves as if the current count
    // had just been recommended, so a restart or a new monitor never scales down at once.
    state.record_recommendation(observation.time, current);
    state.mark_seeded();
  }
  state.throughput().observe(observation, current, spec);

  const Result<Recommendation> recommendation =
      recommend(spec, observation, current,
                plan_context(spec, observation, current, state, startup_delay, poll_interval));
  // Fallback is about the source: a missing latency (depthLatency) holds but is not a failed poll.
  const bool source_answered = observation.ok && backlog(observation).has_value();
  state.record_poll(source_answered);
  Decision decision =
      recommendation.ok()
          ? decide_with_data(spec, observation, recommendation.value(), current, state)
          : decide_without_data(spec, recommendation.error(), source_answered, current, state);
  decision.time = observation.time;
  decision.replicas_if_unpaused = decision.desired_replicas;
  if (paused) {
    decision.reason = paused_reason(current, decision.reason);
    decision.desired_replicas = current;
    decision.guard_rail = GuardRail::kPaused;
    decision.guard_rail_detail = "annotation lagpilot.io/paused is true";
  }
  return decision;
}

void hold_scale_up(Decision& decision, const std::string& why) {
  const int current = decision.current_replicas;
  if (decision.replicas_if_unpaused <= current) return;
  const std::string held = "holding " + replicas_text(current) + " replicas: " + why +
                           " (policy wants " + replicas_text(decision.replicas_if_unpaused) + ")";
  decision.replicas_if_unpaused = current;
  if (decision.guard_rail == GuardRail::kPaused) {
    decision.reason = paused_reason(current, held);
    return;
  }
  decision.desired_replicas = current;
  decision.guard_rail = GuardRail::kGroupNotProgressing;
  decision.guard_rail_detail = why;
  decision.reason = held;
}

}  // namespace lagpilot::scaler
