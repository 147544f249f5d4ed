#include "controllers/queuemonitor_controller.h"

#include <spdlog/spdlog.h>

#include "alerts/monitor_alerting.h"
#include "controllers/conditions.h"
#include "controllers/monitor_alerting_glue.h"
#include "controllers/monitor_cache.h"
#include "controllers/notification_receivers.h"
#include "controllers/own_status_writes.h"
#include "controllers/poll_schedule.h"
#include "controllers/source_connection.h"
#include "kube/config.h"

namespace lagpilot::controllers {

using kube::Json;

namespace {

// How long after its monitor's status write landed a deferred reconcile comes back (the writer
// marks the write done right after it reports it).
constexpr Duration kStatusWriteWait = std::chrono::milliseconds(100);

// The target a cached QueueMonitor names, as an index key.
std::string monitor_target_key(const std::string& ns, const Json& monitor) {
  return target_key(ns, monitor.value("/spec/target/kind"_json_pointer, ""),
                    monitor.value("/spec/target/name"_json_pointer, ""));
}

bool has_finalizer(const Json& object) {
  for (const auto& f : object.value("/metadata/finalizers"_json_pointer, Json::array()))
    if (f == kRestoreFinalizer) return true;
  return false;
}

std::pair<std::string, std::string> split_key(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

bool is_paused(const Json& object) {
  auto annotations = object.value("/metadata/annotations"_json_pointer, Json::object());
  return annotations.is_object() && annotations.value(kPausedAnnotation, "") == "true";
}

// What the controller reads of a cached Deployment: identity and spec.replicas. The rest (pod
// template, status, managedFields) is most of a Deployment and would be most of the cache.
void keep_scale_fields(Json& deployment) {
  Json kept = {{"apiVersion", deployment.value("apiVersion", "apps/v1")},
               {"kind", deployment.value("kind", "Deployment")},
               {"metadata", Json::object()}};
  const Json metadata = deployment.value("metadata", Json::object());
  for (const char* field : {"name", "namespace", "uid", "resourceVersion", "generation"}) {
    if (metadata.contains(field)) kept["metadata"][field] = metadata[field];
  }
  if (deployment.contains("/spec/replicas"_json_pointer))
    kept["spec"] = {{"replicas", deployment["/spec/replicas"_json_pointer]}};
  deployment = std::move(kept);
}

}  // namespace

Json merge_patch_diff(const Json& from, const Json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  Json patch = Json::object();
  for (const auto& [key, value] : from.items()) {
    if (!to.contains(key)) patch[key] = nullptr;
  }
  for (const auto& [key, value] : to.items()) {
    auto it = from.find(key);
    if (it == from.end()) {
      patch[key] = value;
    } else if (*it != value) {
      patch[key] = (it->is_object() && value.is_object()) ? merge_patch_diff(*it, value) : value;
    }
  }
  return patch;
}

// What the controller remembers for one monitor between reconciles (in memory only).
struct QueueMonitorController::Runtime {
  std::string uid;
  SourceConnection<SourceKind, QueueSource> source;
  SourceConnection<LatencySourceKind, LatencySource> latency;
  PollStep step;                                    // alerting, SLOs, health and the scaler's state
  std::optional<std::int64_t> alerting_generation;  // the spec generation alerting is set up for
  std::string alerting_source;                      // the spec.source it has been measuring
  std::string alerting_config_error;                // "" when every rule and SLO is valid
  bool alerting_restored = false;
  NotificationReceivers receivers;
  bool webhook_deliveries_restored = false;  // from status.webhookDeliveries, once per process
  std::optional<WallTime> last_status_write;
  // The last status written, until the cache has it; shared with the status writer's callback.
  std::shared_ptr<OwnStatusWrites> own_writes = std::make_shared<OwnStatusWrites>();
  std::optional<int> pending_replicas;  // patched, not yet visible in the cache
  std::optional<WallTime> pending_since;
  // The target's replicas after the last reconcile that owned it, unpaused: a different value
  // next time was set outside lagpilot.
  std::optional<int> last_replicas;
  std::string last_target;  // the target_key last_replicas is about
};

// One reconcile's working set: the object as cached, and the status being built from its status
// (or from our own last write while the cache lacks it: own_status_writes.h).
struct QueueMonitorController::Pass {
  std::string key, ns, name;
  std::uint64_t id = 0;
  const Json& object;
  std::int64_t generation = 0;
  WallTime now;
  Runtime& runtime;
  StatusBuilder status;
  MonitorReport report;
  bool paused = false;
};

// What the sources said this poll.
struct QueueMonitorController::PolledSources {
  Result<CheckedSourceSpec> source_spec = Error{};
  Result<QueueSnapshot> queue = Error{};
  std::string queue_description;
  std::optional<std::string> latency_metric;  // spec.latency's metric name, when it checks
  std::optional<double> latency_seconds;      // its value, when the query answered
  std::string invalid_spec;                   // bad parts of the spec that leave the rest working
};

QueueMonitorController::QueueMonitorController(kube::KubeClient& client, Clock& clock,
                                               SourceRegistry& sources, kube::EventRecorder& events,
                                               ControllerOptions options,
                                               ReconcileObserver* observer)
    : client_(client),
      clock_(clock),
      sources_(sources),
      secrets_(client, options.credentials),  // before `options` is moved into options_
      events_(events),
      options_(std::move(options)),
      observer_(observer),
      queue_(clock, options_.queue),
      status_writer_(client_, {options_.status_writers, options_.may_write,
                               options_.on_status_writes_pending, options_.tracer,
                               options_.owns_monitor}) {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const auto& ns : namespaces) {
    kube::InformerOptions monitor_options;
    monitor_options.transform = compact_cached_monitor;  // monitor_cache.h
    auto monitors = std::make_unique<kube::Informer>(client_, kube::resources::kQueueMonitors, ns,
                                                     clock_, monitor_options);
    monitors->add_handlers(
        {[this](const Json& o) { on_monitor_event(nullptr, o); },
         [this](const Json& old_object, const Json& o) { on_monitor_event(&old_object, o); },
         [this](const Json& o) { on_monitor_deleted(o); }});
    monitor_informers_.push_back(std::move(monitors));
    kube::InformerOptions deployment_options;
    deployment_options.transform = keep_scale_fields;
    auto deployments = std::make_unique<kube::Informer>(client_, kube::resources::kDeployments, ns,
                                                        clock_, deployment_options);
    deployments->add_handlers(
        {[this](const Json& o) { on_target_event(nullptr, o); },
         [this](const Json& old_object, const Json& o) { on_target_event(&old_object, o); },
         [this](const Json& o) { on_target_event(nullptr, o); }});
    deployment_informers_.push_back(std::move(deployments));
  }
}

QueueMonitorController::~QueueMonitorController() { stop(); }

bool QueueMonitorController::start() {
  if (!start_autoscaler_informers()) return false;
  for (auto& informer : deployment_informers_) informer->start();
  for (auto& informer : monitor_informers_) informer->start();
  for (auto& informer : deployment_informers_) {
    if (!informer->wait_for_sync_progress(options_.sync_timeout)) return false;
  }
  for (auto& informer : monitor_informers_) {
    if (!informer->wait_for_sync_progress(options_.sync_timeout)) return false;
  }
  for (auto& informer : autoscaler_informers_) {
    if (!informer->wait_for_sync_progress(options_.sync_timeout)) return false;
  }
  status_writer_.start();
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  return true;
}

void QueueMonitorController::stop() {
  queue_.shut_down();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  status_writer_.stop();
  for (auto& informer : monitor_informers_) informer->stop();
  for (auto& informer : deployment_informers_) informer->stop();
  for (auto& informer : autoscaler_informers_) informer->stop();
  std::lock_guard lock(runtimes_mutex_);
  runtimes_.clear();  // closes every source
}

std::size_t QueueMonitorController::live_monitors() const {
  std::lock_guard lock(runtimes_mutex_);
  return runtimes_.size();
}

std::shared_ptr<const Json> QueueMonitorController::cached_monitor(const std::string& key) const {
  kube::Informer* informer = monitor_informer_for(split_key(key).first);
  return informer ? informer->get(key) : nullptr;
}

std::shared_ptr<const Json> QueueMonitorController::cached_deployment(
    const std::string& key) const {
  kube::Informer* informer = deployment_informer_for(split_key(key).first);
  return informer ? informer->get(key) : nullptr;
}

std::vector<std::string> QueueMonitorController::cached_autoscalers(const std::string& ns,
                                                                    const std::string& kind,
                                                                    const std::string& name) const {
  return autoscalers_.autoscalers_of(target_key(ns, kind, name));
}

// Which autoscaling API serves HorizontalPodAutoscalers (autoscaling/v2 from 1.23, v2beta2 on
// 1.20-1.22, else v1), and whether KEDA's ScaledObject CRD is installed: discovery, once. Then one
// informer per kind and namespace, keeping only scaleTargetRef.
bool QueueMonitorController::start_autoscaler_informers() {
  if (!autoscaler_informers_.empty()) return true;
  const auto discover = [&](const std::string& api_version,
                            const std::string& kind) -> std::optional<kube::ApiResult<kube::Gvr>> {
    auto gvr = client_.resolve_kind(api_version, kind);
    if (!gvr && gvr.error().reason == kube::ApiReason::kNotFound) return std::nullopt;
    return gvr;
  };
  for (const char* version : {"autoscaling/v2", "autoscaling/v2beta2", "autoscaling/v1"}) {
    auto found = discover(version, "HorizontalPodAutoscaler");
    if (!found) continue;
    if (!*found) {
      spdlog::error("discovery of {} failed: {}", version, found->error().message);
      return false;
    }
    hpa_gvr_ = **found;
    break;
  }
  auto keda = discover("keda.sh/v1alpha1", "ScaledObject");
  if (keda && !*keda) {
    spdlog::error("discovery of keda.sh/v1alpha1 failed: {}", keda->error().message);
    return false;
  }
  if (keda) scaled_object_gvr_ = **keda;
  spdlog::info("target ownership: watching HorizontalPodAutoscalers in {}, {}",
               hpa_gvr_ ? hpa_gvr_->api_version() : "(none served)",
               scaled_object_gvr_ ? "and KEDA ScaledObjects"
                                  : "no KEDA ScaledObjects (keda.sh/v1alpha1 is not served)");
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  const auto watch = [&](const kube::Gvr& gvr, const std::string& kind) {
    for (const auto& ns : namespaces) {
      kube::InformerOptions informer_options;
      informer_options.transform = keep_scale_target_ref;
      auto informer = std::make_unique<kube::Informer>(client_, gvr, ns, clock_, informer_options);
      informer->add_handlers(
          {[this, kind](const Json& o) { on_autoscaler_event(kind, nullptr, &o); },
           [this, kind](const Json& old_object, const Json& o) {
             on_autoscaler_event(kind, &old_object, &o);
           },
           [this, kind](const Json& o) { on_autoscaler_event(kind, &o, nullptr); }});
      informer->start();
      autoscaler_informers_.push_back(std::move(informer));
    }
  };
  if (hpa_gvr_) watch(*hpa_gvr_, "HorizontalPodAutoscaler");
  if (scaled_object_gvr_) watch(*scaled_object_gvr_, "ScaledObject");
  return true;
}

void QueueMonitorController::on_autoscaler_event(const std::string& kind, const Json* before,
                                                 const Json* after) {
  // KEDA defaults scaleTargetRef.kind to Deployment; an HPA's kind is required.
  enqueue_monitors_of(autoscalers_.update(kind, before, after, "Deployment"));
}

void QueueMonitorController::enqueue_monitors_of(const std::vector<std::string>& targets) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(runtimes_mutex_);
    for (const auto& target : targets) {
      auto it = monitors_by_target_.find(target);
      if (it != monitors_by_target_.end())
        keys.insert(keys.end(), it->second.begin(), it->second.end());
    }
  }
  for (const auto& key : keys) queue_.add(key);
}

