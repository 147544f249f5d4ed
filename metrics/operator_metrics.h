#pragma once
// The operator's own Prometheus metrics, on an injected registry (no global registry). Per-monitor
// series carry namespace, name and source labels and are removed when the monitor is deleted.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace prometheus {
class Registry;
}

namespace lagpilot::metrics {

class ExemplarStore;

struct MonitorValues {
  std::string ns;
  std::string name;
  std::string source;
  std::optional<double> consumer_lag;
  std::optional<double> queue_depth;
  std::optional<double> lag_seconds;
  std::optional<double> ingress_rate;
  std::optional<double> egress_rate;
  std::optional<double> consumers;
  std::optional<double> partitions;
  std::optional<double> latency_seconds;
  // Consumer lag by partition id, with per-partition metrics on; nullopt: unknown (the series are
  // removed, like any unknown value).
  std::optional<std::map<std::int32_t, double>> partition_lags;
  double replicas_current = 0;
  double replicas_desired = 0;
  int health = 0;  // 0 Healthy, 1 Degraded, 2 Unhealthy, 3 Unknown
};

class OperatorMetrics {
 public:
  // per_partition_metrics (--per-partition-metrics): per-monitor series by partition too.
  // exemplars: where the reconcile-duration histogram's exemplars go (nullptr: none kept).
  OperatorMetrics(std::shared_ptr<prometheus::Registry> registry, const std::string& version,
                  bool per_partition_metrics = false, ExemplarStore* exemplars = nullptr);
  ~OperatorMetrics();

  bool per_partition_metrics() const { return per_partition_; }

  // trace_id: the reconcile's sampled trace, kept as the exemplar of the duration's bucket; "":
  // none.
  void reconcile_finished(const std::string& result, double seconds,
                          const std::string& trace_id = "");
  void workqueue_added();
  void workqueue_retried();
  void workqueue_waited(double seconds);
  void set_workqueue_depth(double depth);
  void set_status_writes_pending(double monitors);
  void kube_request(const std::string& verb, int code, double seconds);
  void source_polled(const std::string& source, bool ok, const std::string& reason, double seconds);
  void set_leader(bool leader);

  void set_monitor(const MonitorValues& values);
  void scaled(const std::string& ns, const std::string& name, const std::string& source, bool up);
  void set_alerts_firing(const std::string& ns, const std::string& name,
                         const std::string& severity, double count);
  void set_slo(const std::string& ns, const std::string& name, const std::string& slo,
               double budget_remaining_ratio, const std::map<std::string, double>& burn_rates);
  void remove_monitor(const std::string& ns, const std::string& name);

  std::shared_ptr<prometheus::Registry> registry() const;

 private:
  struct Families;
  struct MonitorSeries;
  std::shared_ptr<prometheus::Registry> registry_;
  bool per_partition_;
  ExemplarStore* exemplars_;
  std::unique_ptr<Families> families_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MonitorSeries>> monitors_;  // "ns/name"
};

}  // namespace lagpilot::metrics
