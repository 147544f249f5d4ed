#pragma once
// Baseline: the seed rule, the threshold autoscaler lagpilot was started to replace (and what the
// engine's depthLatency policy reproduces, without its guard rails):
//   queue depth > 1,000 and latency > 500 ms  -> double the consumers (from 0: 1), up to 50;
//   queue depth < 100 and latency < 100 ms    -> halve them (rounded up, as depthLatency does),
//                                                down to 1;
//   otherwise hold. Evaluated at every poll, with no stabilization, rate limit or cooldown.
// Depth is the consumer lag. Latency is the model's (sim/model.h): the head-of-queue wait
// (lagSeconds) plus one message's service time, what a processing-latency metric of the consumers
// would show. The cap is the rule's 50, not the partition count: extra consumers sit idle.
#include <cstdint>

#include "sim/autoscaler.h"

namespace lagpilot::sim::baselines {

struct SeedRuleConfig {
  int poll_interval_seconds = 10;
  int min_replicas = 1;
  int max_replicas = 50;
  std::int64_t scale_up_depth = 1000;       // exclusive
  double scale_up_latency_seconds = 0.5;    // exclusive
  std::int64_t scale_down_depth = 100;      // exclusive
  double scale_down_latency_seconds = 0.1;  // exclusive
};

// The rule's answer for one poll.
int seed_rule_replicas(const SeedRuleConfig& config, std::int64_t depth, double latency_seconds,
                       int current_replicas);

class SeedRuleAutoscaler final : public Autoscaler {
 public:
  explicit SeedRuleAutoscaler(SeedRuleConfig config) : config_(config) {}
  std::string name() const override { return "seed"; }
  std::optional<int> tick(const QueueState& now, int current_replicas) override;

 private:
  SeedRuleConfig config_;
};

}  // namespace lagpilot::sim::baselines
