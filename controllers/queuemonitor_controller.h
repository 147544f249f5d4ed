#pragma once
// The QueueMonitor reconciler. Level-triggered and idempotent, keyed by namespace/name through
// the work queue: each reconcile reads the cached QueueMonitor, polls its queue source, reads the
// target's replicas, asks the scaler, patches the scale subresource only when the replica count
// changes, and writes status only when it differs. Polling is requeue_after, to the monitor's next
// slot of its pollInterval (poll_schedule.h); no thread sleeps per monitor.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "alerts/slo.h"
#include "controllers/queuemonitor_spec.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/work_queue.h"
#include "metrics/queue_source.h"
#include "notify/notifier.h"
#include "scaler/engine.h"
#include "util/clock.h"
#include "util/outage_gate.h"

namespace lagpilot::controllers {

// What one reconcile saw and did, for the operator's own metrics.
struct MonitorReport {
  std::string ns;
  std::string name;
  std::string source_kind;
  bool source_ok = false;
  std::optional<QueueSnapshot> snapshot;
  int current_replicas = 0;
  int desired_replicas = 0;
  int scaled_from = 0;  // with scaled: the change made (or recorded in DryRun)
  int scaled_to = 0;
  bool scaled = false;
  std::string health;                     // Healthy, Degraded, Unhealthy, Unknown
  std::optional<double> latency_seconds;  // spec.latency's value this poll
  // Firing alerts by severity (critical ... info); every severity present, 0 when none fire.
  std::map<std::string, int> alerts_firing;
  std::vector<alerts::SloStatus> slos;
};

class ReconcileObserver {
 public:
  virtual ~ReconcileObserver() = default;
  virtual void on_reconcile(const std::string& result,
                            double seconds) = 0;  // result: ok|error|requeue
  virtual void on_report(const MonitorReport& report) = 0;
  virtual void on_removed(const std::string& ns, const std::string& name) = 0;
  virtual void on_source_poll(const std::string& kind, bool ok, const std::string& reason,
                              double seconds) = 0;
};

struct ControllerOptions {
  std::vector<std::string> namespaces;  // empty: all namespaces
  int workers = 8;
  // Status writes for metric values alone (lag, rates) happen at most this often; any other change
  // (conditions, replicas, history, health) is written at once.
  std::chrono::seconds metrics_status_interval{30};
  std::string component = "lagpilot";
  // Re-read a source's auth Secret this often to pick up rotated credentials.
  std::chrono::seconds secret_refresh_interval{60};
  std::chrono::milliseconds sync_timeout{30'000};
  kube::WorkQueueOptions queue;
  // Leader election's fence: checked right before every write (scale patch, status). When it
  // returns false the reconcile writes nothing.
  std::function<bool()> may_write;
  // Receives each monitor's firing alerts every poll (spec.notifications); nullptr: none sent.
  notify::Notifier* notifier = nullptr;
};

struct ReconcileResult {
  std::optional<Duration> requeue_after;  // poll again after this
  bool retry_with_backoff = false;        // a failure worth retrying with the queue's backoff
};

class QueueMonitorController {
 public:
  QueueMonitorController(kube::KubeClient& client, Clock& clock, SourceFactory& sources,
                         kube::EventRecorder& events, ControllerOptions options,
                         ReconcileObserver* observer = nullptr);
  ~QueueMonitorController();

  // Starts informers, waits for their first sync, then the workers. False if the caches did not
  // sync within options.sync_timeout.
  bool start();
  // Finishes in-flight reconciles, stops workers and informers, closes every source.
  void stop();

  // One reconcile of "namespace/name" (what workers run); public for tests.
  ReconcileResult reconcile(const std::string& key);

  std::size_t live_monitors() const;
  // What the controller's caches hold for "namespace/name" (nullptr: nothing yet), so that tests
  // can wait for the watch to deliver an object instead of sleeping.
  std::shared_ptr<const kube::Json> cached_monitor(const std::string& key) const;
  std::shared_ptr<const kube::Json> cached_deployment(const std::string& key) const;
  kube::WorkQueue& queue() { return queue_; }
  // Counters for tests and benchmarks.
  std::uint64_t status_writes() const { return status_writes_; }
  std::uint64_t scale_patches() const { return scale_patches_; }

 private:
  struct Runtime;

  void worker_loop();
  void on_monitor_event(const kube::Json* old_object, const kube::Json& object);
  void on_monitor_deleted(const kube::Json& object);
  void on_target_event(const kube::Json* old_object, const kube::Json& object);
  std::shared_ptr<Runtime> runtime_for(const std::string& key, const std::string& uid);
  void drop_runtime(const std::string& key);
  kube::Informer* monitor_informer_for(const std::string& ns) const;
  kube::Informer* deployment_informer_for(const std::string& ns) const;

  Result<int> read_current_replicas(Runtime& runtime, const std::string& ns,
                                    const TargetRef& target);
  Status ensure_source(Runtime& runtime, const std::string& ns, const QueueMonitorSpec& spec);
  // spec.latency: (name, seconds) when the query answered; the error otherwise.
  Result<std::pair<std::string, double>> poll_latency(Runtime& runtime, const std::string& ns,
                                                      const QueueMonitorSpec& spec, WallTime now);
  // spec.notifications: the receivers, with URLs from their Secrets (re-read as credentials are).
  void refresh_receivers(Runtime& runtime, const kube::Json& object, const QueueMonitorSpec& spec,
                         WallTime now);
  struct SecretValues {
    std::map<std::string, std::string> values;  // decoded, by key; never logged
    std::string resource_version;
  };
  // `field` names the spec field that refers to the Secret, for the error message.
  Result<SecretValues> read_secret(const std::string& ns, const std::string& name,
                                   const std::string& field);
  bool write_status(const kube::Json& object, const kube::Json& old_status,
                    const kube::Json& new_status, Runtime& runtime, bool metrics_only);

  kube::KubeClient& client_;
  Clock& clock_;
  SourceFactory& sources_;
  kube::EventRecorder& events_;
  ControllerOptions options_;
  ReconcileObserver* observer_;
  kube::WorkQueue queue_;

  std::vector<std::unique_ptr<kube::Informer>> monitor_informers_;
  std::vector<std::unique_ptr<kube::Informer>> deployment_informers_;

  mutable std::mutex runtimes_mutex_;
  std::map<std::string, std::shared_ptr<Runtime>> runtimes_;
  // "ns/Kind/name" of a target -> keys of the monitors that scale it.
  std::map<std::string, std::set<std::string>> monitors_by_target_;
  std::map<std::string, std::string> target_by_monitor_;

  // One outage gate per Prometheus server URL, shared by the latency sources that query it.
  std::shared_ptr<OutageGate> latency_gate_for(const std::string& server_url);
  std::mutex latency_gates_mutex_;
  std::map<std::string, std::weak_ptr<OutageGate>> latency_gates_;

  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> status_writes_{0};
  std::atomic<std::uint64_t> scale_patches_{0};
  std::atomic<std::uint64_t> reconcile_ids_{0};
};

// A JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys, nulls for removed ones.
kube::Json merge_patch_diff(const kube::Json& from, const kube::Json& to);

}  // namespace lagpilot::controllers