void QueueMonitorController::worker_loop() {
  while (auto key = queue_.get()) {
    auto started = clock_.monotonic_now();
    ReconcileResult result;
    std::string outcome = "ok";
    std::string trace_id;
    try {
      result = reconcile(*key, trace_id);
    } catch (const std::exception& e) {
      // One bad monitor never stops the others.
      spdlog::error("monitor={} reconcile threw: {}", *key, e.what());
      result.retry_with_backoff = true;
    }
    if (result.retry_with_backoff) {
      outcome = "error";
      queue_.add_rate_limited(*key);
    } else {
      queue_.forget(*key);
      if (result.requeue_after) {
        outcome = "requeue";
        queue_.add_after(*key, *result.requeue_after);
      }
    }
    queue_.done(*key);
    if (observer_) {
      observer_->on_reconcile(
          outcome, std::chrono::duration<double>(clock_.monotonic_now() - started).count(),
          trace_id);
    }
  }
}

void QueueMonitorController::on_monitor_event(const Json* old_object, const Json& object) {
  std::string key = kube::object_key(object);
  std::string ns = split_key(key).first;
  std::string target = monitor_target_key(ns, object);
  std::string previous_target;
  {
    std::lock_guard lock(runtimes_mutex_);
    auto previous = target_by_monitor_.find(key);
    if (previous != target_by_monitor_.end() && previous->second != target) {
      previous_target = previous->second;
      monitors_by_target_[previous->second].erase(key);
      if (monitors_by_target_[previous->second].empty())
        monitors_by_target_.erase(previous->second);
    }
    target_by_monitor_[key] = target;
    monitors_by_target_[target].insert(key);
  }
  if (old_object) {
    // Our own status writes come back as updates: only spec (generation), annotation, finalizer
    // or deletion changes are news.
    const auto changed = [&](const Json::json_pointer& field, const Json& absent) {
      return old_object->value(field, absent) != object.value(field, absent);
    };
    if (!changed("/metadata/generation"_json_pointer, 0) &&
        !changed("/metadata/annotations"_json_pointer, Json::object()) &&
        !changed("/metadata/finalizers"_json_pointer, Json::array()) &&
        !changed("/metadata/deletionTimestamp"_json_pointer, "")) {
      return;
    }
  }
  queue_.add(key);
  // Who owns the target may have changed for the other monitors of the old and new target.
  std::vector<std::string> targets = {target};
  if (!previous_target.empty()) targets.push_back(previous_target);
  enqueue_monitors_of(targets);
}

