#include "alerts/metric_sample.h"

namespace lagpilot::alerts {

MetricSample& MetricSample::set(std::string_view name, std::optional<double> value) {
  auto it = metrics.find(name);
  if (it == metrics.end()) {
    metrics.emplace(std::string(name), value);
  } else {
    it->second = value;
  }
  return *this;
}

std::optional<double> MetricSample::get(std::string_view name) const {
  auto it = metrics.find(name);
  if (it == metrics.end()) return std::nullopt;
  return it->second;
}

MetricCatalog::MetricCatalog(std::optional<std::string> latency_metric)
    : latency_metric_(std::move(latency_metric)) {
  for (std::string_view name :
       {metric::kConsumerLag, metric::kQueueDepth, metric::kLagSeconds, metric::kConsumers,
        metric::kIngressRate, metric::kEgressRate, metric::kReplicas, metric::kPartitions}) {
    names_.emplace_back(name);
  }
  if (latency_metric_) names_.push_back(*latency_metric_);
  names_.emplace_back(metric::kSourceReachable);
  names_.emplace_back(metric::kScaledToMaxWithGrowingLag);
}

bool MetricCatalog::knows(std::string_view name) const {
  for (const auto& known : names_) {
    if (known == name) return true;
  }
  return false;
}

std::optional<std::string> MetricCatalog::problem_with(std::string_view name) const {
  if (knows(name)) return std::nullopt;
  if (!latency_metric_ && name == metric::kDefaultLatency) {
    return "metric \"" + std::string(name) +
           "\" needs spec.latency (a Prometheus query for the consumers' latency)";
  }
  std::string known;
  for (const auto& entry : names_) {
    if (!known.empty()) known += ", ";
    known += entry;
  }
  return "unknown metric \"" + std::string(name) + "\" (known: " + known + ")";
}

}  // namespace lagpilot::alerts
