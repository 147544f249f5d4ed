#pragma once
// The default policy's planner (drainTime): how many replicas keep lagSeconds under the freshness
// objective T (objective_seconds(spec)) at the least cost. A fluid model of one FIFO queue:
// arrivals lambda msg/s, mu msg/s per working replica, backlog L whose oldest message is
// lagSeconds old. lagSeconds <= T means every message is consumed within T s of its arrival.
//
// What is ordered now works from now + D (the start-up delay) on, and the next poll's order from
// now + D + P (P: the poll interval). So, per poll:
//  1. Arrivals ahead: lambda plus its rise until the next poll's pods start (now + D + P) when
//     the rise is sustained (a ramp: rises at three readings running); a rise seen once or twice
//     (maybe a step, which shows as two rises when it falls inside a poll interval) adds half of
//     the last, once: extrapolating a step for D + P would multiply it.
//  2. Projection to now + D: the ready consumers work until then (pods still starting join at
//     their last scale-up + D), giving the backlog and its head's age at now + D.
//  3. Sizing, the largest of
//       keep up   ceil((arrivals ahead x 1.05 + 2 x noise) / mu); noise is the typical poll-to-poll
//                 change of arrivals, so ordinary jitter neither builds a backlog nor flips the
//                 count;
//       objective the fewest replicas (up to the most useful) whose projected head age is at most
//                 0.8 T at now + D + P and 0.5 T at now + D + T (the backlog left at the start-up
//                 is worked off within one objective, not held at T; else all useful replicas);
//       drain     only when the user wrote targetDrainSeconds W:
//                 ceil((arrivals ahead + backlog at now + D / W) / mu).
//     Keeping up alone never raises the count while the current one meets the objective with
//     the arrivals ahead: the rise waits until it does not (or catch-up), then goes to the whole
//     sizing in one action. A replica more at each poll of a ramp, or for a short burst the
//     current count absorbs within the objective, was an action and a rebalance each.
//     The zero-violation setting (drain within T / 2, no rate limit) sized every backlog
//     for a fast drain: more pods, each paying D of start-up and a hold before release, for the
//     same work. The objective term drains only as fast as the objective needs.
//  4. Catch-up: the projected lagSeconds at now + D with the ready consumers, or at now + D + P
//     with the current replicas, exceeds T. Not scaling beyond the current count now misses the
//     objective, so the engine lifts the scale-up rate limits, stabilization and tolerance (as
//     Knative's panic mode) and never scales down.
//  5. Release: fewer replicas only when they fit arrivals ahead x 1.1 + 3 x noise (a hysteresis
//     band of 5 % and one noise over the keep-up sizing: no flapping between two counts) and the
//     fewer replicas, working alone from now (released pods stop at once, starting ones first),
//     leave at most a second of arrivals queued at now + D; else all are kept. The hold before
//     release is the engine's (planner_guard_rails), and the engine releases in one step: a
//     scale-down the hold would cap at less than half of the excess waits for the window.
//  6. Below keeping up: when arrivals are just above what n replicas serve, keeping up needs
//     n + 1 and idles nearly one. n it is when n alone, from now, against arrivals x 1.05 + 2 x
//     noise, keep the head under 0.5 T for 10 x (D + P): the backlog builds slowly, the objective
//     term orders n + 1 when it needs to, and they go back to n once the backlog is gone (a duty
//     cycle, a few minutes a phase). Not while arrivals rise, in catch-up, with
//     targetDrainSeconds written, or to zero.
#include <optional>
#include <string>
#include <vector>

#include "scaler/spec.h"
#include "scaler/state.h"

namespace lagpilot::scaler {

// Before a start-up delay is learned and without spec.startupDelaySeconds.
inline constexpr double kDefaultStartupDelaySeconds = 30;
// Without two polls to measure it.
inline constexpr double kDefaultPollIntervalSeconds = 10;

// The queue at a moment of the projection.
struct QueueProjection {
  double backlog = 0;   // messages
  double head_age = 0;  // s: lagSeconds
};

// The queue `seconds` later with constant arrivals and service (msg/s). The backlog is taken as
// spread evenly over its head age (over backlog / arrivals when the age is unknown, i.e. 0).
QueueProjection project(QueueProjection from, double arrival_rate, double service_rate,
                        double seconds);

// Arrivals as the recent polls saw them.
struct ArrivalOutlook {
  double rate = 0;  // msg/s, the latest reading
  // msg/s more per poll: a rise seen at two polls running goes on by the smaller of the two per
  // poll (a ramp: `sustained`); a rise seen once may be a step caught mid-poll, of which on average
  // half is still to come, once. Falls are not extrapolated: release has its own rule.
  double rise = 0;
  bool sustained = false;
  double noise = 0;  // msg/s, the median absolute change between consecutive readings
};
ArrivalOutlook arrival_outlook(const std::vector<ArrivalReading>& readings);

struct PlanInputs {
  double backlog = 0;                 // messages
  std::optional<double> lag_seconds;  // the head's age, when the source reports it
  ArrivalOutlook arrivals;
  double per_replica_rate = 0;   // mu, > 0
  int ready_consumers = 0;       // working now
  int current_replicas = 0;      // including pods still starting
  double starting_ready_in = 0;  // s until the pods still starting work
  int most_useful_replicas = 0;  // maxReplicas or the queue's consumer limit
  double startup_delay = kDefaultStartupDelaySeconds;
  double poll_interval = kDefaultPollIntervalSeconds;
  double objective = 60;                // T, s
  std::optional<double> drain_seconds;  // targetDrainSeconds when the user wrote it (>= 1)
};

struct Plan {
  int replicas = 0;
  bool catch_up = false;
  double arrivals_ahead = 0;     // msg/s
  QueueProjection at_startup;    // at now + D with the ready (and starting) consumers
  QueueProjection at_next_plan;  // at now + D + P with the current replicas from now + D
  std::string sizing;            // which term decided: "keep up", "drain", "objective"
};

Plan plan_replicas(const PlanInputs& inputs);

// The start-up delay the planner uses: spec.startupDelaySeconds, else the learned one, else
// kDefaultStartupDelaySeconds.
double startup_delay_seconds(const ScalingSpec& spec, const ScalerState& state);

// The spec the guard rails apply for the default policy: what the user wrote as written, and the
// planner's choice for what they did not (spec.user_set):
//   scaleUp      no rate limit, no stabilization: the plan is sized to the objective, a limit
//                could only make it late;
//   scaleDown    no rate limit (all excess goes in one action: one rebalance), stabilization
//                `hold` = D + P: a replica is kept as long as it would take to bring it back
//                (ski rental: never more than twice the cost of the best choice in hindsight);
//                a scale-down that the window caps at less than half of the excess over the
//                latest recommendation waits for it (engine.cpp, apply_release_in_one_step);
//   cooldown     0: the stabilization window already holds after every scale-up.
// Other policies get the spec as written.
ScalingSpec planner_guard_rails(const ScalingSpec& spec, double startup_delay,
                                double poll_interval);

// The poll interval seen in the arrival readings (the latest gap), else the default.
double poll_interval_seconds(const std::vector<ArrivalReading>& readings);

}  // namespace lagpilot::scaler