void QueueMonitorController::on_monitor_deleted(const Json& object) {
  std::string key = kube::object_key(object);
  std::string target;
  {
    std::lock_guard lock(runtimes_mutex_);
    auto previous = target_by_monitor_.find(key);
    if (previous != target_by_monitor_.end()) {
      target = previous->second;
      monitors_by_target_[previous->second].erase(key);
      if (monitors_by_target_[previous->second].empty())
        monitors_by_target_.erase(previous->second);
      target_by_monitor_.erase(previous);
    }
  }
  queue_.add(key);  // the reconcile finds it gone and releases its source
  if (!target.empty()) enqueue_monitors_of({target});  // a monitor that lost to it resumes at once
}

void QueueMonitorController::on_target_event(const Json* old_object, const Json& object) {
  if (old_object && old_object->value("/spec/replicas"_json_pointer, -1) ==
                        object.value("/spec/replicas"_json_pointer, -1)) {
    return;  // status churn (pods becoming ready) is no reason to poll again
  }
  std::string ns = object.value("/metadata/namespace"_json_pointer, "");
  std::string kind = object.value("kind", "Deployment");
  std::string name = object.value("/metadata/name"_json_pointer, "");
  std::vector<std::string> keys;
  {
    std::lock_guard lock(runtimes_mutex_);
    auto it = monitors_by_target_.find(target_key(ns, kind, name));
    if (it == monitors_by_target_.end()) return;
    keys.assign(it->second.begin(), it->second.end());
  }
  for (const auto& key : keys) queue_.add(key);
}

std::shared_ptr<QueueMonitorController::Runtime> QueueMonitorController::runtime_for(
    const std::string& key, const std::string& uid) {
  std::lock_guard lock(runtimes_mutex_);
  auto& slot = runtimes_[key];
  if (!slot || slot->uid != uid) {  // new, or deleted and re-created under the same name
    slot = std::make_shared<Runtime>();
    slot->uid = uid;
  }
  return slot;
}

bool QueueMonitorController::may_write(const Pass& pass) const {
  return (!options_.may_write || options_.may_write()) && owns(pass.key);
}

void QueueMonitorController::requeue_all() {
  for (const auto& informer : monitor_informers_) {
    for (const auto& object : informer->list()) queue_.add(kube::object_key(*object));
  }
}

void QueueMonitorController::drop_runtime(const std::string& key) {
  std::shared_ptr<Runtime> dropped;
  {
    std::lock_guard lock(runtimes_mutex_);
    auto it = runtimes_.find(key);
    if (it == runtimes_.end()) return;
    dropped = std::move(it->second);
    runtimes_.erase(it);
  }
  dropped.reset();  // closes the source outside the lock
}

kube::Informer* QueueMonitorController::monitor_informer_for(const std::string& ns) const {
  if (options_.namespaces.empty()) return monitor_informers_.front().get();
  for (std::size_t i = 0; i < options_.namespaces.size(); ++i) {
    if (options_.namespaces[i] == ns) return monitor_informers_[i].get();
  }
  return nullptr;
}

kube::Informer* QueueMonitorController::deployment_informer_for(const std::string& ns) const {
  if (options_.namespaces.empty()) return deployment_informers_.front().get();
  for (std::size_t i = 0; i < options_.namespaces.size(); ++i) {
    if (options_.namespaces[i] == ns) return deployment_informers_[i].get();
  }
  return nullptr;
}

// A trace per reconcile (docs/tracing.md): the phases and Kubernetes calls are its spans.
ReconcileResult QueueMonitorController::reconcile(const std::string& key) {
  std::string trace_id;
  return reconcile(key, trace_id);
}

ReconcileResult QueueMonitorController::reconcile(const std::string& key, std::string& trace_id) {
  const std::uint64_t id = ++reconcile_ids_;
  tracing::SpanScope span(options_.tracer, "reconcile");
  trace_id = span.trace_id();
  auto [ns, name] = split_key(key);
  span.set("lagpilot.monitor.namespace", ns)
      .set("lagpilot.monitor.name", name)
      .set("lagpilot.reconcile.id", id);
  ReconcileResult result = reconcile_phases(key, id);
  span.set("lagpilot.reconcile.outcome", result.retry_with_backoff ? "error"
                                         : result.error            ? "terminal"
                                         : result.requeue_after    ? "requeue"
                                                                   : "ok");
  if (result.error) span.set_error(result.error->message);
  return result;
}

