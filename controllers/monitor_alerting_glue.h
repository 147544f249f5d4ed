#pragma once
// The seam between the reconciler and alerts/ + notify/: what one poll measured as an alert
// MetricSample, the monitor's MonitorContext, firing alerts for the notifier, and which status
// changes are only the passing of time (throttled like metric values).
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "alerts/monitor_alerting.h"
#include "controllers/queuemonitor_spec.h"
#include "metrics/queue_source.h"
#include "notify/notifier.h"
#include "util/result.h"

namespace lagpilot::controllers {

// `latency_metric`: the latency name when spec.latency is set.
alerts::MonitorContext monitor_context(const std::string& ns, const std::string& name,
                                       const QueueMonitorSpec& spec,
                                       const std::optional<std::string>& latency_metric);

// polled: the source poll; latency: the latency query's value when it succeeded.
alerts::MetricSample metric_sample(const Result<QueueSnapshot>& polled,
                                   const std::optional<std::pair<std::string, double>>& latency,
                                   int current_replicas, const QueueMonitorSpec& spec);

// The firing (not pending) alerts of an evaluation, for Notifier::notify.
notify::MonitorAlerts firing_alerts(const std::string& ns, const std::string& name,
                                    const std::string& topic, const alerts::Evaluation& evaluation,
                                    const std::vector<alerts::AlertRule>& rules);

// status without what changes with every poll while nothing happens: metric values (which
// metrics are known stays), the SLOs' running figures and buckets, and the values and summaries of
// active alerts. Two statuses equal under
// this differ only by the passing of time; their writes are throttled.
nlohmann::json without_running_figures(nlohmann::json status);

}  // namespace lagpilot::controllers
