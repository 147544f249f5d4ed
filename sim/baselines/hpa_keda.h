#pragma once
// Baseline: KEDA's Apache Kafka scaler feeding a Kubernetes HorizontalPodAutoscaler, as deployed
// without tuning (a ScaledObject with a kafka trigger and no `advanced` section).
//
// Sources (see docs/simulate.md for the links):
// - KEDA, pkg/scalers/kafka_scaler.go, getTotalLag: the metric is the group's total lag; the HPA
//   gets it as an External metric with an AverageValue target of lagThreshold, so desired =
//   ceil(totalLag / lagThreshold). Unless allowIdleConsumers, when totalLag / lagThreshold
//   (integer division) exceeds the partition count, the reported lag becomes partitions *
//   lagThreshold; so partitions + 1 replicas are reachable (lag just under (P+1) * threshold).
//   activationLagThreshold decides 0 <-> 1 (with minReplicaCount 0).
// - KEDA, ScaledObject spec: pollingInterval 30 s (activation), cooldownPeriod 300 s (only for
//   scaling to zero). useCachedMetrics (apis/keda/v1alpha1/scaletriggers_types.go) is a per-trigger
//   opt-in, false by default: KEDA's metrics server then reads Kafka at every HPA request
//   (pkg/scaling/scale_handler.go, GetScaledObjectMetrics), so the HPA sees a fresh value at each
//   15 s sync (metric_refresh_seconds 15). 30 reproduces useCachedMetrics: true.
// - KEDA, controllers/keda/hpa.go (newHPAForScaledObject): spec.behavior comes only from
//   advanced.horizontalPodAutoscalerConfig.behavior; without `advanced` the HPA has none and takes
//   its legacy path (below).
// - Kubernetes, "Horizontal Pod Autoscaling" (kubernetes.io/docs/tasks/run-application/
//   horizontal-pod-autoscale/) and pkg/controller/podautoscaler (horizontal.go,
//   replica_calculator.go): sync every 15 s; for an External AverageValue metric
//   usageRatio = total / (target * currentReplicas), no change while |usageRatio - 1| <= 0.1,
//   otherwise ceil(total / target); stabilization (the window starts with the current replicas,
//   recordInitialRecommendation): up to the lowest recommendation of the scale-up window, down to
//   the highest of the scale-down window; then the rate policies from the replicas at the
//   period's start (events strictly inside the period); min/maxReplicas.
//   With spec.behavior (v2 defaults): scaleUp window 0 s, policies Percent 100 / 15 s and Pods
//   4 / 15 s, selectPolicy Max; scaleDown window 300 s, policy Percent 100 / 15 s.
//   Without spec.behavior (what KEDA creates; horizontal.go, normalizeDesiredReplicas):
//   stabilizeRecommendation takes the highest recommendation of the last
//   --horizontal-pod-autoscaler-downscale-stabilization (300 s), and
//   convertDesiredReplicasWithRules caps a scale-up at calculateScaleUpLimit = max(2 * current, 4)
//   per sync (scaleUpLimitFactor 2, scaleUpLimitMinimum 4), with no scale-down rate limit.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scaler/spec.h"
#include "sim/autoscaler.h"

namespace lagpilot::sim::baselines {

struct HpaPolicy {
  enum class Type { kPods, kPercent };
  Type type = Type::kPods;
  int value = 0;
  int period_seconds = 15;
};

enum class HpaSelect { kMax, kMin, kDisabled };

struct HpaRules {
  int stabilization_window_seconds = 0;
  std::vector<HpaPolicy> policies;
  HpaSelect select = HpaSelect::kMax;
};

HpaRules default_hpa_scale_up();    // 0 s; Percent 100 / 15 s, Pods 4 / 15 s; Max
HpaRules default_hpa_scale_down();  // 300 s; Percent 100 / 15 s; Max

struct HpaConfig {
  int min_replicas = 1;
  int max_replicas = 10;
  double tolerance = 0.1;        // --horizontal-pod-autoscaler-tolerance
  int sync_period_seconds = 15;  // --horizontal-pod-autoscaler-sync-period
  HpaRules scale_up = default_hpa_scale_up();
  HpaRules scale_down = default_hpa_scale_down();
  // spec.behavior is nil: the legacy path (normalizeDesiredReplicas) instead of scale_up /
  // scale_down.
  bool legacy_behavior = false;
  int downscale_stabilization_seconds = 300;  // --horizontal-pod-autoscaler-downscale-stabilization
};

struct HpaDecision {
  int current_replicas = 0;
  int desired_replicas = 0;
  std::optional<int> metric_replicas;  // the metric's proposal before behavior; none without data
  std::string reason;                  // the HPA's condition reason, e.g. "ScaleDownStabilized"

