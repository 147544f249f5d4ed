#pragma once
// The seam between the reconciler and alerts/ + notify/: the monitor's MonitorContext and its
// firing alerts for the notifier.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "alerts/monitor_alerting.h"
#include "api/queuemonitor_spec.h"
#include "notify/notifier.h"

namespace lagpilot::controllers {

// What summaries call {{ .queue }}: from the source kind's labels, the first of topic (Kafka),
// queue (RabbitMQ), stream (Redis Streams; NATS: stream/consumer), else the first non-empty label's
// value (e.g. the Prometheus source's query).
std::string queue_name(const std::map<std::string, std::string>& source_labels);

// `source_labels`: the source kind's labels (CheckedSourceSpec::labels), e.g. {"topic": "orders"};
// `latency_metric`: the latency name when spec.latency is set.
alerts::MonitorContext monitor_context(const std::string& ns, const std::string& name,
                                       const api::QueueMonitorSpec& spec,
                                       const std::map<std::string, std::string>& source_labels,
                                       const std::optional<std::string>& latency_metric);

// The firing (not pending) alerts of an evaluation, for Notifier::notify; the source's labels go
// on every alert.
notify::MonitorAlerts firing_alerts(const std::string& ns, const std::string& name,
                                    const std::map<std::string, std::string>& source_labels,
                                    const alerts::Evaluation& evaluation,
                                    const std::vector<alerts::AlertRule>& rules);

}  // namespace lagpilot::controllers