ReconcileResult QueueMonitorController::reconcile_phases(const std::string& key, std::uint64_t id) {
  auto cached = cached_monitor(key);
  if (!cached || !owns(key)) return forget(key, id);
  // This monitor's last status write is still on its way (--status-writers): the next status
  // must build on it, so the reconcile comes back when the write lands, or at the monitor's next
  // poll slot if it fails. (It used to look again every 100 ms: with 10,000 first status writes
  // waiting at start-up, that was 100,000 idle reconciles a second in front of the polls.)
  if (defer_while_status_pending(key)) {
    const auto interval = std::max<std::int64_t>(
        1, cached->value("/spec/pollIntervalSeconds"_json_pointer, std::int64_t{10}));
    return ReconcileResult::poll_again_after(
        next_poll_delay(key, std::chrono::seconds(interval), clock_.now()));
  }
  const Json& object = *cached;
  auto [ns, name] = split_key(key);
  auto runtime = runtime_for(key, object.value("/metadata/uid"_json_pointer, ""));
  const auto generation = object.value("/metadata/generation"_json_pointer, std::int64_t{0});
  const WallTime now = clock_.now();
  Json status = runtime->own_writes->status_to_build_on(object);
  Pass pass{.key = key,
            .ns = ns,
            .name = name,
            .id = id,
            .object = object,
            .generation = generation,
            .now = now,
            .runtime = *runtime,
            .status = StatusBuilder(std::move(status), generation, now),
            .report = {},
            .paused = is_paused(object)};

  if (object.contains("/metadata/deletionTimestamp"_json_pointer)) return finalize(pass);
  tracing::SpanScope read_span(options_.tracer, "read_spec");
  auto spec = read_spec(pass);
  if (!spec) read_span.set_error(spec.error().message);
  read_span.end();
  if (!spec) return reject_spec(pass, spec.error());
  hold_finalizer(pass, *spec);
  PolledSources polled = poll_sources(pass, *spec);
  configure_alerting(pass, *spec, polled);
  auto current = read_current_replicas(pass, spec->target);
  if (!current) return target_unavailable(pass, *spec, polled, current.error());
  Ownership ownership = claim_target(pass, *spec, *current);
  PollOutcome outcome = run_poll_step(pass, *spec, polled, *current, ownership.holds(pass.paused));
  announce_alerts(pass, *spec, polled, outcome.evaluation);
  Applied applied = act(pass, *spec, outcome, *current, ownership);
  if (applied.fenced) {
    runtime->last_replicas.reset();  // another replica leads: what it sets is not "outside"
    // A shard's fence reopens when its Lease is renewed again: poll again at the next slot (a
    // deposed leader exits instead; a monitor that moved is forgotten at that reconcile).
    return ReconcileResult::poll_again_after(
        next_poll_delay(key, std::chrono::seconds(spec->poll_interval_seconds), clock_.now()));
  }
  build_status(pass, *spec, polled, outcome, applied, ownership);
  write_status(pass);
  if (ownership.owns() && !pass.paused && may_write(pass)) {
    runtime->last_replicas = applied.replicas;
  } else {
    runtime->last_replicas.reset();
  }
  report(pass, *spec, polled, &outcome, &applied);
  if (applied.scale_failed) return ReconcileResult::retry(*applied.scale_failed);
  return ReconcileResult::poll_again_after(
      next_poll_delay(key, std::chrono::seconds(spec->poll_interval_seconds), clock_.now()));
}

bool QueueMonitorController::defer_while_status_pending(const std::string& key) {
  // Marked before the check: a write that lands in between still wakes the reconcile.
  {
    std::lock_guard lock(deferred_mutex_);
    deferred_for_write_.insert(key);
  }
  if (status_writer_.pending_for(key)) return true;
  std::lock_guard lock(deferred_mutex_);
  deferred_for_write_.erase(key);
  return false;
}

void QueueMonitorController::wake_if_deferred(const std::string& key) {
  bool deferred = false;
  {
    std::lock_guard lock(deferred_mutex_);
    deferred = deferred_for_write_.erase(key) > 0;
  }
  if (deferred) queue_.add_after(key, kStatusWriteWait);
}

ReconcileResult QueueMonitorController::forget(const std::string& key, std::uint64_t id) {
  auto [ns, name] = split_key(key);
  drop_runtime(key);
  status_writer_.cancel(key);
  {
    std::lock_guard lock(deferred_mutex_);
    deferred_for_write_.erase(key);
  }
  if (options_.notifier) options_.notifier->remove_monitor({ns, name});
  if (observer_) observer_->on_removed(ns, name);
  spdlog::debug("monitor={} reconcile={} gone: released its source", key, id);
  return ReconcileResult::done();
}

// Being deleted, with spec.scaling.onDelete Restore's finalizer: the target gets back the replicas
// it had before this monitor took it (status.originalReplicas), unless another autoscaler or
// QueueMonitor scales it now; then the finalizer goes, whatever happened to the restore (a
// target that is gone, or a namespace being deleted, never holds the deletion up).
ReconcileResult QueueMonitorController::finalize(Pass& pass) {
  if (!has_finalizer(pass.object) || !may_write(pass)) return ReconcileResult::done();
  const Json& object = pass.object;
  TargetRef target{object.value("/spec/target/apiVersion"_json_pointer, ""),
                   object.value("/spec/target/kind"_json_pointer, ""),
                   object.value("/spec/target/name"_json_pointer, "")};
  const std::string described = target.kind + " " + pass.ns + "/" + target.name;
  auto original = pass.status.original_replicas();
  std::string outcome;
  bool restored = false;
  if (!original) {
    outcome = "nothing to restore: it never scaled " + described;
  } else if (auto other = other_owner(pass.key, object, pass.ns, target, false); !other.empty()) {
    outcome = described + " not restored: " + other + " scales it now";
  } else if (auto failed = scale_target(pass, target, *original)) {
    outcome = described + " not restored to " + std::to_string(*original) +
              " replicas: " + failed->message;
  } else {
    restored = true;
    outcome = described + " restored to " + std::to_string(*original) +
              " replicas (spec.scaling.onDelete Restore)";
  }
  (void)events_.record(object, restored ? kube::EventType::kNormal : kube::EventType::kWarning,
                       restored ? "ReplicasRestored" : "ReplicasNotRestored", outcome);
  spdlog::info("monitor={} reconcile={} deleted: {}", pass.key, pass.id, outcome);
  if (!set_finalizer(pass, false)) {
    return ReconcileResult::retry(Error{"FinalizerNotRemoved", "removing the finalizer failed"});
  }
  return ReconcileResult::done();
}

// spec.scaling.onDelete Restore holds the finalizer; Keep (or a change back to it) drops it.
void QueueMonitorController::hold_finalizer(Pass& pass, const QueueMonitorSpec& spec) {
  const bool wanted = spec.on_delete == api::OnDelete::kRestore;
  if (wanted != has_finalizer(pass.object) && may_write(pass)) (void)set_finalizer(pass, wanted);
}

// A merge patch of metadata.finalizers, conditional on the cached resourceVersion (a 409 means
// the cache is behind: the watch brings the new version and another reconcile).
bool QueueMonitorController::set_finalizer(Pass& pass, bool present) {
  Json finalizers = Json::array();
  for (const auto& f : pass.object.value("/metadata/finalizers"_json_pointer, Json::array()))
    if (f != kRestoreFinalizer) finalizers.push_back(f);
  if (present) finalizers.push_back(kRestoreFinalizer);
  Json patch = {
      {"metadata",
       {{"finalizers", finalizers},
        {"resourceVersion", pass.object.value("/metadata/resourceVersion"_json_pointer, "")}}}};
  auto patched = client_.patch(kube::resources::kQueueMonitors, pass.ns, pass.name,
                               kube::PatchType::kMerge, patch);
  if (!patched && patched.error().reason != kube::ApiReason::kNotFound) {
    spdlog::warn("monitor={} reconcile={} {} the finalizer failed: {}", pass.key, pass.id,
                 present ? "adding" : "removing", patched.error().message);
    return false;
  }
  return true;
}

