#pragma once
// The QueueMonitor reconciler. Level-triggered and idempotent, keyed by namespace/name through
// the work queue. One reconcile is a short orchestration of named phases (docs/architecture.md):
//   (being deleted: finalize) -> read spec -> hold or drop the finalizer -> poll sources (queue,
//   latency) -> configure alerting -> read the target -> claim the target (target_ownership.h)
//   -> the poll step (alerts, SLOs, decision; poll_step.h) -> announce alerts -> act (scale)
//   -> build status (status_builder.h) -> write (only differences, behind the one leader fence).
// Polling is requeue_after, to the monitor's next slot of its pollInterval (poll_schedule.h); no
// thread sleeps per monitor.
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
#include "api/queuemonitor_spec.h"
#include "controllers/credentials.h"
#include "controllers/poll_step.h"
#include "controllers/status_builder.h"
#include "controllers/status_writer.h"
#include "controllers/target_ownership.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/work_queue.h"
#include "notify/notifier.h"
#include "scaler/engine.h"
#include "sources/source_registry.h"
#include "tracing/tracer.h"
#include "util/clock.h"

namespace lagpilot::controllers {

using api::QueueMonitorSpec;
using api::TargetRef;

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
  // result: ok|error|requeue; trace_id: the reconcile's trace in hex, "" when not sampled.
  virtual void on_reconcile(const std::string& result, double seconds,
                            const std::string& trace_id = "") = 0;
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
  // Which Secrets may be used and where their values may go (credentials.h, docs/security.md).
  CredentialPolicy credentials;
  // Re-read a source's auth Secret this often to pick up rotated credentials.
  std::chrono::seconds secret_refresh_interval{60};
  // start() fails when no page of an informer's first list arrived for this long (however long
  // the whole list takes while it progresses).
  std::chrono::milliseconds sync_timeout{30'000};
  kube::WorkQueueOptions queue;
  // Threads that send status writes off the poll path (status_writer.h); 0: each reconcile writes
  // its status itself, before it returns.
  int status_writers = 0;
  // Monitors whose status write waits or is in flight, when that changes.
  std::function<void(std::size_t)> on_status_writes_pending;
  // Leader election's fence: checked right before every write (scale patch, status). When it
  // returns false the reconcile writes nothing.
  std::function<bool()> may_write;
  // Sharding (operator/shards.h): whether this replica polls and writes for monitor
  // "namespace/name" now; checked at the start of a reconcile (a monitor it does not own is
  // forgotten: source closed, metrics dropped) and with may_write before every write. nullptr:
  // every monitor.
  std::function<bool(const std::string& key)> owns_monitor;
  // Receives each monitor's firing alerts every poll (spec.notifications); nullptr: none sent.
  notify::Notifier* notifier = nullptr;
  // Each reconcile is a trace, its phases spans (docs/tracing.md); nullptr: none.
  tracing::Tracer* tracer = nullptr;
};

// What a reconcile asks of the work queue, as controller-runtime's Reconcile answers (Result,
// error): poll again after a delay, retry a failure with the queue's backoff, or stop (done, or a
// terminal error that only a change to the object can fix, like controller-runtime's
// TerminalError).
struct ReconcileResult {
  std::optional<Duration> requeue_after;  // poll again after this
  bool retry_with_backoff = false;        // a failure worth retrying with the queue's backoff
  std::optional<Error> error;             // why, for a retry or a terminal error

  static ReconcileResult poll_again_after(Duration delay) { return {delay, false, std::nullopt}; }
  static ReconcileResult retry(Error why) { return {std::nullopt, true, std::move(why)}; }
  static ReconcileResult terminal(Error why) { return {std::nullopt, false, std::move(why)}; }
  static ReconcileResult done() { return {}; }
};

class QueueMonitorController {
 public:
  QueueMonitorController(kube::KubeClient& client, Clock& clock, SourceRegistry& sources,
                         kube::EventRecorder& events, ControllerOptions options,
                         ReconcileObserver* observer = nullptr);
  ~QueueMonitorController();

  // Starts informers, waits for their first sync, then the workers. False if a cache's first list
  // stalled (no page for options.sync_timeout).
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
  // "Kind name" of the HPAs and ScaledObjects the caches hold for a target.
  std::vector<std::string> cached_autoscalers(const std::string& ns, const std::string& kind,
                                              const std::string& name) const;
  // The HorizontalPodAutoscaler API the controller watches (discovered by start()), and whether
  // KEDA's ScaledObjects are watched (their CRD was served at start()).
  std::optional<kube::Gvr> hpa_resource() const { return hpa_gvr_; }
  bool watches_scaled_objects() const { return scaled_object_gvr_.has_value(); }
  kube::WorkQueue& queue() { return queue_; }
  // Counters for tests and benchmarks.
  std::uint64_t status_writes() const { return status_writer_.written(); }
  std::size_t status_writes_pending() const { return status_writer_.pending(); }
  std::uint64_t scale_patches() const { return scale_patches_; }
  // Adds every cached monitor to the work queue (sharding: after the assignment changed).
  void requeue_all();

 private:
  struct Runtime;
  struct Pass;
  struct PolledSources;

  void worker_loop();
  void on_monitor_event(const kube::Json* old_object, const kube::Json& object);
  void on_monitor_deleted(const kube::Json& object);
  void on_target_event(const kube::Json* old_object, const kube::Json& object);
  void on_autoscaler_event(const std::string& kind, const kube::Json* before,
                           const kube::Json* after);
  // Adds the monitors of these targets to the work queue.
  void enqueue_monitors_of(const std::vector<std::string>& targets);
  bool start_autoscaler_informers();
  std::shared_ptr<Runtime> runtime_for(const std::string& key, const std::string& uid);
  void drop_runtime(const std::string& key);
  kube::Informer* monitor_informer_for(const std::string& ns) const;
  kube::Informer* deployment_informer_for(const std::string& ns) const;

