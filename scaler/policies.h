#pragma once
// The policies: each turns one observation into a raw replica count, before any guard rail.
#include <optional>
#include <string>

#include "scaler/observation.h"
#include "scaler/planner.h"
#include "scaler/spec.h"
#include "util/result.h"

namespace lagpilot::scaler {

struct Recommendation {
  int replicas = 0;
  Policy applied_policy = Policy::kDrainTime;  // drainTime may fall back to lagPerReplica
  std::string inputs;  // the numbers behind `replicas`, e.g. "lag 48,200 msgs, 96 s behind, ..."
  // drainTime: the objective is at risk (planner.h, step 4); catch_up_detail says by how much.
  bool catch_up = false;
  std::string catch_up_detail;
};

// What drainTime plans with besides the spec and the observation (planner.h).
struct PlanContext {
  // Learned, else its lower bound (ThroughputEstimate::planning_rate); nullopt: neither yet.
  std::optional<double> per_replica_rate;
  bool per_replica_rate_is_lower_bound = false;
  ArrivalOutlook arrivals;  // its rate is replaced by the observation's ingress
  int current_replicas = 0;
  int ready_consumers = 0;
  double starting_ready_in = 0;
  int most_useful_replicas = 0;
  double startup_delay = kDefaultStartupDelaySeconds;
  const char* startup_delay_source = "default";  // "learned", "spec" or "default"
  double poll_interval = kDefaultPollIntervalSeconds;
};

// Error code for an observation without the metrics a policy needs.
inline constexpr char kMissingMetric[] = "MissingMetric";

// KEDA's lag-per-replica rule: ceil(backlog / targetLagPerReplica).
Result<Recommendation> recommend_lag_per_replica(const ScalingSpec& spec,
                                                 const Observation& observation);

// The default policy: plan_replicas() for the objective (objective_seconds(spec));
// targetDrainSeconds only when the user wrote it. Without a learned per-replica rate or without an
// ingress rate it cannot size anything, and applies the lagPerReplica rule instead.
Result<Recommendation> recommend_drain_time(const ScalingSpec& spec, const Observation& observation,
                                            const PlanContext& context);

// The seed rule. depth > 1,000 msgs and latency > 500 ms: double (from 0: 1); depth < 100 msgs and
// latency < 100 ms: halve, rounding up; otherwise hold. Depth is the queue depth, else the lag.
Result<Recommendation> recommend_depth_latency(const Observation& observation,
                                               int current_replicas);

// "lag 48,200 msgs, 96 s behind" (or "depth ..." for sources without consumer lag).
std::string describe_backlog(const Observation& observation);

// ceil(value) as a replica count; tolerant of float noise (8.0000000001 -> 8), saturating.
int ceil_replicas(double value);

}  // namespace lagpilot::scaler