// Phase 1: the spec, whole. spec.source's member is checked by its kind; a bad member is a bad
// spec. spec.latency is checked when polled: a bad one leaves the rest working.
Result<QueueMonitorSpec> QueueMonitorController::read_spec(Pass& pass) {
  auto parsed = api::parse_queue_monitor_spec(pass.object.value("spec", Json()));
  if (!parsed) return parsed.error();
  if (auto checked = api::check_spec_for_operator(*parsed); !checked) return checked.error();
  auto selected = sources_.select_source(pass.object["spec"]["source"]);
  if (!selected) return selected.error();
  if (auto checked = selected->kind->check(selected->spec); !checked) return checked.error();
  pass.report.source_kind = parsed->source_kind;
  return parsed;
}

ReconcileResult QueueMonitorController::reject_spec(Pass& pass, const Error& error) {
  const std::string& message = error.message;
  pass.status.set({"Ready", "False", "InvalidSpec", message});
  pass.status.set({"ScalingActive", "False", "InvalidSpec", "not scaling: the spec is invalid"});
  pass.status.health_unknown("invalid spec: " + message);
  pass.runtime.source.reset();
  if (!pass.status.unchanged()) {
    (void)events_.record(pass.object, kube::EventType::kWarning, "InvalidSpec", message);
    write_status(pass);
  }
  spdlog::warn("monitor={} reconcile={} invalid spec: {}", pass.key, pass.id, message);
  return ReconcileResult::terminal(error);  // a spec change (new generation) enqueues it again
}

// Phase 2: the queue, then the latency. Failures become conditions (one Event when they start or
// change) and unknown values, never zeros.
QueueMonitorController::PolledSources QueueMonitorController::poll_sources(
    Pass& pass, const QueueMonitorSpec& spec) {
  PolledSources polled;
  auto selected = sources_.select_source(pass.object["spec"]["source"]).value();
  polled.source_spec = selected.kind->check(selected.spec);
  auto source = pass.runtime.source.ensure(selected, polled.source_spec->credentials, pass.ns,
                                           secrets_, pass.now, options_.secret_refresh_interval);
  tracing::SpanScope poll_span(options_.tracer, "poll_source", tracing::SpanKind::kClient);
  poll_span.set("lagpilot.source.kind", spec.source_kind);
  if (source) {
    auto started = clock_.monotonic_now();
    polled.queue = (*source)->poll(pass.now);
    polled.queue_description = (*source)->describe();
    poll_span.set("lagpilot.source.server", polled.queue_description);
    if (observer_) {
      observer_->on_source_poll(
          spec.source_kind, polled.queue.ok(), polled.queue.ok() ? "" : polled.queue.error().code,
          std::chrono::duration<double>(clock_.monotonic_now() - started).count());
    }
  } else {
    polled.queue = source.error();
  }
  poll_span.set("lagpilot.source.result", polled.queue ? "ok" : polled.queue.error().code);
  if (!polled.queue) poll_span.set_error(polled.queue.error().message);
  poll_span.end();
  if (polled.queue) {
    pass.status.queue_metrics(*polled.queue);
    pass.status.set({"SourceReachable", "True", "Polled", polled.queue_description});
  } else {
    set_failed(pass, "SourceReachable", "SourceError", polled.queue.error());
    spdlog::warn("monitor={} reconcile={} source poll failed: {}", pass.key, pass.id,
                 polled.queue.error().message);
  }

  if (spec.latency.is_null()) {
    pass.runtime.latency.reset();
    pass.status.remove("LatencyAvailable");
    pass.status.no_latency();
    return polled;
  }
  Result<double> latency = Error{};
  std::string latency_description;
  auto latency_kind = sources_.select_latency(spec.latency);
  auto latency_spec = latency_kind ? latency_kind->kind->check(latency_kind->spec)
                                   : Result<CheckedLatencySpec>(latency_kind.error());
  if (!latency_spec) {
    polled.invalid_spec = latency_spec.error().message;
    pass.runtime.latency.reset();
    latency = latency_spec.error();
  } else {
    polled.latency_metric = latency_spec->metric_name;
    auto latency_source =
        pass.runtime.latency.ensure(*latency_kind, latency_spec->credentials, pass.ns, secrets_,
                                    pass.now, options_.secret_refresh_interval);
    if (latency_source) {
      tracing::SpanScope latency_span(options_.tracer, "query_latency", tracing::SpanKind::kClient);
      latency = (*latency_source)->query(pass.now);
      latency_description = (*latency_source)->describe();
      latency_span.set("lagpilot.source.server", latency_description)
          .set("lagpilot.source.result", latency ? "ok" : latency.error().code);
      if (!latency) latency_span.set_error(latency.error().message);
    } else {
      latency = latency_source.error();
    }
  }
  if (latency) {
    polled.latency_seconds = *latency;
    pass.status.latency(*polled.latency_metric, *latency);
    pass.status.set({"LatencyAvailable", "True", "Queried", latency_description});
  } else {
    pass.status.no_latency();
    set_failed(pass, "LatencyAvailable", "LatencyQueryFailed", latency.error());
    spdlog::warn("monitor={} reconcile={} latency unavailable: {}", pass.key, pass.id,
                 latency.error().message);
  }
  return polled;
}

void QueueMonitorController::set_failed(Pass& pass, const std::string& condition_type,
                                        const std::string& default_reason, const Error& error) {
  Condition failed{condition_type, "False", error.code.empty() ? default_reason : error.code,
                   error.message};
  // One Event when a failure starts or its reason changes; a failure that persists is no news.
  if (pass.status.is_news(failed))
    (void)events_.record(pass.object, kube::EventType::kWarning, failed.reason, error.message);
  pass.status.set(failed);
}

// Phase 3: alert rules and SLOs follow the spec's generation; after a restart they continue from
// what the last status recorded. Another queue starts them afresh.
void QueueMonitorController::configure_alerting(Pass& pass, const QueueMonitorSpec& spec,
                                                const PolledSources& polled) {
  Runtime& runtime = pass.runtime;
  const std::string source_identity = spec.source_kind + "|" + spec.source.dump();
  if (runtime.alerting_generation && runtime.alerting_source != source_identity) {
    runtime.step.start_alerting_afresh();
    runtime.alerting_generation.reset();
    runtime.alerting_restored = true;  // the old status was another queue's
  }
  runtime.alerting_source = source_identity;
  if (runtime.alerting_generation != pass.generation) {
    auto configured =
        runtime.step.configure(pass.object.value("spec", Json::object()),
                               monitor_context(pass.ns, pass.name, spec, polled.source_spec->labels,
                                               polled.latency_metric));
    std::string message = configured.ok() ? "" : configured.message();
    if (!message.empty() && message != runtime.alerting_config_error) {
      (void)events_.record(pass.object, kube::EventType::kWarning, "InvalidSpec", message);
      spdlog::warn("monitor={} reconcile={} alerting: {}", pass.key, pass.id, message);
    }
    runtime.alerting_config_error = message;
    runtime.alerting_generation = pass.generation;
    if (!runtime.alerting_restored) {
      auto restored = runtime.step.restore(pass.status.old_status());
      runtime.alerting_restored = true;
      if (restored.alerts + restored.slos + restored.history > 0) {
        spdlog::info(
            "monitor={} reconcile={} continued {} alerts, {} SLOs, {} history entries from status",
            pass.key, pass.id, restored.alerts, restored.slos, restored.history);
      }
      for (const auto& skipped : restored.skipped)
        spdlog::info("monitor={} reconcile={} not restored: {}", pass.key, pass.id, skipped);
    }
  }
  if (!spec.notifications.is_null()) {
    runtime.receivers.refresh(spec.notifications, pass.ns, secrets_, pass.now,
                              options_.secret_refresh_interval);
  } else {
    runtime.receivers.clear();
  }
}

