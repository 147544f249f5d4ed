#include "controllers/monitor_alerting_glue.h"

namespace lagpilot::controllers {

std::string queue_name(const std::map<std::string, std::string>& source_labels) {
  auto label = [&](const char* key) {
    auto it = source_labels.find(key);
    return it == source_labels.end() ? std::string() : it->second;
  };
  for (const char* key : {"topic", "queue"}) {
    if (std::string value = label(key); !value.empty()) return value;
  }
  if (std::string stream = label("stream"); !stream.empty()) {
    std::string consumer = label("consumer");
    return consumer.empty() ? stream : stream + "/" + consumer;
  }
  for (const auto& [key, value] : source_labels) {
    if (!value.empty()) return value;
  }
  return "";
}

alerts::MonitorContext monitor_context(const std::string& ns, const std::string& name,
                                       const api::QueueMonitorSpec& spec,
                                       const std::map<std::string, std::string>& source_labels,
                                       const std::optional<std::string>& latency_metric) {
  alerts::MonitorContext context;
  context.ns = ns;
  context.name = name;
  if (auto topic = source_labels.find("topic"); topic != source_labels.end())
    context.topic = topic->second;
  context.queue = queue_name(source_labels);
  context.latency_metric = latency_metric;
  context.target_drain_seconds = spec.scaling.target_drain_seconds;
  context.activation_lag = static_cast<double>(spec.scaling.activation_lag);
  context.poll_interval_seconds = spec.poll_interval_seconds;
  context.source_failure_threshold = spec.scaling.fallback.failure_threshold;
  return context;
}

notify::MonitorAlerts firing_alerts(const std::string& ns, const std::string& name,
                                    const std::map<std::string, std::string>& source_labels,
                                    const alerts::Evaluation& evaluation,
                                    const std::vector<alerts::AlertRule>& rules) {
  notify::MonitorAlerts out;
  out.monitor = {ns, name};
  for (const auto& [label, value] : source_labels) {
    if (!value.empty()) out.labels[label] = value;
  }
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

}  // namespace lagpilot::controllers
