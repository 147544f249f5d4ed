#pragma once
// What one poll measured, by the names status.metrics uses, and which names alert rules and SLOs
// may refer to.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lagpilot::alerts {

// Metric names as in status.metrics (and spec.alerts[].metric).
namespace metric {
inline constexpr std::string_view kConsumerLag = "consumerLag";
inline constexpr std::string_view kQueueDepth = "queueDepth";
inline constexpr std::string_view kLagSeconds = "lagSeconds";
inline constexpr std::string_view kConsumers = "consumers";
inline constexpr std::string_view kIngressRate = "ingressRate";
inline constexpr std::string_view kEgressRate = "egressRate";
inline constexpr std::string_view kReplicas = "replicas";
inline constexpr std::string_view kPartitions = "partitions";
// spec.latency.prometheus.name when not set.
inline constexpr std::string_view kDefaultLatency = "latencyP95Seconds";
// Derived by MonitorAlerting from the sample's flags, 1 or 0; always known.
inline constexpr std::string_view kSourceReachable = "sourceReachable";
// 1 while replicas are at the maximum and lag grows, 0 otherwise; unknown when growth is unknown.
inline constexpr std::string_view kScaledToMaxWithGrowingLag = "scaledToMaxWithGrowingLag";
}  // namespace metric

// One poll. A metric that is absent or nullopt is unknown this poll (never reported as 0): rules on
// it hold their state and SLOs on it do not count the time.
struct MetricSample {
  std::map<std::string, std::optional<double>, std::less<>> metrics;
  // False when the source poll failed; its metrics are then expected to be absent.
  bool source_reachable = true;
  std::string source_error;  // why, when !source_reachable (for health reasons)
  // The target's current replicas are at spec.scaling.maxReplicas (or at the partition count, past
  // which Kafka consumers sit idle): the scaler cannot add useful replicas.
  bool replicas_at_max = false;
  // Sum of the group's committed offsets over partitions that have one; nullopt when any
  // partition's offset could not be read (a partial sum would look like a rewind). Stall/rewind
  // detection uses it, or egressRate when it is unknown.
  std::optional<double> committed_offset_total;

  MetricSample& set(std::string_view name, std::optional<double> value);
  std::optional<double> get(std::string_view name) const;
};

// Known values by name, what rules are evaluated against: the sample's known metrics plus derived
// ones (sourceReachable, burn rates).
using MetricValues = std::map<std::string, double, std::less<>>;

// The metric names a spec may use: the built-in ones, the derived sourceReachable and
// scaledToMaxWithGrowingLag, and the latency name when spec.latency is set.
class MetricCatalog {
 public:
  // latency_metric: spec.latency.prometheus.name (default latencyP95Seconds) when spec.latency is
  // set; nullopt without spec.latency.
  explicit MetricCatalog(std::optional<std::string> latency_metric = std::nullopt);

  bool knows(std::string_view name) const;
  // "unknown metric \"lagg\" (known: consumerLag, ...)" or, for the latency name without
  // spec.latency, a hint to set it. nullopt when the name is known.
  std::optional<std::string> problem_with(std::string_view name) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::optional<std::string> latency_metric_;
  std::vector<std::string> names_;
};

}  // namespace lagpilot::alerts
