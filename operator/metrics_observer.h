#pragma once
// Feeds what the controller reports into the operator's Prometheus metrics.
#include "controllers/queuemonitor_controller.h"
#include "metrics/operator_metrics.h"

namespace lagpilot::operator_main {

class MetricsObserver final : public controllers::ReconcileObserver {
 public:
  explicit MetricsObserver(metrics::OperatorMetrics& metrics) : metrics_(metrics) {}
  void on_reconcile(const std::string& result, double seconds,
                    const std::string& trace_id = "") override;
  void on_report(const controllers::MonitorReport& report) override;
  void on_removed(const std::string& ns, const std::string& name) override;
  void on_source_poll(const std::string& kind, bool ok, const std::string& reason,
                      double seconds) override;

 private:
  metrics::OperatorMetrics& metrics_;
};

}  // namespace lagpilot::operator_main
