#include <algorithm>

#include "scaler/format.h"
#include "scaler/planner.h"
#include "scaler/policies.h"

namespace lagpilot::scaler {
namespace {

std::string seconds_text(double seconds) { return format_amount(seconds) + " s"; }

std::string describe_plan(const Observation& observation, const PlanInputs& inputs,
                          const Plan& plan, const PlanContext& context) {
  std::string text = describe_backlog(observation) + ", draining at " +
                     (context.per_replica_rate_is_lower_bound ? "at least " : "") +
                     format_amount(inputs.per_replica_rate) + " msg/s/replica" +
                     (context.per_replica_rate_is_lower_bound ? " (not learned yet)" : "") +
                     ", arrivals " + format_amount(inputs.arrivals.rate) + " msg/s";
  if (plan.arrivals_ahead > inputs.arrivals.rate) {
    text += " (" + format_amount(plan.arrivals_ahead) + " ahead)";
  }
  text += ", start-up " + seconds_text(inputs.startup_delay) + " (" + context.startup_delay_source +
          "): lagSeconds " + seconds_text(plan.at_startup.head_age) + " in " +
          seconds_text(inputs.startup_delay) + ", objective " + seconds_text(inputs.objective) +
          " (" + plan.sizing + ")";
  return text;
}

}  // namespace

Result<Recommendation> recommend_drain_time(const ScalingSpec& spec, const Observation& observation,
                                            const PlanContext& context) {
  const auto messages = backlog(observation);
  if (!messages) return Error{kMissingMetric, "no consumer lag or queue depth in the observation"};

  const char* missing = nullptr;
  if (!context.per_replica_rate || *context.per_replica_rate <= 0) {
    missing = "no per-replica rate learned yet";
  } else if (!observation.ingress_rate) {
    missing = "no arrival rate";
  }
  if (missing) {
    auto fallback = recommend_lag_per_replica(spec, observation);
    if (!fallback) return fallback;
    fallback->inputs += std::string(" (drainTime: ") + missing + ")";
    // Without a rate, an empty queue says only that the current count suffices: release at most a
    // quarter of it (at least one) per decision, so a too-small count builds a backlog to learn
    // from, slowly enough not to breach the objective first.
    const int current = context.current_replicas;
    const int keep = current - std::max(current / 4, 1);
    if (fallback->replicas < keep) {
      fallback->replicas = keep;
      fallback->inputs += ", releasing at most a quarter";
    }
    return fallback;
  }

  PlanInputs inputs{
      .backlog = static_cast<double>(*messages),
      .lag_seconds = observation.lag_seconds,
      .arrivals = context.arrivals,
      .per_replica_rate = *context.per_replica_rate,
      .ready_consumers = context.ready_consumers,
      .current_replicas = context.current_replicas,
      .starting_ready_in = context.starting_ready_in,
      .most_useful_replicas = context.most_useful_replicas,
      .startup_delay = context.startup_delay,
      .poll_interval = context.poll_interval,
      .objective = objective_seconds(spec),
      .drain_seconds = spec.user_set.target_drain_seconds
                           ? std::optional<double>(std::max(spec.target_drain_seconds, 1))
                           : std::nullopt,
  };
  inputs.arrivals.rate = std::max(*observation.ingress_rate, 0.0);
  const Plan plan = plan_replicas(inputs);
  Recommendation recommendation{
      .replicas = plan.replicas,
      .applied_policy = Policy::kDrainTime,
      .inputs = describe_plan(observation, inputs, plan, context),
      .catch_up = plan.catch_up,
      .catch_up_detail = {},
  };
  if (plan.catch_up) {
    recommendation.catch_up_detail =
        "catch-up: projected lagSeconds " +
        seconds_text(std::max(plan.at_startup.head_age, plan.at_next_plan.head_age)) + " within " +
        seconds_text(inputs.startup_delay + inputs.poll_interval) + " exceeds the objective " +
        seconds_text(inputs.objective) + "; scale-up limits lifted, no scale-down";
  }
  return recommendation;
}

}  // namespace lagpilot::scaler
