#include "sim/baselines/hpa_keda.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lagpilot::sim::baselines {
namespace {

int ceil_to_int(double value) {
  constexpr double kFloatNoise = 1e-9;
  if (!(value > 0)) return 0;
  return static_cast<int>(std::min(std::ceil(value - kFloatNoise), 1e9));
}

}  // namespace

HpaRules default_hpa_scale_up() {
  return HpaRules{
      .stabilization_window_seconds = 0,
      .policies = {{HpaPolicy::Type::kPercent, 100, 15}, {HpaPolicy::Type::kPods, 4, 15}},
      .select = HpaSelect::kMax};
}

HpaRules default_hpa_scale_down() {
  return HpaRules{.stabilization_window_seconds = 300,
                  .policies = {{HpaPolicy::Type::kPercent, 100, 15}},
                  .select = HpaSelect::kMax};
}

HorizontalPodAutoscaler::HorizontalPodAutoscaler(HpaConfig config) : config_(std::move(config)) {}

int HorizontalPodAutoscaler::change_in_period(const std::vector<ScaleEvent>& events,
                                              std::int64_t now, int period_seconds) const {
  int change = 0;
  for (const ScaleEvent& event : events) {
    if (event.time > now - period_seconds) change += event.change;  // strictly after the cutoff
  }
  return change;
}

int HorizontalPodAutoscaler::stabilize(std::int64_t now, int current, int desired,
                                       std::string& reason) {
  int up = desired;
  int down = desired;
  for (const Recommendation& past : recommendations_) {
    if (past.time > now - config_.scale_up.stabilization_window_seconds) {
      up = std::min(up, past.replicas);
    }
    if (past.time > now - config_.scale_down.stabilization_window_seconds) {
      down = std::max(down, past.replicas);
    }
  }
  int stabilized = current;
  if (stabilized < up) stabilized = up;
  if (stabilized > down) stabilized = down;

  const int longest = std::max(config_.scale_up.stabilization_window_seconds,
                               config_.scale_down.stabilization_window_seconds);
  std::erase_if(recommendations_,
                [&](const Recommendation& past) { return past.time <= now - longest; });
  recommendations_.push_back({now, desired});
  if (stabilized != desired) {
    reason = stabilized < desired ? "ScaleUpStabilized" : "ScaleDownStabilized";
  }
  return stabilized;
}

int HorizontalPodAutoscaler::normalize_legacy(std::int64_t now, int current, int desired,
                                              std::string& reason) {
  // stabilizeRecommendation: the highest recommendation of the downscale window, this one included.
  int stabilized = desired;
  for (const Recommendation& past : recommendations_) {
    if (past.time > now - config_.downscale_stabilization_seconds)
      stabilized = std::max(stabilized, past.replicas);
  }
  std::erase_if(recommendations_, [&](const Recommendation& past) {
    return past.time <= now - config_.downscale_stabilization_seconds;
  });
  recommendations_.push_back({now, desired});
  if (stabilized != desired) reason = "ScaleDownStabilized";
  // convertDesiredReplicasWithRules.
  const int scale_up_limit = std::max(2 * current, 4);  // calculateScaleUpLimit
  int most = config_.max_replicas;
  std::string limiting = "TooManyReplicas";
  if (most > scale_up_limit) {
    most = scale_up_limit;
    limiting = "ScaleUpLimit";
  }
  if (stabilized < config_.min_replicas) {
    reason = "TooFewReplicas";
    return config_.min_replicas;
  }
  if (stabilized > most) {
    reason = limiting;
    return most;
  }
  return stabilized;
}

int HorizontalPodAutoscaler::limit_rate(std::int64_t now, int current, int desired,
                                        std::string& reason) const {
  if (desired > current) {
    const HpaRules& rules = config_.scale_up;
    int limit = current;
    if (rules.select != HpaSelect::kDisabled) {
      limit = rules.select == HpaSelect::kMin ? std::numeric_limits<int>::max()
                                              : std::numeric_limits<int>::min();
      for (const HpaPolicy& policy : rules.policies) {
        const int start = current - change_in_period(scale_up_events_, now, policy.period_seconds) +
                          change_in_period(scale_down_events_, now, policy.period_seconds);
        const int proposed = policy.type == HpaPolicy::Type::kPods
                                 ? start + policy.value
                                 : static_cast<int>(std::ceil(start * (1 + policy.value / 100.0)));
        limit =
            rules.select == HpaSelect::kMin ? std::min(limit, proposed) : std::max(limit, proposed);
      }
    }
    limit = std::max(limit, current);
    int most = config_.max_replicas;
    std::string limiting = "TooManyReplicas";
    if (most > limit) {
      most = limit;
      limiting = "ScaleUpLimit";
    }
    if (desired > most) {
      reason = limiting;
      return most;
    }
  } else if (desired < current) {
    const HpaRules& rules = config_.scale_down;
    int limit = current;
    if (rules.select != HpaSelect::kDisabled) {
      limit = rules.select == HpaSelect::kMin ? std::numeric_limits<int>::min()
                                              : std::numeric_limits<int>::max();
      for (const HpaPolicy& policy : rules.policies) {
        const int start = current +
                          change_in_period(scale_down_events_, now, policy.period_seconds) -
                          change_in_period(scale_up_events_, now, policy.period_seconds);
        const int proposed = policy.type == HpaPolicy::Type::kPods
                                 ? start - policy.value
                                 : static_cast<int>(start * (1 - policy.value / 100.0));
        limit =
            rules.select == HpaSelect::kMin ? std::max(limit, proposed) : std::min(limit, proposed);
      }
    }
    limit = std::min(limit, current);
    int least = config_.min_replicas;
    std::string limiting = "TooFewReplicas";
    if (least < limit) {
      least = limit;
      limiting = "ScaleDownLimit";
    }
    if (desired < least) {
      reason = limiting;
      return least;
    }
  }
  return desired;
}

