#pragma once
// The discrete-time queue model: a Kafka topic drained by a consumer group, one step per simulated
// second.
//
// - Arrivals: the trace's rate, spread evenly over each second (a fluid model: lag is a real
//   number of messages; polls report it rounded).
// - Service: each consuming replica processes service_rate msg/s times (1 + service_noise * z),
//   z standard normal, drawn per replica and second (never below 0). Messages are consumed in
//   arrival order (one FIFO: partitions are assumed evenly loaded), unless partition_skew:
//   arrivals are spread evenly over the partitions, partition p belongs to member p mod n, and
//   each member shares its rate among its own partitions (what one needs less of goes to its
//   others); members with more partitions fall behind first (12 over 5: three have 2, two have 3).
// - Pods: scaling up creates pods at once; each joins the group startup_delay seconds later
//   (a pod created at t consumes from second t + startup_delay on; a poll at that instant does not
//   count it yet: it joins during that second, not exactly at the poll). With startup_delays, each
//   scale-up draws its pods' delay from that list (seeded); a fractional delay consumes the rest of
//   the second it ends in (2.5 s: half of second 2). With startup_profiles, the pods of one
//   scale-up join apart, as one measured scale-up's did (staggered readiness).
//   Scaling down deletes the pods that are still starting first, then the youngest. Replicas
//   (and replica-seconds) count every pod, starting or not: they all cost.
// - Partition cap: at most `partitions` group members consume; the rest sit idle.
// - Rebalance: whenever group membership changes (a pod joins, or a member is deleted),
//   consumption stops for rebalance_pause seconds (an eager Kafka rebalance), from the instant of
//   the change; a fraction of a second stops that part of the second.
// - Commits (commit_interval > 0): polls see the committed offsets, which trail the processed
//   ones by the time since the last commit, drawn uniformly in [0, commit_interval) at each poll
//   (seeded; never moving back): lag, lagSeconds and the egress rate are those of the position
//   then, so egress between two polls is off by up to commit_interval x the rate.
//   `processed` stays what was processed.
// - Group members: a poll sees them unless group_members_visible is false (a cluster that cannot
//   describe groups, as librdkafka's mock: the engine then cannot learn the start-up delay).
// - Consumer stalls: during each [start, start + length) window the group's members stay members
//   but consume nothing (a poison message, a downstream outage): the committed offsets stop while
//   lag grows. More replicas do not help there.
// - lagSeconds: the age of the oldest unconsumed message (exact, as the Kafka source's "fetch"
//   method reads it; with partition skew, on the most behind partition), 0 without lag.
// Every piece added by replaying real runs (sim/replay.h) is off by default.
// - latency (for the seed rule and depthLatency): lagSeconds + 1 / service_rate, i.e. the wait of
//   the message at the head of the queue plus one message's service time.
#include <cstdint>
#include <optional>
#include <vector>

#include "sim/rng.h"