  bool rescale() const { return desired_replicas != current_replicas; }
};

// The HPA controller's reconcile of one HPA with one External metric and an AverageValue target.
// Keeps the controller's in-memory recommendations and scale events. Time in seconds.
class HorizontalPodAutoscaler {
 public:
  explicit HorizontalPodAutoscaler(HpaConfig config);

  // current_replicas: scale.spec.replicas. metric_total: the External metric's value (nullopt:
  // the metric is unavailable and nothing changes). A rescale is recorded as a scale event.
  HpaDecision reconcile(std::int64_t now, int current_replicas, std::optional<double> metric_total,
                        double target_average_value);

  const HpaConfig& config() const { return config_; }

 private:
  struct Recommendation {
    std::int64_t time = 0;
    int replicas = 0;
  };
  struct ScaleEvent {
    std::int64_t time = 0;
    int change = 0;  // replicas added (up events) or removed (down events)
  };
  int stabilize(std::int64_t now, int current, int desired, std::string& reason);
  int normalize_legacy(std::int64_t now, int current, int desired, std::string& reason);
  int limit_rate(std::int64_t now, int current, int desired, std::string& reason) const;
  int change_in_period(const std::vector<ScaleEvent>& events, std::int64_t now,
                       int period_seconds) const;

  HpaConfig config_;
  bool initialized_ = false;
  std::vector<Recommendation> recommendations_;
  std::vector<ScaleEvent> scale_up_events_;
  std::vector<ScaleEvent> scale_down_events_;
};

struct KedaKafkaConfig {
  double lag_threshold = 5000;  // trigger metadata lagThreshold (KEDA's default is 10)
  std::int64_t activation_lag_threshold = 0;
  bool allow_idle_consumers = false;
  int polling_interval_seconds = 30;
  int cooldown_period_seconds = 300;
  int min_replica_count = 1;  // ScaledObject minReplicaCount (KEDA's default is 0)
  int max_replica_count = 10;
  // How often the value the HPA reads is refreshed: 15 (every HPA sync) without useCachedMetrics,
  // KEDA's default; pollingInterval with it.
  int metric_refresh_seconds = 15;
};

// The value KEDA's Kafka scaler reports for the HPA (getTotalLag): total lag; unless
// allowIdleConsumers, partitions * lagThreshold once totalLag / lagThreshold (integer division)
// exceeds the partition count (partitions 0 = unknown: no cap).
double keda_kafka_metric(std::int64_t total_lag, int partitions, const KedaKafkaConfig& config);

struct HpaKedaConfig {
  KedaKafkaConfig keda;
  HpaConfig hpa;
};

// The baseline for a QueueMonitor: lagThreshold = targetLagPerReplica, activationLagThreshold =
// activationLag, min/maxReplicaCount = min/maxReplicas; everything else KEDA's and the HPA's
// defaults as shipped: no useCachedMetrics, no `advanced` (so the HPA's legacy behavior).
HpaKedaConfig hpa_keda_config_for(const scaler::ScalingSpec& spec);

class HpaKedaAutoscaler final : public Autoscaler {
 public:
  explicit HpaKedaAutoscaler(HpaKedaConfig config);
  std::string name() const override { return "hpa-keda"; }
  std::optional<int> tick(const QueueState& now, int current_replicas) override;

 private:
  HpaKedaConfig config_;
  HorizontalPodAutoscaler hpa_;
  std::optional<double> metric_;
  bool active_ = false;
  std::optional<std::int64_t> last_active_;
};

}  // namespace lagpilot::sim::baselines