// Phase 4: the target's replicas, from the cache (Deployments) or its scale subresource.
Result<int> QueueMonitorController::read_current_replicas(Pass& pass, const TargetRef& target) {
  const std::string& ns = pass.ns;
  std::optional<int> replicas;
  if (target.kind == "Deployment" && target.api_version == "apps/v1") {
    kube::Informer* cache = deployment_informer_for(ns);
    auto object = cache ? cache->get(ns + "/" + target.name) : nullptr;
    if (!object) {
      return Error{"TargetNotFound",
                   "spec.target: Deployment " + ns + "/" + target.name + " not found"};
    }
    replicas = object->value("/spec/replicas"_json_pointer, 1);
  } else {
    auto gvr = client_.resolve_kind(target.api_version, target.kind);
    if (!gvr) {
      return Error{"TargetNotFound", "spec.target: " + target.kind + " in " + target.api_version +
                                         " is not served by this cluster: " + gvr.error().message};
    }
    auto scale = client_.get_scale(*gvr, ns, target.name);
    if (!scale) {
      if (scale.error().reason == kube::ApiReason::kNotFound) {
        return Error{"TargetNotFound", "spec.target: " + target.kind + " " + ns + "/" +
                                           target.name +
                                           " not found (or has no scale subresource)"};
      }
      return Error{"TargetUnreadable", scale.error().message};
    }
    replicas = scale->value("/spec/replicas"_json_pointer, 0);
  }
  // Right after a patch the cache may not have caught up yet.
  Runtime& runtime = pass.runtime;
  if (runtime.pending_replicas && runtime.pending_since) {
    if (*replicas == *runtime.pending_replicas ||
        clock_.now() - *runtime.pending_since > std::chrono::seconds(10)) {
      runtime.pending_replicas.reset();
      runtime.pending_since.reset();
    } else {
      replicas = runtime.pending_replicas;
    }
  }
  return *replicas;
}

ReconcileResult QueueMonitorController::target_unavailable(Pass& pass, const QueueMonitorSpec& spec,
                                                           const PolledSources& polled,
                                                           const Error& error) {
  pass.status.set({"ScalingActive", "False", error.code, error.message});
  pass.status.set({"Ready", "False", error.code, error.message});
  pass.status.health_unknown(error.message);
  if (!pass.status.unchanged())
    (void)events_.record(pass.object, kube::EventType::kWarning, error.code, error.message);
  write_status(pass);
  report(pass, spec, polled, nullptr, nullptr);
  return ReconcileResult::retry(error);
}

// Phase 5: whether this monitor may scale its target (target_ownership.h): another autoscaler
// or an older QueueMonitor may scale it instead (TargetConflict: this one observes, alerts and
// writes status, and scales nothing until the conflict is gone); lagpilot.io/paused-replicas pins
// it. While it owns the target, a change of its replicas that lagpilot did not make is recorded
// and announced before lagpilot sets them again.
QueueMonitorController::Ownership QueueMonitorController::claim_target(Pass& pass,
                                                                       const QueueMonitorSpec& spec,
                                                                       int current_replicas) {
  Ownership ownership;
  StatusBuilder& status = pass.status;
  ownership.claims = spec.scaling.mode == scaler::Mode::kActive;
  if (!ownership.claims) {
    status.original_replicas(std::nullopt);  // DryRun holds no target
    return ownership;
  }
  const std::string described = spec.target.kind + " " + spec.target.name;
  ownership.other_owner = other_owner(pass.key, pass.object, pass.ns, spec.target, true);
  if (!ownership.other_owner.empty()) {
    const bool by_monitor = ownership.other_owner.rfind("QueueMonitor ", 0) == 0;
    Condition conflict{
        "ScalingActive", "False", "TargetConflict",
        described + " is scaled by " + ownership.other_owner +
            (by_monitor ? " (the oldest QueueMonitor of a target keeps it)" : "") +
            ": this monitor does not scale it; it keeps observing, alerting and writing status"};
    if (status.is_news(conflict))
      (void)events_.record(pass.object, kube::EventType::kWarning, "TargetConflict",
                           conflict.message);
    status.set(conflict);
    status.original_replicas(std::nullopt);
    return ownership;
  }
  if (auto pinned = paused_replicas(pass.object)) {
    ownership.pinned = *pinned;
  } else {
    ownership.invalid_pin = pinned.error().message;
  }
  Runtime& runtime = pass.runtime;
  const std::string target_id = target_key(pass.ns, spec.target.kind, spec.target.name);
  if (runtime.last_target != target_id) {
    // Another target: what was seen and recorded was about the old one.
    if (!runtime.last_target.empty()) status.original_replicas(std::nullopt);
    runtime.last_replicas.reset();
    runtime.last_target = target_id;
  }
  if (!status.original_replicas()) status.original_replicas(current_replicas);
  const auto& last = runtime.last_replicas;
  if (!pass.paused && last && *last != current_replicas) {
    std::string message = described + " was scaled " + std::to_string(*last) + " -> " +
                          std::to_string(current_replicas) +
                          " outside lagpilot; lagpilot owns its replicas and sets them again by "
                          "spec.scaling (annotate the QueueMonitor lagpilot.io/paused: \"true\" "
                          "to scale it by hand)";
    status.history_entry(*last, current_replicas, "external", "changed outside lagpilot",
                         spec.scaling.history_limit);
    (void)events_.record(pass.object, kube::EventType::kWarning, "ScaledOutsideLagpilot", message);
    spdlog::info("monitor={} reconcile={} {}", pass.key, pass.id, message);
  }
  return ownership;
}

