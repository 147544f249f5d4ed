#pragma once
// Learning how many messages per second one replica processes, for the drainTime policy.
//
// Each successful poll may give one sample, egressRate / workers, for an EWMA. A sample must come
// from consumers that were all consuming and saturated for the whole interval the egress rate was
// measured over (since the previous poll); anything else is lower than their capacity and would
// make every scale-up ask for too many replicas. ThroughputEstimate::observe() takes a sample only
// when, in order:
//  1. Busy: the backlog is at least learning.min_backlog_seconds of work at the egress rate at
//     this poll and, when there was one, at the previous one (the interval's start). An idle
//     consumer's egress is the arrival rate, not its capacity.
//  2. Settled workers: workers (current replicas, or fewer when the group has fewer members, the
//     queue has work for fewer consumers, or fewer partitions had a backlog) were the same at this
//     poll and the two before it (those there were; a failed one counts as different): no join,
//     leave or the rebalance pause after one inside the interval.
//  3. Started: after the target's replicas grew while the source cannot count members (new pods
//     take a while to consume, and nothing else tells when they do), until the egress per worker
//     reaches kStartedShare of the rate before the change (the estimate, or the last busy poll's
//     rate) or startupDelaySeconds (kDefaultStartupSeconds when unset) have passed. Partly-ready
//     windows look exactly like lower capacity; only the new pods' arrival tells them apart.
//  4. No pause: the per-worker rate is at least kPauseShare of the previous busy poll's with the
//     same workers. A rebalance, restart or GC pause inside one interval shows as such a dip; a
//     lasting change passes at the next poll.
//  5. Not below the lower bound: the first sample is at least kStartedShare of lower_bound()
//     (below, a capacity no saturated consumer falls under). Rule 3's reference can itself come
//     from a poll while pods started (the demo's first poll: 3 msg/s for one replica), and then
//     a poll with one of ten pods consuming passed as started: the demo learned 15.4 msg/s per
//     replica against the true 150 and held ten replicas for 50 s. Counts as kStartingUp. Later
//     samples move the estimate by `smoothing` and pass rule 4, so a lasting slowdown is learned.
//
// Until the first sample, lower_bound() is the highest egressRate / members of any poll, members
// = min(replicas, consumers, maxUsefulConsumers) and no fewer than at the poll before (a member
// that left inside the interval did work the figure counts). Consumers never process more than
// they can; idle, starting, paused or partly ready ones only make a poll's figure lower, and so do
// members without work (which is why partitionsWithBacklog is not used here). So it is a lower
// bound of the capacity (up to the poll interval's average of the service noise), and a plan sized
// with it has at least the replicas one sized with the true rate would. With fast start-ups a
// short burst often ends before rules 1-4 ever pass (the backlog is gone within three polls of the
// last scale-up); the bound (one saturated poll makes it tight) lets the planner size and release
// instead of KEDA's lag-per-replica rule. Idle polls count too: their figure (the arrival rate
// per member) makes a plan ask for about 5 % more than the members there are (one replica more at
// low counts) until a busy poll raises it; without them a busy poll while new pods start (a tenth
// of the true rate) would be the only figure, and the plan would hold maxReplicas (tried: the
// randomized suite's replica-seconds doubled on ramps and long bursts at 5 s start-up).
#include <cstdint>
#include <optional>

#include "scaler/observation.h"
#include "scaler/spec.h"
#include "util/clock.h"

namespace lagpilot::scaler {

// What observe() did with a poll, for tests and traces.
enum class LearningStep {
  kSampled,
  kNotBusy,         // failed poll, no egress, or backlog below the minimum at either end
  kWorkersChanged,  // rule 2
  kStartingUp,      // rules 3 and 5
  kPaused,          // rule 4
};

class ThroughputEstimate {
 public:
  static constexpr double kStartedShare = 0.75;
  static constexpr double kPauseShare = 0.75;
  static constexpr int kDefaultStartupSeconds = 60;

  // Learns from one poll (rules above); current_replicas: the target's spec.replicas.
  LearningStep observe(const Observation& observation, int current_replicas,
                       const ScalingSpec& spec);

  // The first sample is taken as is; later ones move the estimate by `smoothing` of the difference.
  // observe() calls it; tests and the simulator may seed an estimate with it.
  void add_sample(double per_replica_rate, double smoothing);
  std::optional<double> per_replica_rate() const;
  int samples() const { return samples_; }
  // The highest egress per member of any poll (see above); nullopt before one.
  std::optional<double> lower_bound() const { return lower_bound_; }
  // What the planner sizes with: per_replica_rate(), else lower_bound().
  std::optional<double> planning_rate() const;

 private:
  struct Poll {
    std::optional<int> workers;  // nullopt: the poll failed
    int replicas = 0;            // the target's
    std::optional<std::int64_t> backlog;
    std::optional<double> busy_rate;  // per worker, when busy
  };
  // Waiting for workers added at `since` to show in the egress (rule 3).
  struct StartUp {
    WallTime since;
    std::optional<double> reference;  // per-worker rate before the change
  };
  void track_start_up(const Observation& observation, int current_replicas);
  void observe_lower_bound(const Observation& observation, int current_replicas);
  bool started(const Observation& observation, double rate, const ScalingSpec& spec);
  bool below_lower_bound(double rate) const;  // rule 5

  double per_replica_rate_ = 0;
  int samples_ = 0;
  std::optional<double> lower_bound_;
  std::optional<int> previous_members_;  // nullopt: no poll yet, or it failed
  std::optional<Poll> previous_;
  std::optional<Poll> before_previous_;
  std::optional<StartUp> start_up_;
};

// The consumers that could have worked at this poll: current_replicas, or fewer when the group has
// fewer members (pods still starting), the queue has work for fewer consumers (its partition
// count) or fewer partitions had a backlog (the owners of the others idled).
int workers(const Observation& observation, int current_replicas);

// The per-replica rate one observation alone shows (rule 1 at this poll only), or nullopt when it
// says nothing about capacity: egressRate / workers with a positive egress rate and a backlog of
// at least learning.min_backlog_seconds of work at that rate.
std::optional<double> busy_per_replica_rate(const Observation& observation, int current_replicas,
                                            const ThroughputLearning& learning);

}  // namespace lagpilot::scaler
