#include "operator/metrics_observer.h"

namespace lagpilot::operator_main {

void MetricsObserver::on_reconcile(const std::string& result, double seconds,
                                   const std::string& trace_id) {
  metrics_.reconcile_finished(result, seconds, trace_id);
}

void MetricsObserver::on_report(const controllers::MonitorReport& report) {
  metrics::MonitorValues values;
  values.ns = report.ns;
  values.name = report.name;
  values.source = report.source_kind;
  if (report.snapshot) {
    const auto& s = *report.snapshot;
    values.consumer_lag = static_cast<double>(s.consumer_lag);
    values.queue_depth = static_cast<double>(s.queue_depth);
    values.lag_seconds = s.lag_seconds;
    values.ingress_rate = s.ingress_rate;
    values.egress_rate = s.egress_rate;
    if (s.consumers) values.consumers = *s.consumers;
    values.partitions = s.partitions;
    if (metrics_.per_partition_metrics()) {
      values.partition_lags.emplace();
      for (const auto& partition : s.partition_lags)
        (*values.partition_lags)[partition.partition] = static_cast<double>(partition.lag);
    }
  }
  values.replicas_current = report.current_replicas;
  values.replicas_desired = report.desired_replicas;
  values.health = report.health == "Healthy"     ? 0
                  : report.health == "Degraded"  ? 1
                  : report.health == "Unhealthy" ? 2
                                                 : 3;
  values.latency_seconds = report.latency_seconds;
  metrics_.set_monitor(values);
  for (const auto& [severity, count] : report.alerts_firing)
    metrics_.set_alerts_firing(report.ns, report.name, severity, count);
  for (const auto& slo : report.slos) {
    std::map<std::string, double> burn_rates(slo.burn_rates.begin(), slo.burn_rates.end());
    metrics_.set_slo(report.ns, report.name, slo.name, slo.budget_remaining_percent / 100.0,
                     burn_rates);
  }
  if (report.scaled)
    metrics_.scaled(report.ns, report.name, report.source_kind,
                    report.scaled_to > report.scaled_from);
}

void MetricsObserver::on_removed(const std::string& ns, const std::string& name) {
  metrics_.remove_monitor(ns, name);
}

void MetricsObserver::on_source_poll(const std::string& kind, bool ok, const std::string& reason,
                                     double seconds) {
  metrics_.source_polled(kind, ok, reason, seconds);
}

}  // namespace lagpilot::operator_main