std::string QueueMonitorController::other_owner(const std::string& key, const Json& self,
                                                const std::string& ns, const TargetRef& target,
                                                bool self_claims) const {
  const std::string target_id = target_key(ns, target.kind, target.name);
  if (auto autoscalers = autoscalers_.autoscalers_of(target_id); !autoscalers.empty())
    return autoscalers.front();
  std::vector<std::string> peers;
  {
    std::lock_guard lock(runtimes_mutex_);
    auto it = monitors_by_target_.find(target_id);
    if (it != monitors_by_target_.end()) peers.assign(it->second.begin(), it->second.end());
  }
  std::shared_ptr<const Json> owner;
  for (const auto& peer : peers) {
    if (peer == key) continue;
    auto other = cached_monitor(peer);
    if (!other || !claims_target(*other)) continue;
    if (self_claims && !older_monitor(*other, self)) continue;
    if (!owner || older_monitor(*other, *owner)) owner = other;
  }
  return owner ? "QueueMonitor " + owner->value("/metadata/name"_json_pointer, "") : "";
}

// Phase 6: the poll step (poll_step.h), the same code `lagpilot simulate` runs. `hold`: decide,
// but scale nothing (paused, pinned, or another owner).
PollOutcome QueueMonitorController::run_poll_step(Pass& pass, const QueueMonitorSpec& spec,
                                                  const PolledSources& polled, int current_replicas,
                                                  bool hold) {
  return pass.runtime.step.run(spec.scaling,
                               poll_input(polled.queue, polled.latency_metric,
                                          polled.latency_seconds, pass.now, current_replicas, hold),
                               options_.tracer);
}

// Phase 7: alert transitions become Events, firing alerts go to the notifier (queued, never
// waited on).
void QueueMonitorController::announce_alerts(Pass& pass, const QueueMonitorSpec& spec,
                                             const PolledSources& polled,
                                             const alerts::Evaluation& evaluation) {
  for (const auto& transition : evaluation.transitions) {
    bool fired = transition.kind == alerts::AlertTransition::Kind::kFired;
    std::string message = std::string(fired ? "firing" : "resolved") + " (" +
                          std::string(alerts::to_string(transition.severity)) +
                          "): " + transition.summary;
    (void)events_.record(pass.object, fired ? kube::EventType::kWarning : kube::EventType::kNormal,
                         fired ? "AlertFiring" : "AlertResolved",
                         "alert " + transition.name + " " + message);
    spdlog::info("monitor={} reconcile={} alert {} {}", pass.key, pass.id, transition.name,
                 message);
  }
  const auto& receivers = pass.runtime.receivers.receivers();
  if (options_.notifier && (!spec.notifications.is_null() || !receivers.empty())) {
    const notify::MonitorKey monitor{pass.ns, pass.name};
    if (!pass.runtime.webhook_deliveries_restored) {
      options_.notifier->restore_webhook_deliveries(monitor, pass.status.webhook_deliveries());
      pass.runtime.webhook_deliveries_restored = true;
    }
    options_.notifier->notify(firing_alerts(pass.ns, pass.name, polled.source_spec->labels,
                                            evaluation, pass.runtime.step.alerting().rules()),
                              receivers);
    pass.status.webhook_deliveries(options_.notifier->webhook_deliveries(monitor));
  } else {
    pass.status.webhook_deliveries({});
  }
}

std::optional<Error> QueueMonitorController::scale_target(Pass& pass, const TargetRef& target,
                                                          int replicas) {
  tracing::SpanScope span(options_.tracer, "scale");
  span.set("lagpilot.target", target.kind + " " + target.name).set("lagpilot.replicas", replicas);
  auto gvr = client_.resolve_kind(target.api_version, target.kind);
  auto patched = gvr ? client_.patch_scale(*gvr, pass.ns, target.name, replicas)
                     : kube::ApiResult<Json>(gvr.error());
  if (patched) {
    ++scale_patches_;
    pass.runtime.pending_replicas = replicas;
    pass.runtime.pending_since = pass.now;
    return std::nullopt;
  }
  span.set_error(patched.error().message);
  return Error{"ScaleFailed", "scaling " + target.kind + " " + target.name + " to " +
                                  std::to_string(replicas) + " failed: " + patched.error().message};
}

// Phase 8: scale the target when the step says so (behind the leader fence), or to the replicas
// lagpilot.io/paused-replicas pins, or note a DryRun decision.
QueueMonitorController::Applied QueueMonitorController::act(Pass& pass,
                                                            const QueueMonitorSpec& spec,
                                                            const PollOutcome& outcome, int current,
                                                            const Ownership& ownership) {
  Applied applied;
  applied.replicas = current;
  const scaler::Decision& decision = outcome.decision;
  if (ownership.owns() && ownership.pinned && *ownership.pinned != current) {
    const int pinned = *ownership.pinned;
    if (!may_write(pass)) {
      applied.fenced = true;
      return applied;
    }
    if (auto failed = scale_target(pass, spec.target, pinned)) {
      applied.scale_failed = failed;
      (void)events_.record(pass.object, kube::EventType::kWarning, "ScaleFailed", failed->message);
      return applied;
    }
    std::string reason = std::string("annotation ") + kPausedReplicasAnnotation + " pins it at " +
                         std::to_string(pinned);
    pass.status.history_entry(current, pinned, "pausedReplicas", reason,
                              spec.scaling.history_limit);
    (void)events_.record(pass.object, kube::EventType::kNormal,
                         pinned > current ? "ScaledUp" : "ScaledDown", reason);
    pass.report.scaled = true;
    pass.report.scaled_from = current;
    pass.report.scaled_to = pinned;
    applied.replicas = pinned;
    return applied;
  }
  if (outcome.action == PollAction::kRecordDryRun) {
    pass.status.scaling_history(decision, /*dry_run=*/true, spec.scaling.history_limit);
    (void)events_.record(pass.object, kube::EventType::kNormal, "DryRunDecision",
                         "would scale: " + decision.reason);
    pass.report.scaled = true;
    pass.report.scaled_from = current;
    pass.report.scaled_to = decision.replicas_if_unpaused;
    return applied;
  }
  if (outcome.action != PollAction::kScale) return applied;
  if (!may_write(pass)) {
    spdlog::warn("monitor={} reconcile={} not leading: scale {} -> {} not applied", pass.key,
                 pass.id, decision.current_replicas, decision.desired_replicas);
    applied.fenced = true;
    return applied;
  }
  if (auto failed = scale_target(pass, spec.target, decision.desired_replicas)) {
    applied.scale_failed = failed;
    (void)events_.record(pass.object, kube::EventType::kWarning, "ScaleFailed", failed->message);
    spdlog::error("monitor={} reconcile={} {}", pass.key, pass.id, failed->message);
    return applied;
  }
  pass.runtime.step.scaled(decision);
  pass.status.scaling_history(decision, /*dry_run=*/false, spec.scaling.history_limit);
  bool up = decision.desired_replicas > decision.current_replicas;
  (void)events_.record(pass.object, kube::EventType::kNormal, up ? "ScaledUp" : "ScaledDown",
                       decision.reason);
  spdlog::info("monitor={} reconcile={} scaled {} -> {}: {}", pass.key, pass.id,
               decision.current_replicas, decision.desired_replicas, decision.reason);
  pass.report.scaled = true;
  pass.report.scaled_from = decision.current_replicas;
  pass.report.scaled_to = decision.desired_replicas;
  applied.replicas = decision.desired_replicas;
  return applied;
}