namespace lagpilot::sim {

struct StallWindow {
  std::int64_t start = 0;   // s since the start of the run
  std::int64_t length = 0;  // s
};

struct ModelConfig {
  double service_rate = 400;        // msg/s per consuming replica, on average
  double service_noise = 0.1;       // relative standard deviation, per replica and second
  std::int64_t startup_delay = 20;  // s from pod creation to consuming
  int partitions = 24;              // consumers beyond this sit idle
  double rebalance_pause = 0;  // s without consumption after each membership change (fractions ok)
  std::vector<StallWindow> consumer_stalls;  // the group consumes nothing in these windows
  std::uint64_t seed = 1;
  // Start-up delay distribution (s, fractions allowed): when not empty, each scale-up's new pods
  // start after a delay drawn from these (uniformly, seeded) instead of startup_delay.
  std::vector<double> startup_delays;
  // Per-partition skew: arrivals spread evenly over the partitions, partition p consumed by
  // member p mod n, each member's rate shared among its own partitions. false: one FIFO.
  bool partition_skew = false;
  // s between offset commits: polls see the committed offsets, which trail the processed ones by
  // up to this (drawn per poll). 0: polls see what was processed.
  double commit_interval = 0;
  // Whether polls see the group's members (a Kafka cluster that cannot describe groups: false).
  bool group_members_visible = true;
  // Staggered readiness: when not empty (it wins over startup_delays), each scale-up draws one
  // of these profiles (uniformly, seeded), each the delays (s, ascending) after which the pods of
  // one real scale-up joined; pod k of m new pods starts after the profile's (k + 0.5) / m
  // quantile. A Deployment creates pods in growing batches (1, 2, 4, ...) and they turn ready
  // apart, so 10 pods ordered at once joined over 4.5-7.2 s in one demo run.
  std::vector<std::vector<double>> startup_profiles;
};

// The queue at one instant: what a poll at `time` sees, and what the last second did.
struct QueueState {
  std::int64_t time = 0;   // seconds since the start
  double produced = 0;     // messages produced so far (sum of the high watermarks)
  double consumed = 0;     // messages consumed so far (sum of the committed offsets)
  double lag = 0;          // produced - consumed
  double lag_seconds = 0;  // age of the oldest unconsumed message
  double latency_seconds = 0;
  int replicas = 0;   // pods: spec.replicas of the target
  int consumers = 0;  // group members: pods that had joined during the last second
  int consuming = 0;  // members that consumed during the last second (partition cap,
                      // 0 while rebalancing)
  int partitions = 0;
  bool members_visible = true;                 // false: a poll cannot see the group's members
  std::optional<int> partitions_with_backlog;  // partition_skew only: partitions with lag
  bool rebalancing = false;                    // consumption stalled during the last second
  bool stuck = false;                          // the last second was in a consumer stall window
  double arrivals = 0;                         // messages that arrived during the last second
  double processed = 0;                        // messages consumed during the last second
  double capacity = 0;  // what the group could have consumed during the last second
};

class QueueModel {
 public:
  // Starts at time 0 with `initial_replicas` pods, all already consuming, and no lag.
  QueueModel(const ModelConfig& config, int initial_replicas);

  // Sets spec.replicas now (the change applies from the current second on).
  void set_replicas(int replicas);
  // Advances one second with `arrival_rate` msg/s arriving.
  const QueueState& advance(double arrival_rate);
  const QueueState& state() const { return state_; }
  const ModelConfig& config() const { return config_; }

 private:
  struct Pod {
    double ready_at = 0;  // consumes from this instant on
  };
  int count_members(std::int64_t time) const;
  // The share of second `time` from instant `from` on (1 when `from` is before it).
  static double share_of_second(double from, std::int64_t time);
  double process(double capacity_total, const std::vector<double>& capacities, double arrivals);
  // Where `history` (a value at each whole second) stood at instant `at` (interpolated).
  static double committed(const std::vector<double>& history, double at);

  ModelConfig config_;
  Rng rng_;
  Rng startup_rng_;
  Rng commit_rng_;
  std::vector<Pod> pods_;  // oldest first
  int members_ = 0;
  double stalled_until_ = 0;  // no consumption before this instant
  QueueState state_;
  double consumed_ = 0;  // messages processed so far (state_.consumed: committed)
  std::vector<double> partition_consumed_;  // partition_skew: processed per partition
  // At each whole second: processed messages, and the oldest unprocessed message's position in
  // the arrival order (partition_skew: the most behind partition's), for commit_interval.
  std::vector<double> consumed_at_;
  std::vector<double> position_at_;
  double committed_ = 0;           // what polls see with commit_interval
  double committed_position_ = 0;  // idem, the oldest unprocessed message's position
  // produced_until_[s]: messages produced before second s, for lagSeconds.
  std::vector<double> produced_until_;
  std::vector<double> rate_at_;
  std::size_t oldest_second_ = 0;
};

}  // namespace lagpilot::sim
