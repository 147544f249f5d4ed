#pragma once
// The reaction bound (bench_scaling's column; docs/simulate.md, "Which violations a causal policy
// cannot avoid"): violation-seconds that remain in a counterfactual of a run (lagpilot's, in the
// bench) in which the capacity is the run's own (its ready members x the mean service rate, no
// rebalance pauses) except that every useful consumer works from D after any poll that sees the
// queue behind: a backlog, or arrivals over the poll interval above the run's capacity at that
// poll. Per second t (a fluid FIFO queue; consumed(t) counts messages consumed by t, arrived(x)
// those arrived by x):
//   capacity(t) = max_consumers x rate  when the latest poll r <= t - D saw the queue behind,
//                 else min(members(t), max_consumers) x rate;
//   violation at t: consumed(t) < arrived(t - objective) - 0.5 (lagSeconds > objective).
// The counterfactual's capacity is at least the run's at every second, so it consumes at least as
// much by every t and has at most the run's violations. Its reaction is the fastest there is (all
// consumers, ordered at the first poll that shows the rise, working D later); what it still
// violates happens before the rise can be seen and acted on: between the rise and the first poll
// after it, plus D. No reaction to what has been observed removes those seconds: only capacity
// held before the rise (standing headroom) or a forecast does. So run - bound is what a better
// reaction could avoid, the bound what only headroom could. It is relative to the run: when the
// run held too little before a rise (e.g. released too early), those seconds count here too; it
// separates reaction from standing capacity, it is not a minimum over all policies.
#include <cstdint>
#include <vector>

#include "sim/simulation.h"

namespace lagpilot::sim {

struct ReactionBoundInputs {
  double service_rate = 400;        // msg/s per consuming replica (the model's mean)
  std::int64_t startup_delay = 20;  // s, D
  int max_consumers = 24;           // min(partitions, maxReplicas)
  double objective_seconds = 30;
  std::int64_t poll_interval = 10;  // s; polls at 0, P, 2P, ...
};

// `series`: the run's per-second records (RunOptions::keep_series), from t = 0.
double reaction_bound_violation_seconds(const std::vector<SecondRecord>& series,
                                        const ReactionBoundInputs& inputs);

}  // namespace lagpilot::sim