// Phase 9: replicas, the alerting fields and the conditions.
void QueueMonitorController::build_status(Pass& pass, const QueueMonitorSpec& spec,
                                          const PolledSources& polled, const PollOutcome& outcome,
                                          const Applied& applied, const Ownership& ownership) {
  StatusBuilder& status = pass.status;
  const scaler::Decision& decision = outcome.decision;
  status.alerting(pass.runtime.step.alerting().status_json());
  status.replicas(applied.replicas, decision.replicas_if_unpaused);

  if (applied.scale_failed) {
    status.set({"ScalingActive", "False", "ScaleFailed", applied.scale_failed->message});
  } else if (!ownership.other_owner.empty()) {
    // claim_target set TargetConflict.
  } else if (!ownership.invalid_pin.empty()) {
    status.set({"ScalingActive", "False", "InvalidSpec", "not scaling: " + ownership.invalid_pin});
  } else if (ownership.pinned) {
    status.set({"ScalingActive", "False", "Paused",
                std::string("annotation ") + kPausedReplicasAnnotation + " is \"" +
                    std::to_string(*ownership.pinned) + "\": the target is held at " +
                    std::to_string(*ownership.pinned) + " replicas; observing only"});
  } else if (pass.paused) {
    status.set({"ScalingActive", "False", "Paused",
                std::string("annotation ") + kPausedAnnotation + " is \"true\": observing only"});
  } else if (spec.scaling.mode == scaler::Mode::kDryRun) {
    status.set(
        {"ScalingActive", "False", "DryRun", "mode DryRun: decisions are recorded, not applied"});
  } else if (!polled.queue) {
    status.set({"ScalingActive", "False", scaler::to_string(decision.guard_rail),
                "holding replicas: " + decision.reason});
  } else if (decision.catch_up) {
    // No figures in the message: it would change at every poll; the history entry has them.
    status.set({"ScalingActive", "True", "CatchUp",
                "policy drainTime: the projected lagSeconds misses the objective; scale-up "
                "limits and stabilization lifted"});
  } else {
    status.set(
        {"ScalingActive", "True", "Scaling", "policy " + scaler::to_string(spec.scaling.policy)});
  }

  std::string invalid = polled.invalid_spec;
  if (!ownership.invalid_pin.empty())
    invalid += (invalid.empty() ? "" : "; ") + ownership.invalid_pin;
  const std::string& alerting_error = pass.runtime.alerting_config_error;
  if (!alerting_error.empty()) invalid += (invalid.empty() ? "" : "; ") + alerting_error;
  if (invalid.empty()) {
    status.set({"Ready", "True", "Reconciled", ""});
  } else {
    // The valid rules, SLOs and scaling keep working; the condition names the bad field.
    status.set({"Ready", "False", "InvalidSpec", invalid});
  }

  const auto& health = outcome.evaluation.health;
  const std::string verdict(alerts::to_string(health.health));
  std::string reasons;
  for (const auto& reason : health.reasons) reasons += (reasons.empty() ? "" : "; ") + reason;
  status.set(
      {"Healthy", verdict == "Healthy" ? "True" : "False", verdict, reasons.substr(0, 1000)});

  const NotificationReceivers& receivers = pass.runtime.receivers;
  if (!receivers.problems().empty()) {
    status.set({"NotificationsReady", "False", "InvalidNotifications", receivers.problems()});
  } else if (!spec.notifications.is_null()) {
    // Counted per list of spec.notifications, by its name there.
    const notify::Receivers& usable = receivers.receivers();
    status.set({"NotificationsReady", "True", "Configured",
                "receivers in use: " + std::to_string(usable.size()) +
                    " (webhooks: " + std::to_string(usable.webhooks.size()) +
                    ", alertmanagers: " + std::to_string(usable.alertmanagers.size()) +
                    ", pagerduty: " + std::to_string(usable.pagerduty.size()) + ")"});
  } else {
    status.remove("NotificationsReady");
  }
}

// Phase 10: only differences, behind the leader fence; what changes with every poll alone (metric
// values, SLO figures, alert values) at most every metrics_status_interval.
void QueueMonitorController::write_status(Pass& pass) {
  if (pass.status.unchanged()) return;
  if (!may_write(pass)) return;
  Runtime& runtime = pass.runtime;
  WallTime now = clock_.now();
  if (pass.status.only_running_figures() && runtime.last_status_write &&
      now - *runtime.last_status_write < options_.metrics_status_interval) {
    return;
  }
  tracing::SpanScope span(options_.tracer, "write_status");
  Json patch = {{"status", merge_patch_diff(pass.status.old_status(), pass.status.build())}};
  auto own_writes = runtime.own_writes;  // outlives the runtime if the monitor goes meanwhile
  if (!status_writer_.submit(pass.key, pass.ns, pass.name, patch,
                             [this, own_writes, key = pass.key](const Json& answered) {
                               own_writes->wrote(answered);
                               wake_if_deferred(key);
                             })) {
    span.set_error("status write not taken (failed, fenced or stopping)");
    return;
  }
  runtime.last_status_write = now;
}

void QueueMonitorController::report(Pass& pass, const QueueMonitorSpec& spec,
                                    const PolledSources& polled, const PollOutcome* outcome,
                                    const Applied* applied) {
  if (!observer_) return;
  MonitorReport& report = pass.report;
  report.ns = pass.ns;
  report.name = pass.name;
  report.source_kind = spec.source_kind;
  report.source_ok = polled.queue.ok();
  if (polled.queue) report.snapshot = *polled.queue;
  report.latency_seconds = polled.latency_seconds;
  if (outcome && applied) {
    report.current_replicas = outcome->decision.current_replicas;
    report.desired_replicas = outcome->decision.replicas_if_unpaused;
    report.health = std::string(alerts::to_string(outcome->evaluation.health.health));
    for (const char* severity : {"critical", "high", "medium", "low", "info"})
      report.alerts_firing[severity] = 0;
    for (const auto& active : outcome->evaluation.active) {
      if (active.state == alerts::AlertState::kFiring)
        ++report.alerts_firing[std::string(alerts::to_string(active.severity))];
    }
    report.slos = outcome->evaluation.slos;
  }
  observer_->on_report(report);
}

}  // namespace lagpilot::controllers
