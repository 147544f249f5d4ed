#include "scaler/planner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "scaler/policies.h"

namespace lagpilot::scaler {
namespace {

constexpr double kNextPlanAgeShare = 0.8;   // head age at now + D + P, of T
constexpr double kRecoveredAgeShare = 0.5;  // head age at now + D + T, of T
constexpr double kKeepUpHeadroom = 0.05;    // capacity over arrivals when scaling up
constexpr double kReleaseHeadroom = 0.1;    // ... what fewer replicas must still have
constexpr double kKeepUpNoises = 2;         // noises of arrivals added when scaling up
constexpr double kReleaseNoises = 3;        // ... and when releasing
constexpr double kReleaseBacklogSeconds = 1;
constexpr std::size_t kRampReadings = 3;  // consecutive rises that make a ramp
// Below keeping up: one replica fewer than arrivals need, when the backlog it builds stays under
// kRecoveredAgeShare T for this many start-up-and-poll spans (D + P).
constexpr double kBelowKeepUpSpans = 10;

double seconds_between(WallTime earlier, WallTime later) {
  return std::chrono::duration<double>(later - earlier).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const auto middle = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), middle, values.end());
  if (values.size() % 2 == 1) return *middle;
  return (*middle + *std::max_element(values.begin(), middle)) / 2;
}

}  // namespace

namespace {

// The fewest replicas (from now + D) whose head age is at most kNextPlanAgeShare T when the next
// plan's pods start and kRecoveredAgeShare T one objective after the start-up; `most` when none.
int fewest_meeting_the_objective(QueueProjection at_startup, double arrivals, double mu, int most,
                                 double poll, double objective) {
  for (int replicas = 0; replicas < most; ++replicas) {
    const QueueProjection next = project(at_startup, arrivals, replicas * mu, poll);
    const QueueProjection recovered =
        project(next, arrivals, replicas * mu, std::max(objective - poll, 0.0));
    if (next.head_age <= kNextPlanAgeShare * objective &&
        recovered.head_age <= kRecoveredAgeShare * objective) {
      return replicas;
    }
  }
  return most;
}

}  // namespace

QueueProjection project(QueueProjection from, double arrival_rate, double service_rate,
                        double seconds) {
  if (seconds <= 0) return from;
  const double arrivals = std::max(arrival_rate, 0.0);
  const double served = std::max(service_rate, 0.0) * seconds;
  const double backlog = std::max(from.backlog, 0.0);
  if (served >= backlog) {
    // The old backlog is gone; the head is among the new arrivals.
    const double remaining = arrivals * seconds - (served - backlog);
    if (remaining <= 0 || arrivals <= 0) return {};
    return {.backlog = remaining, .head_age = seconds - (served - backlog) / arrivals};
  }
  double age = from.head_age;
  if (age <= 0) age = arrivals > 0 ? backlog / arrivals : 0;
  return {.backlog = backlog - served + arrivals * seconds,
          .head_age = age * (1 - served / backlog) + seconds};
}

ArrivalOutlook arrival_outlook(const std::vector<ArrivalReading>& readings) {
  ArrivalOutlook outlook;
  if (readings.empty()) return outlook;
  outlook.rate = readings.back().rate;
  std::vector<double> changes;
  for (std::size_t i = 1; i < readings.size(); ++i) {
    changes.push_back(readings[i].rate - readings[i - 1].rate);
  }
  if (!changes.empty() && changes.back() > 0) {
    // A ramp: rises at kRampReadings consecutive changes. Two are not enough: a step caught in the
    // middle of a poll interval shows as two rises (its part in that interval, then the rest).
    double smallest = changes.back();
    std::size_t rising = 0;
    for (auto change = changes.rbegin(); change != changes.rend() && *change > 0; ++change) {
      smallest = std::min(smallest, *change);
      if (++rising == kRampReadings) break;
    }
    outlook.sustained = rising >= kRampReadings;
    outlook.rise = outlook.sustained ? smallest : changes.back() / 2;
  }
  for (double& change : changes) change = std::abs(change);
  outlook.noise = median(std::move(changes));
  return outlook;
}

double poll_interval_seconds(const std::vector<ArrivalReading>& readings) {
  if (readings.size() < 2) return kDefaultPollIntervalSeconds;
  const double gap = seconds_between(readings[readings.size() - 2].time, readings.back().time);
  return gap > 0 ? gap : kDefaultPollIntervalSeconds;
}

