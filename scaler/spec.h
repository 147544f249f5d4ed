#pragma once
// spec.scaling of a QueueMonitor as the engine consumes it. The controller parses the CRD into
// this; every default here equals the CRD default.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lagpilot::scaler {

enum class Mode { kActive, kDryRun };
enum class Policy { kDrainTime, kLagPerReplica, kDepthLatency };
// How the pods and percent limits of one direction combine (HPA selectPolicy). kMax: the larger
// allowed change wins (HPA default); kMin: the smaller; kDisabled: never scale in this direction.
enum class SelectPolicy { kMax, kMin, kDisabled };

// HPA behavior.scaleUp / behavior.scaleDown. A limit <= 0 is treated as not set; with neither limit
// set the direction is not rate limited.
struct ScalingRules {
  int stabilization_seconds = 0;
  int max_pods_per_period = 4;
  int max_percent_per_period = 100;
  int period_seconds = 15;
  SelectPolicy select_policy = SelectPolicy::kMax;
};

struct Fallback {
  int failure_threshold = 3;
  std::optional<int> replicas;  // nullopt: no fallback, hold current replicas while data is missing
};

// How drainTime learns per-replica throughput. Not part of the CRD; the defaults are meant to stay.
struct ThroughputLearning {
  double smoothing = 0.3;  // EWMA weight of the newest sample
  // A sample counts only when the backlog is at least this many seconds of work at the observed
  // drain rate: below that, consumers may be idle-waiting (e.g. on commits every 5 s) and egress
  // measures arrivals, not capacity.
  double min_backlog_seconds = 10;
};

struct ScalingSpec {
  Mode mode = Mode::kActive;
  Policy policy = Policy::kDrainTime;
  int min_replicas = 1;
  int max_replicas = 10;
  int target_drain_seconds = 60;
  std::int64_t target_lag_per_replica = 5000;
  std::int64_t activation_lag = 0;
  double tolerance = 0.1;
  ScalingRules scale_up{.stabilization_seconds = 0,
                        .max_pods_per_period = 4,
                        .max_percent_per_period = 100,
                        .period_seconds = 15};
  ScalingRules scale_down{.stabilization_seconds = 300,
                          .max_pods_per_period = 4,
                          .max_percent_per_period = 50,
                          .period_seconds = 60};
  int cooldown_seconds = 30;
  Fallback fallback;
  int history_limit = 20;  // status.scalingHistory length; used by the controller, not the engine
  ThroughputLearning learning;

  // The freshness objective the default policy plans for: lagSeconds <= this. The goodWhen
  // threshold of the first spec.slos item on metric lagSeconds (op "<=" or "<"); nullopt without
  // one, and then targetDrainSeconds is the objective (objective_seconds()).
  std::optional<double> freshness_objective_seconds;
  // spec.scaling.startupDelaySeconds: seconds from a scale-up to the new consumers doing work.
  // nullopt: learned per monitor from what the source reports.
  std::optional<int> startup_delay_seconds;
  // Which of the fields the planner otherwise chooses the user wrote. The CRD gives these no
  // schema default, so an omitted field stays omitted and the planner may choose; a written one
  // applies as written ("explicit settings win"). Their values above are the documented defaults
  // either way.
  struct UserSet {
    bool target_drain_seconds = false;
    bool scale_up = false;    // spec.scaling.scaleUp (any of its fields)
    bool scale_down = false;  // spec.scaling.scaleDown (any of its fields)
    bool cooldown_seconds = false;
  };
  UserSet user_set;
};

// The lagSeconds bound the default policy plans for: freshness_objective_seconds, else
// targetDrainSeconds.
double objective_seconds(const ScalingSpec& spec);

// CRD spellings: "drainTime", "lagPerReplica", "depthLatency"; parsing is case-sensitive.
std::string to_string(Policy policy);
std::optional<Policy> parse_policy(std::string_view text);
// "Active", "DryRun".
std::string to_string(Mode mode);
std::optional<Mode> parse_mode(std::string_view text);

// Checks what the CRD schema cannot (minReplicas <= maxReplicas) and what it does, for specs that
// did not come through the API server. Error code "InvalidSpec", message names the field.
Status validate(const ScalingSpec& spec);

}  // namespace lagpilot::scaler
