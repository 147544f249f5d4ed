#include "controllers/monitor_alerting_glue.h"

namespace lagpilot::controllers {

namespace m = alerts::metric;

alerts::MonitorContext monitor_context(const std::string& ns, const std::string& name,
                                       const QueueMonitorSpec& spec,
                                       const std::optional<std::string>& latency_metric) {
  alerts::MonitorContext context;
  context.ns = ns;
  context.name = name;
  context.topic = spec.source.is_object() ? spec.source.value("topic", "") : "";
  context.latency_metric = latency_metric;
  context.target_drain_seconds = spec.scaling.target_drain_seconds;
  context.activation_lag = static_cast<double>(spec.scaling.activation_lag);
  context.poll_interval_seconds = spec.poll_interval_seconds;
  context.source_failure_threshold = spec.scaling.fallback.failure_threshold;
  return context;
}

alerts::MetricSample metric_sample(const Result<QueueSnapshot>& polled,
                                   const std::optional<std::pair<std::string, double>>& latency,
                                   int current_replicas, const QueueMonitorSpec& spec) {
  alerts::MetricSample sample;
  sample.set(m::kReplicas, current_replicas);
  if (latency) sample.set(latency->first, latency->second);
  bool at_max = current_replicas >= spec.scaling.max_replicas;
  if (!polled) {
    sample.source_reachable = false;
    sample.source_error = polled.error().message;
    sample.replicas_at_max = at_max;
    return sample;
  }
  const QueueSnapshot& s = *polled;
  sample.set(m::kConsumerLag, static_cast<double>(s.consumer_lag));
  sample.set(m::kQueueDepth, static_cast<double>(s.queue_depth));
  sample.set(m::kLagSeconds, s.lag_seconds);
  sample.set(m::kPartitions, s.partitions);
  if (s.consumers) sample.set(m::kConsumers, *s.consumers);
  sample.set(m::kIngressRate, s.ingress_rate);
  sample.set(m::kEgressRate, s.egress_rate);
  // Past the partition count, Kafka consumers sit idle: more replicas cannot help.
  if (s.partitions > 0 && current_replicas >= s.partitions) at_max = true;
  sample.replicas_at_max = at_max;
  if (!s.partition_lags.empty()) {
    double committed = 0;
    for (const auto& partition : s.partition_lags) {
      if (partition.committed_offset >= 0)
        committed += static_cast<double>(partition.committed_offset);
    }
    sample.committed_offset_total = committed;
  }
  return sample;
}

notify::MonitorAlerts firing_alerts(const std::string& ns, const std::string& name,
                                    const std::string& topic, const alerts::Evaluation& evaluation,
                                    const std::vector<alerts::AlertRule>& rules) {
  notify::MonitorAlerts out;
  out.monitor = {ns, name};
  if (!topic.empty()) out.labels["topic"] = topic;
  for (const auto& active : evaluation.active) {
    if (active.state != alerts::AlertState::kFiring) continue;
    notify::Alert alert;
    alert.name = active.name;
    // Both enums are ordered most severe first with the same five levels.
    alert.severity = static_cast<notify::Severity>(static_cast<int>(active.severity));
    for (const auto& rule : rules) {
      if (rule.name == active.name) alert.labels = rule.labels;
    }
    alert.summary = active.summary;
    alert.value = active.value;
    alert.since = active.since;
    out.firing.push_back(std::move(alert));
  }
  return out;
}

nlohmann::json without_running_figures(nlohmann::json status) {
  // Which metrics are known is news (e.g. the rates after the second poll); their values are not.
  if (status.contains("metrics") && status["metrics"].is_object()) {
    nlohmann::json known = nlohmann::json::array();
    for (const auto& [name, value] : status["metrics"].items()) {
      if (name != "lastPollTime") known.push_back(name);
    }
    status["metrics"] = known;
  }
  if (status.contains("slos") && status["slos"].is_array()) {
    for (auto& slo : status["slos"]) {
      if (!slo.is_object()) continue;
      // Kept: name and whether the budget is exhausted (health follows it at once).
      nlohmann::json kept = {{"name", slo.value("name", "")}};
      auto remaining = slo.find("errorBudgetRemainingPercent");
      if (remaining != slo.end() && remaining->is_number())
        kept["exhausted"] = remaining->get<double>() <= 0;
      slo = kept;
    }
  }
  if (status.contains("alerts") && status["alerts"].is_array()) {
    for (auto& alert : status["alerts"]) {
      if (!alert.is_object()) continue;
      alert.erase("value");
      alert.erase("summary");
    }
  }
  return status;
}

}  // namespace lagpilot::controllers