Plan plan_replicas(const PlanInputs& in) {
  const double mu = in.per_replica_rate;
  const double delay = std::max(in.startup_delay, 0.0);
  const double poll = std::max(in.poll_interval, 1.0);
  const double objective = std::max(in.objective, 1.0);
  const int most = std::max(in.most_useful_replicas, 0);
  const auto capacity = [&](int replicas) { return std::min(replicas, most) * mu; };

  Plan plan;
  const double rises = in.arrivals.sustained ? (delay + poll) / poll : 1;
  plan.arrivals_ahead = std::max(in.arrivals.rate, 0.0) + std::max(in.arrivals.rise, 0.0) * rises;
  const double arrivals = plan.arrivals_ahead;

  const QueueProjection now{.backlog = in.backlog, .head_age = in.lag_seconds.value_or(0)};
  const double starting_ready_in = std::clamp(in.starting_ready_in, 0.0, delay);
  const int ready = std::min(in.ready_consumers, in.current_replicas);
  plan.at_startup = project(project(now, arrivals, capacity(ready), starting_ready_in), arrivals,
                            capacity(in.current_replicas), delay - starting_ready_in);
  const auto at_next_plan = [&](int replicas) {
    return project(plan.at_startup, arrivals, capacity(replicas), poll);
  };
  plan.at_next_plan = at_next_plan(in.current_replicas);
  plan.catch_up = plan.at_startup.head_age > objective || plan.at_next_plan.head_age > objective;

  const auto fits = [&](double headroom, double noises) {
    return ceil_replicas((arrivals * (1 + headroom) + noises * in.arrivals.noise) / mu);
  };
  plan.replicas = fits(kKeepUpHeadroom, kKeepUpNoises);
  plan.sizing = "keep up";
  const auto size_up = [&](int replicas, const char* sizing) {
    if (replicas <= plan.replicas) return;
    plan.replicas = replicas;
    plan.sizing = sizing;
  };
  if (in.drain_seconds) {
    size_up(ceil_replicas((arrivals + plan.at_startup.backlog / *in.drain_seconds) / mu),
            "targetDrainSeconds");
  }
  const int for_the_objective =
      fewest_meeting_the_objective(plan.at_startup, arrivals, mu, most, poll, objective);
  size_up(for_the_objective, "objective");
  if (!in.drain_seconds && plan.replicas > in.current_replicas && !plan.catch_up &&
      for_the_objective <= in.current_replicas) {
    // Coalescing: the current count still meets the objective with the arrivals ahead, so the
    // rise waits until it does not, and then goes up by the whole keep-up sizing at once (one
    // action, one rebalance) instead of a replica at each poll of a rise or a short burst.
    plan.replicas = in.current_replicas;
    plan.sizing = "keep up deferred: the objective holds";
  }
  if (plan.replicas < in.current_replicas) {
    // Release: fewer replicas only with the wider headroom, and only once the backlog is gone.
    size_up(std::min(fits(kReleaseHeadroom, kReleaseNoises), in.current_replicas), "hysteresis");
    // Released pods stop at once (starting ones first): the replicas kept must clear the backlog
    // within the start-up delay on their own, not with the help of those released.
    const auto kept_clear = [&](int kept) {
      const QueueProjection cleared =
          project(project(now, arrivals, capacity(std::min(ready, kept)), starting_ready_in),
                  arrivals, capacity(kept), delay - starting_ready_in);
      return cleared.backlog <= arrivals * kReleaseBacklogSeconds;
    };
    if (plan.catch_up || !kept_clear(plan.replicas)) {
      size_up(in.current_replicas, plan.catch_up ? "catch-up" : "backlog left");
    }
  }
  // Below keeping up (a duty cycle): arrivals just above what n replicas serve (416 msg/s on 404
  // per replica) need n + 1 to keep up, which idles nearly a replica. When n alone, from now,
  // with the arrivals keeping up provisions for (x 1.05 + 2 noises), build a backlog so slowly
  // that lagSeconds stays under half the objective for kBelowKeepUpSpans x (D + P): run n, and
  // let the objective term order n + 1 when the backlog needs it (the backlog then drains, and
  // n + 1 go back to n once it is gone and the hold has passed). Not while arrivals rise, in
  // catch-up, with targetDrainSeconds written, or to zero.
  const int fewer = plan.replicas - 1;
  if (!in.drain_seconds && !plan.catch_up && in.arrivals.rise <= 0 && fewer >= 1 &&
      plan.replicas <= in.current_replicas && capacity(fewer) < arrivals) {
    const double horizon = kBelowKeepUpSpans * (delay + poll);
    // The arrivals keeping up provisions for: the shortfall is not the mean's alone.
    const double provisioned = arrivals * (1 + kKeepUpHeadroom) + kKeepUpNoises * in.arrivals.noise;
    const QueueProjection later = project(now, provisioned, capacity(fewer), horizon);
    if (later.head_age <= kRecoveredAgeShare * objective) {
      plan.replicas = fewer;
      plan.sizing = "below keep-up: the backlog stays under half the objective";
    }
  }
  return plan;
}

double startup_delay_seconds(const ScalingSpec& spec, const ScalerState& state) {
  if (spec.startup_delay_seconds) return std::max(*spec.startup_delay_seconds, 0);
  return state.startup_delay().seconds().value_or(kDefaultStartupDelaySeconds);
}

ScalingSpec planner_guard_rails(const ScalingSpec& spec, double startup_delay,
                                double poll_interval) {
  if (spec.policy != Policy::kDrainTime) return spec;
  ScalingSpec effective = spec;
  if (!spec.user_set.scale_up) {
    effective.scale_up.stabilization_seconds = 0;
    effective.scale_up.max_pods_per_period = 0;
    effective.scale_up.max_percent_per_period = 0;
    effective.scale_up.select_policy = SelectPolicy::kMax;
  }
  if (!spec.user_set.scale_down) {
    effective.scale_down.stabilization_seconds =
        static_cast<int>(std::ceil(std::max(startup_delay, 0.0) + std::max(poll_interval, 0.0)));
    effective.scale_down.max_pods_per_period = 0;
    effective.scale_down.max_percent_per_period = 0;
    effective.scale_down.select_policy = SelectPolicy::kMax;
  }
  if (!spec.user_set.cooldown_seconds) effective.cooldown_seconds = 0;
  return effective;
}

}  // namespace lagpilot::scaler