  // reconcile(key), also giving the trace id of a sampled reconcile ("" otherwise).
  ReconcileResult reconcile(const std::string& key, std::string& trace_id);
  // The phases of one reconcile, in order.
  ReconcileResult reconcile_phases(const std::string& key, std::uint64_t reconcile_id);
  ReconcileResult forget(const std::string& key, std::uint64_t reconcile_id);
  // True when the monitor's last status write is still on its way; the write's success then
  // brings the reconcile back (wake_if_deferred).
  bool defer_while_status_pending(const std::string& key);
  void wake_if_deferred(const std::string& key);
  ReconcileResult finalize(Pass& pass);
  void hold_finalizer(Pass& pass, const QueueMonitorSpec& spec);
  bool set_finalizer(Pass& pass, bool present);
  Result<QueueMonitorSpec> read_spec(Pass& pass);
  ReconcileResult reject_spec(Pass& pass, const Error& error);
  PolledSources poll_sources(Pass& pass, const QueueMonitorSpec& spec);
  // Condition `condition_type` False with the error's code (or `default_reason`) and message.
  void set_failed(Pass& pass, const std::string& condition_type, const std::string& default_reason,
                  const Error& error);
  void configure_alerting(Pass& pass, const QueueMonitorSpec& spec, const PolledSources& polled);
  Result<int> read_current_replicas(Pass& pass, const TargetRef& target);
  ReconcileResult target_unavailable(Pass& pass, const QueueMonitorSpec& spec,
                                     const PolledSources& polled, const Error& error);
  struct Ownership {
    bool claims = false;        // mode Active: this monitor means to scale its target
    std::string other_owner;    // "Kind name" that scales the target instead (claims and loses)
    std::optional<int> pinned;  // lagpilot.io/paused-replicas
    std::string invalid_pin;    // that annotation's error
    bool owns() const { return claims && other_owner.empty(); }
    // The poll step decides but does not scale.
    bool holds(bool paused) const {
      return paused || !other_owner.empty() || pinned || !invalid_pin.empty();
    }
  };
  Ownership claim_target(Pass& pass, const QueueMonitorSpec& spec, int current_replicas);
  // The HPA, ScaledObject or older QueueMonitor that scales `target` instead of `self`; with
  // `self_claims` false any other claiming QueueMonitor counts. "" when none.
  std::string other_owner(const std::string& key, const kube::Json& self, const std::string& ns,
                          const TargetRef& target, bool self_claims) const;
  PollOutcome run_poll_step(Pass& pass, const QueueMonitorSpec& spec, const PolledSources& polled,
                            int current_replicas, bool hold);
  void announce_alerts(Pass& pass, const QueueMonitorSpec& spec, const PolledSources& polled,
                       const alerts::Evaluation& evaluation);
  struct Applied {
    int replicas = 0;  // the target's replicas after this reconcile
    std::optional<Error> scale_failed;
    bool fenced = false;  // not leading: nothing written
  };
  Applied act(Pass& pass, const QueueMonitorSpec& spec, const PollOutcome& outcome, int current,
              const Ownership& ownership);
  // Patches the target's scale subresource; the error names the target.
  std::optional<Error> scale_target(Pass& pass, const TargetRef& target, int replicas);
  void build_status(Pass& pass, const QueueMonitorSpec& spec, const PolledSources& polled,
                    const PollOutcome& outcome, const Applied& applied, const Ownership& ownership);
  void write_status(Pass& pass);
  void report(Pass& pass, const QueueMonitorSpec& spec, const PolledSources& polled,
              const PollOutcome* outcome, const Applied* applied);
  bool owns(const std::string& key) const {
    return !options_.owns_monitor || options_.owns_monitor(key);
  }
  // The leader (or shard) fence: every write of a reconcile goes through here.
  bool may_write(const Pass& pass) const;

  kube::KubeClient& client_;
  Clock& clock_;
  SourceRegistry& sources_;
  SecretReader secrets_;
  kube::EventRecorder& events_;
  ControllerOptions options_;
  ReconcileObserver* observer_;
  kube::WorkQueue queue_;
  StatusWriter status_writer_;

  std::vector<std::unique_ptr<kube::Informer>> monitor_informers_;
  std::vector<std::unique_ptr<kube::Informer>> deployment_informers_;
  std::vector<std::unique_ptr<kube::Informer>> autoscaler_informers_;  // HPAs, ScaledObjects
  std::optional<kube::Gvr> hpa_gvr_;
  std::optional<kube::Gvr> scaled_object_gvr_;
  AutoscalerIndex autoscalers_;

  mutable std::mutex runtimes_mutex_;
  std::map<std::string, std::shared_ptr<Runtime>> runtimes_;
  // "ns/Kind/name" of a target -> keys of the monitors that scale it.
  std::map<std::string, std::set<std::string>> monitors_by_target_;
  std::map<std::string, std::string> target_by_monitor_;

  // Monitors whose reconcile waits for their status write in flight.
  std::mutex deferred_mutex_;
  std::set<std::string> deferred_for_write_;

  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> scale_patches_{0};
  std::atomic<std::uint64_t> reconcile_ids_{0};
};

// A JSON merge patch (RFC 7386) that turns `from` into `to`: changed keys, nulls for removed ones.
kube::Json merge_patch_diff(const kube::Json& from, const kube::Json& to);

}  // namespace lagpilot::controllers