HpaDecision HorizontalPodAutoscaler::reconcile(std::int64_t now, int current_replicas,
                                               std::optional<double> metric_total,
                                               double target_average_value) {
  HpaDecision decision;
  const int current = std::max(current_replicas, 0);
  decision.current_replicas = current;
  decision.desired_replicas = current;
  if (!initialized_) {  // recordInitialRecommendation
    recommendations_.push_back({now, current});
    initialized_ = true;
  }
  if (current == 0 && config_.min_replicas != 0) {
    decision.reason = "ScalingDisabled";
    return decision;
  }
  if (current > config_.max_replicas) {
    decision.desired_replicas = config_.max_replicas;
    decision.reason = "TooManyReplicas";
  } else if (current < config_.min_replicas) {
    decision.desired_replicas = config_.min_replicas;
    decision.reason = "TooFewReplicas";
  } else {
    if (!metric_total || target_average_value <= 0) {
      decision.reason = "FailedGetExternalMetric";
      return decision;
    }
    int proposal = current;
    const double usage_ratio = *metric_total / (target_average_value * current);
    if (std::abs(1.0 - usage_ratio) > config_.tolerance) {
      proposal = ceil_to_int(*metric_total / target_average_value);
    }
    decision.metric_replicas = proposal;
    decision.reason = "DesiredWithinRange";
    if (config_.legacy_behavior) {
      decision.desired_replicas = normalize_legacy(now, current, proposal, decision.reason);
    } else {
      const int stabilized = stabilize(now, current, proposal, decision.reason);
      decision.desired_replicas = limit_rate(now, current, stabilized, decision.reason);
    }
  }
  if (decision.desired_replicas > current) {
    scale_up_events_.push_back({now, decision.desired_replicas - current});
  } else if (decision.desired_replicas < current) {
    scale_down_events_.push_back({now, current - decision.desired_replicas});
  }
  // Events older than every period can no longer limit anything.
  int longest = 0;
  for (const auto* rules : {&config_.scale_up, &config_.scale_down}) {
    for (const HpaPolicy& policy : rules->policies)
      longest = std::max(longest, policy.period_seconds);
  }
  for (auto* events : {&scale_up_events_, &scale_down_events_}) {
    std::erase_if(*events, [&](const ScaleEvent& event) { return event.time <= now - longest; });
  }
  return decision;
}

double keda_kafka_metric(std::int64_t total_lag, int partitions, const KedaKafkaConfig& config) {
  const std::int64_t lag = std::max<std::int64_t>(total_lag, 0);
  const auto threshold = static_cast<std::int64_t>(config.lag_threshold);
  if (!config.allow_idle_consumers && partitions > 0 && threshold > 0 &&
      lag / threshold > partitions) {  // Go's integer division
    return static_cast<double>(partitions * threshold);
  }
  return static_cast<double>(lag);
}

HpaKedaConfig hpa_keda_config_for(const scaler::ScalingSpec& spec) {
  HpaKedaConfig config;
  config.keda.lag_threshold =
      static_cast<double>(std::max<std::int64_t>(spec.target_lag_per_replica, 1));
  config.keda.activation_lag_threshold = spec.activation_lag;
  config.keda.min_replica_count = spec.min_replicas;
  config.keda.max_replica_count = spec.max_replicas;
  // KEDA gives the HPA minReplicas = max(minReplicaCount, 1) and handles 0 <-> 1 itself.
  config.hpa.min_replicas = std::max(spec.min_replicas, 1);
  config.hpa.max_replicas = std::max(spec.max_replicas, config.hpa.min_replicas);
  config.hpa.legacy_behavior = true;  // KEDA sets spec.behavior only from `advanced`
  return config;
}

HpaKedaAutoscaler::HpaKedaAutoscaler(HpaKedaConfig config)
    : config_(std::move(config)), hpa_(config_.hpa), last_active_(0) {}

std::optional<int> HpaKedaAutoscaler::tick(const QueueState& now, int current_replicas) {
  const KedaKafkaConfig& keda = config_.keda;
  const std::int64_t t = now.time;
  const auto lag = static_cast<std::int64_t>(std::llround(now.lag));
  if (t % std::max(keda.metric_refresh_seconds, 1) == 0) {
    metric_ = keda_kafka_metric(lag, now.partitions, keda);
  }
  if (t % std::max(keda.polling_interval_seconds, 1) == 0) {
    active_ = lag > keda.activation_lag_threshold;
    if (active_) last_active_ = t;
    if (keda.min_replica_count == 0) {  // KEDA's own 0 <-> 1 scaling
      if (current_replicas == 0 && active_) return 1;
      if (current_replicas > 0 && !active_ && t - *last_active_ >= keda.cooldown_period_seconds) {
        return 0;
      }
    }
  }
  if (t % std::max(config_.hpa.sync_period_seconds, 1) == 0) {
    const HpaDecision decision = hpa_.reconcile(t, current_replicas, metric_, keda.lag_threshold);
    if (decision.rescale()) return decision.desired_replicas;
  }
  return std::nullopt;
}

}  // namespace lagpilot::sim::baselines
