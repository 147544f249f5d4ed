#include "controllers/queuemonitor_controller.h"

#include <spdlog/spdlog.h>

#include "alerts/monitor_alerting.h"
#include "controllers/conditions.h"
#include "controllers/monitor_alerting_glue.h"
#include "controllers/poll_schedule.h"
#include "kube/config.h"
#include "metrics/prometheus_latency.h"
#include "notify/webhook_spec.h"
#include "scaler/format.h"

namespace lagpilot::controllers {

using kube::Json;

namespace {

constexpr char kPausedAnnotation[] = "lagpilot.io/paused";

std::string target_index_key(const std::string& ns, const std::string& kind,
                             const std::string& name) {
  return ns + "/" + kind + "/" + name;
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

// A short fingerprint of what a source is built from, to notice spec or credential changes.
std::string fingerprint(const QueueMonitorSpec& spec, const std::string& secret_version) {
  return spec.source_kind + "|" + spec.source.dump() + "|" + secret_version;
}

Json snapshot_metrics(const QueueSnapshot& snapshot, WallTime now) {
  Json out = {{"consumerLag", snapshot.consumer_lag},
              {"queueDepth", snapshot.queue_depth},
              {"partitions", snapshot.partitions},
              {"lastPollTime", format_rfc3339(now)}};
  if (snapshot.consumers) out["consumers"] = *snapshot.consumers;
  if (snapshot.lag_seconds) out["lagSeconds"] = std::round(*snapshot.lag_seconds * 1000) / 1000;
  if (snapshot.ingress_rate) out["ingressRate"] = std::round(*snapshot.ingress_rate * 100) / 100;
  if (snapshot.egress_rate) out["egressRate"] = std::round(*snapshot.egress_rate * 100) / 100;
  return out;
}

scaler::Observation observation_from(const Result<QueueSnapshot>& polled, WallTime now) {
  scaler::Observation observation;
  observation.time = now;
  if (!polled) {
    observation.ok = false;
    observation.error = polled.error().message;
    return observation;
  }
  const auto& s = *polled;
  observation.consumer_lag = s.consumer_lag;
  observation.queue_depth = s.queue_depth;
  observation.lag_seconds = s.lag_seconds;
  observation.partitions = s.partitions;
  observation.consumers = s.consumers;
  observation.ingress_rate = s.ingress_rate;
  observation.egress_rate = s.egress_rate;
  return observation;
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

// A cached QueueMonitor without what the server keeps for its own bookkeeping.
void drop_bookkeeping(Json& monitor) {
  if (!monitor.contains("metadata") || !monitor["metadata"].is_object()) return;
  Json& metadata = monitor["metadata"];
  metadata.erase("managedFields");
  if (metadata.contains("annotations") && metadata["annotations"].is_object()) {
    metadata["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
    if (metadata["annotations"].empty()) metadata.erase("annotations");
  }
}

Json without_poll_time(Json status) {
  if (status.contains("metrics") && status["metrics"].is_object())
    status["metrics"].erase("lastPollTime");
  return status;
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
  std::unique_ptr<QueueSource> source;
  std::string source_fingerprint;
  std::string secret_version;
  std::optional<WallTime> secret_read_at;
  scaler::ScalerState scaler;
  std::optional<WallTime> last_status_write;
  std::optional<int> last_dry_run_desired;
  std::optional<int> pending_replicas;  // patched, not yet visible in the cache
  std::optional<WallTime> pending_since;
  Json last_good_metrics;

  // Alerts, SLOs and health (spec.alerts, alertsPreset, slos).
  alerts::MonitorAlerting alerting;
  std::optional<std::int64_t> alerting_generation;  // the spec generation configured
  std::string alerting_source;                      // spec.source it has been measuring
  std::string alerting_config_error;                // "" when every rule and SLO is valid
  bool alerting_restored = false;

  // spec.latency.prometheus.
  std::unique_ptr<PrometheusLatencySource> latency;
  std::string latency_fingerprint;
  std::optional<WallTime> latency_secret_read_at;

  // spec.notifications.
  std::vector<notify::WebhookReceiver> receivers;
  std::string receivers_fingerprint;
  std::optional<WallTime> receivers_read_at;
  std::string receivers_error;
};

QueueMonitorController::QueueMonitorController(kube::KubeClient& client, Clock& clock,
                                               SourceFactory& sources, kube::EventRecorder& events,
                                               ControllerOptions options,
                                               ReconcileObserver* observer)
    : client_(client),
      clock_(clock),
      sources_(sources),
      events_(events),
      options_(std::move(options)),
      observer_(observer),
      queue_(clock, options_.queue) {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const auto& ns : namespaces) {
    kube::InformerOptions monitor_options;
    monitor_options.transform = drop_bookkeeping;
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
  for (auto& informer : deployment_informers_) informer->start();
  for (auto& informer : monitor_informers_) informer->start();
  for (auto& informer : deployment_informers_) {
    if (!informer->wait_for_sync(options_.sync_timeout)) return false;
  }
  for (auto& informer : monitor_informers_) {
    if (!informer->wait_for_sync(options_.sync_timeout)) return false;
  }
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  return true;
}

void QueueMonitorController::stop() {
  queue_.shut_down();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
  for (auto& informer : monitor_informers_) informer->stop();
  for (auto& informer : deployment_informers_) informer->stop();
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

void QueueMonitorController::worker_loop() {
  while (auto key = queue_.get()) {
    auto started = std::chrono::steady_clock::now();
    ReconcileResult result;
    std::string outcome = "ok";
    try {
      result = reconcile(*key);
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
          outcome,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }
}

void QueueMonitorController::on_monitor_event(const Json* old_object, const Json& object) {
  std::string key = kube::object_key(object);
  std::string ns = split_key(key).first;
  std::string kind = object.value("/spec/target/kind"_json_pointer, "");
  std::string name = object.value("/spec/target/name"_json_pointer, "");
  {
    std::lock_guard lock(runtimes_mutex_);
    std::string target = target_index_key(ns, kind, name);
    auto previous = target_by_monitor_.find(key);
    if (previous != target_by_monitor_.end() && previous->second != target) {
      monitors_by_target_[previous->second].erase(key);
    }
    target_by_monitor_[key] = target;
    monitors_by_target_[target].insert(key);
  }
  if (old_object) {
    // Our own status writes come back as updates: only spec (generation) or annotation changes
    // are news.
    bool generation_changed = old_object->value("/metadata/generation"_json_pointer, 0) !=
                              object.value("/metadata/generation"_json_pointer, 0);
    bool annotations_changed =
        old_object->value("/metadata/annotations"_json_pointer, Json::object()) !=
        object.value("/metadata/annotations"_json_pointer, Json::object());
    if (!generation_changed && !annotations_changed) return;
  }
  queue_.add(key);
}

void QueueMonitorController::on_monitor_deleted(const Json& object) {
  std::string key = kube::object_key(object);
  {
    std::lock_guard lock(runtimes_mutex_);
    auto previous = target_by_monitor_.find(key);
    if (previous != target_by_monitor_.end()) {
      monitors_by_target_[previous->second].erase(key);
      if (monitors_by_target_[previous->second].empty())
        monitors_by_target_.erase(previous->second);
      target_by_monitor_.erase(previous);
    }
  }
  queue_.add(key);  // the reconcile finds it gone and releases its source
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
    auto it = monitors_by_target_.find(target_index_key(ns, kind, name));
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

Result<int> QueueMonitorController::read_current_replicas(Runtime& runtime, const std::string& ns,
                                                          const TargetRef& target) {
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

Status QueueMonitorController::ensure_source(Runtime& runtime, const std::string& ns,
                                             const QueueMonitorSpec& spec) {
  WallTime now = clock_.now();
  SourceCredentials credentials;
  bool refresh_secret =
      !spec.auth_secret_name.empty() &&
      (!runtime.secret_read_at ||
       now - *runtime.secret_read_at >= options_.secret_refresh_interval || !runtime.source);
  std::string secret_version = spec.auth_secret_name.empty() ? "" : runtime.secret_version;
  if (refresh_secret) {
    auto secret = client_.get(kube::resources::kSecrets, ns, spec.auth_secret_name);
    if (!secret) {
      return Error{
          secret.error().reason == kube::ApiReason::kNotFound ? "SecretNotFound"
                                                              : "SecretUnreadable",
          "spec.source." + spec.source_kind + ".authSecretRef: Secret " + ns + "/" +
              spec.auth_secret_name + ": " +
              (secret.error().reason == kube::ApiReason::kNotFound ? "not found"
                                                                   : secret.error().message)};
    }
    runtime.secret_read_at = now;
    secret_version = secret->value("/metadata/resourceVersion"_json_pointer, "");
    if (fingerprint(spec, secret_version) != runtime.source_fingerprint || !runtime.source) {
      const Json data = secret->value("data", Json::object());
      for (const auto& [key, value] : data.items()) {
        if (value.is_string()) credentials[key] = kube::base64_decode(value.get<std::string>());
      }
    }
    runtime.secret_version = secret_version;
  }
  std::string wanted = fingerprint(spec, secret_version);
  if (runtime.source && runtime.source_fingerprint == wanted) return Ok{};
  runtime.source.reset();  // release the old connections first
  auto created = sources_.create(spec.source_kind, spec.source, credentials);
  if (!created) return created.error();
  runtime.source = std::move(*created);
  runtime.source_fingerprint = wanted;
  return Ok{};
}

Result<QueueMonitorController::SecretValues> QueueMonitorController::read_secret(
    const std::string& ns, const std::string& name, const std::string& field) {
  auto secret = client_.get(kube::resources::kSecrets, ns, name);
  if (!secret) {
    bool missing = secret.error().reason == kube::ApiReason::kNotFound;
    return Error{missing ? "SecretNotFound" : "SecretUnreadable",
                 field + ": Secret " + ns + "/" + name + ": " +
                     (missing ? "not found" : secret.error().message)};
  }
  SecretValues out;
  const Json data = secret->value("data", Json::object());
  for (const auto& [key, value] : data.items()) {
    if (value.is_string()) out.values[key] = kube::base64_decode(value.get<std::string>());
  }
  out.resource_version = secret->value("/metadata/resourceVersion"_json_pointer, "");
  return out;
}

Result<std::pair<std::string, double>> QueueMonitorController::poll_latency(
    Runtime& runtime, const std::string& ns, const QueueMonitorSpec& spec, WallTime now) {
  auto parsed = parse_prometheus_latency_spec(spec.latency);
  if (!parsed) {
    runtime.latency.reset();
    return parsed.error();
  }
  std::string wanted = spec.latency.dump();
  bool stale_secret = !parsed->auth_secret_name.empty() &&
                      (!runtime.latency_secret_read_at ||
                       now - *runtime.latency_secret_read_at >= options_.secret_refresh_interval);
  if (!runtime.latency || runtime.latency_fingerprint.rfind(wanted, 0) != 0 || stale_secret) {
    std::map<std::string, std::string> secret_values;
    std::string secret_version;
    if (!parsed->auth_secret_name.empty()) {
      auto values =
          read_secret(ns, parsed->auth_secret_name, "spec.latency.prometheus.authSecretRef");
      if (!values) return values.error();
      secret_version = values->resource_version;
      secret_values = std::move(values->values);
      runtime.latency_secret_read_at = now;
    }
    std::string fingerprint_now = wanted + "|" + secret_version;
    if (!runtime.latency || runtime.latency_fingerprint != fingerprint_now) {
      runtime.latency.reset();
      auto created = PrometheusLatencySource::create(spec.latency, secret_values,
                                                     latency_gate_for(parsed->server_url));
      if (!created) return created.error();
      runtime.latency = std::move(*created);
      runtime.latency_fingerprint = fingerprint_now;
    }
  }
  auto value = runtime.latency->query(now);
  if (!value) return value.error();
  return std::pair<std::string, double>{runtime.latency->spec().name, *value};
}

std::shared_ptr<OutageGate> QueueMonitorController::latency_gate_for(
    const std::string& server_url) {
  std::lock_guard lock(latency_gates_mutex_);
  std::erase_if(latency_gates_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = latency_gates_[server_url];
  auto gate = slot.lock();
  if (!gate) {
    gate = std::make_shared<OutageGate>();
    slot = gate;
  }
  return gate;
}

void QueueMonitorController::refresh_receivers(Runtime& runtime, const Json& object,
                                               const QueueMonitorSpec& spec, WallTime now) {
  std::string wanted = spec.notifications.dump();
  if (runtime.receivers_fingerprint == wanted && runtime.receivers_read_at &&
      now - *runtime.receivers_read_at < options_.secret_refresh_interval) {
    return;
  }
  runtime.receivers_fingerprint = wanted;
  runtime.receivers_read_at = now;
  const std::string ns = object.value("/metadata/namespace"_json_pointer, "");
  std::map<std::string, std::map<std::string, std::string>> secrets;
  std::vector<std::string> unreadable;
  for (const auto& ref : notify::webhook_secret_refs(spec.notifications)) {
    if (secrets.count(ref.name)) continue;
    auto values = read_secret(ns, ref.name, "spec.notifications");
    if (values) {
      secrets[ref.name] = std::move(values->values);
    } else if (values.error().code != "SecretNotFound") {
      unreadable.push_back(values.error().message);
    }
  }
  auto parsed = notify::parse_webhooks(
      spec.notifications, [&](const notify::SecretKeyRef& ref) -> std::optional<std::string> {
        auto secret = secrets.find(ref.name);
        if (secret == secrets.end()) return std::nullopt;
        auto value = secret->second.find(ref.key);
        if (value == secret->second.end()) return std::nullopt;
        return value->second;
      });
  std::string problems;
  if (!parsed) {
    runtime.receivers.clear();
    problems = parsed.error().message;
  } else {
    runtime.receivers = parsed->receivers;
    for (const auto& error : parsed->errors)
      problems += (problems.empty() ? "" : "; ") + error.message;
  }
  for (const auto& message : unreadable) problems += (problems.empty() ? "" : "; ") + message;
  runtime.receivers_error = problems;
}

bool QueueMonitorController::write_status(const Json& object, const Json& old_status,
                                          const Json& new_status, Runtime& runtime,
                                          bool metrics_only) {
  WallTime now = clock_.now();
  if (without_poll_time(old_status) == without_poll_time(new_status)) return true;  // nothing new
  if (options_.may_write && !options_.may_write()) return false;
  if (metrics_only && runtime.last_status_write &&
      now - *runtime.last_status_write < options_.metrics_status_interval) {
    return true;  // metric values alone: throttled
  }
  auto [ns, name] = split_key(kube::object_key(object));
  Json patch = {{"status", merge_patch_diff(old_status, new_status)}};
  auto written = client_.patch(kube::resources::kQueueMonitors, ns, name, kube::PatchType::kMerge,
                               patch, "status");
  if (!written) {
    spdlog::warn("monitor={}/{} status write failed: {}", ns, name, written.error().message);
    return false;
  }
  ++status_writes_;
  runtime.last_status_write = now;
  return true;
}

ReconcileResult QueueMonitorController::reconcile(const std::string& key) {
  auto [ns, name] = split_key(key);
  std::uint64_t reconcile_id = ++reconcile_ids_;
  auto cached = cached_monitor(key);
  if (!cached) {
    drop_runtime(key);
    if (options_.notifier) options_.notifier->remove_monitor({ns, name});
    if (observer_) observer_->on_removed(ns, name);
    spdlog::debug("monitor={} reconcile={} gone: released its source", key, reconcile_id);
    return {};
  }
  const Json& object = *cached;
  std::string uid = object.value("/metadata/uid"_json_pointer, "");
  std::int64_t generation = object.value("/metadata/generation"_json_pointer, std::int64_t{0});
  auto runtime = runtime_for(key, uid);
  WallTime now = clock_.now();
  const Json old_status = object.value("status", Json::object());
  Json status = old_status;
  Json conditions = status.value("conditions", Json::array());
  status["observedGeneration"] = generation;

  auto parsed = parse_queue_monitor_spec(object.value("spec", Json()));
  if (!parsed) {
    const std::string& message = parsed.error().message;
    set_condition(conditions, {"Ready", "False", "InvalidSpec", message}, generation, now);
    set_condition(conditions,
                  {"ScalingActive", "False", "InvalidSpec", "not scaling: the spec is invalid"},
                  generation, now);
    status["conditions"] = conditions;
    status["health"] = "Unknown";
    status["healthReasons"] = Json::array({"invalid spec: " + message});
    runtime->source.reset();
    runtime->source_fingerprint.clear();
    if (status != old_status) {
      (void)events_.record(object, kube::EventType::kWarning, "InvalidSpec", message);
      write_status(object, old_status, status, *runtime, false);
    }
    spdlog::warn("monitor={} reconcile={} invalid spec: {}", key, reconcile_id, message);
    return {};  // not retried: a spec change (new generation) enqueues it again
  }
  const QueueMonitorSpec& spec = *parsed;
  const Duration poll_interval = std::chrono::seconds(spec.poll_interval_seconds);
  const bool paused = is_paused(object);
  MonitorReport report;
  report.ns = ns;
  report.name = name;
  report.source_kind = spec.source_kind;

  // 1. The queue.
  auto source_ready = ensure_source(*runtime, ns, spec);
  Result<QueueSnapshot> polled = source_ready.ok() ? Result<QueueSnapshot>(Error{})
                                                   : Result<QueueSnapshot>(source_ready.error());
  if (source_ready) {
    auto started = std::chrono::steady_clock::now();
    polled = runtime->source->poll(now);
    if (observer_) {
      observer_->on_source_poll(
          spec.source_kind, polled.ok(), polled.ok() ? "" : polled.error().code,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }
  report.source_ok = polled.ok();
  if (polled) {
    report.snapshot = *polled;
    status["metrics"] = snapshot_metrics(*polled, now);
    set_condition(conditions, {"SourceReachable", "True", "Polled", runtime->source->describe()},
                  generation, now);
  } else {
    // Keep the last good metrics (their lastPollTime says how old they are); never invent zeros.
    std::string reason = polled.error().code.empty() ? "SourceError" : polled.error().code;
    // One Event when the source becomes unreachable (or the reason changes), not one per poll:
    // a persistent failure is no news and must not write every poll.
    const Json* before = find_condition(conditions, "SourceReachable");
    bool news =
        !before || before->value("status", "") != "False" || before->value("reason", "") != reason;
    set_condition(conditions, {"SourceReachable", "False", reason, polled.error().message},
                  generation, now);
    if (news)
      (void)events_.record(object, kube::EventType::kWarning, reason, polled.error().message);
    spdlog::warn("monitor={} reconcile={} source poll failed: {}", key, reconcile_id,
                 polled.error().message);
  }

  // 1b. Processing latency (spec.latency): a value, or a condition and no value.
  std::optional<std::pair<std::string, double>> latency;
  std::optional<std::string> latency_metric;
  std::string invalid_spec_message;  // bad parts of the spec that leave the rest working
  if (!spec.latency.is_null()) {
    auto latency_spec = parse_prometheus_latency_spec(spec.latency);
    if (latency_spec) {
      latency_metric = latency_spec->name;
    } else {
      invalid_spec_message = latency_spec.error().message;
    }
    auto queried = poll_latency(*runtime, ns, spec, now);
    Json& metrics = status["metrics"];
    if (!metrics.is_object()) metrics = Json::object();
    if (queried) {
      latency = *queried;
      double rounded = std::round(queried->second * 1e6) / 1e6;
      metrics["latency"] = {{queried->first, rounded}};
      if (queried->first == "latencyP95Seconds") {
        metrics["latencyP95Seconds"] = rounded;
      } else {
        metrics.erase("latencyP95Seconds");
      }
      report.latency_seconds = queried->second;
      set_condition(conditions,
                    {"LatencyAvailable", "True", "Queried", runtime->latency->describe()},
                    generation, now);
    } else {
      metrics.erase("latency");
      metrics.erase("latencyP95Seconds");
      std::string reason =
          queried.error().code.empty() ? "LatencyQueryFailed" : queried.error().code;
      const Json* before = find_condition(conditions, "LatencyAvailable");
      bool news = !before || before->value("status", "") != "False" ||
                  before->value("reason", "") != reason;
      set_condition(conditions, {"LatencyAvailable", "False", reason, queried.error().message},
                    generation, now);
      if (news)
        (void)events_.record(object, kube::EventType::kWarning, reason, queried.error().message);
      spdlog::warn("monitor={} reconcile={} latency unavailable: {}", key, reconcile_id,
                   queried.error().message);
    }
  } else {
    runtime->latency.reset();
    remove_condition(conditions, "LatencyAvailable");
    if (status.contains("metrics") && status["metrics"].is_object()) {
      status["metrics"].erase("latency");
      status["metrics"].erase("latencyP95Seconds");
    }
  }

  // 1c. Alert rules and SLOs follow the spec's generation; after a restart they continue from
  // what the last status recorded.
  const std::string source_identity = spec.source_kind + "|" + spec.source.dump();
  if (runtime->alerting_generation && runtime->alerting_source != source_identity) {
    // Another queue: its alerts and SLO budgets start afresh (the old status is not restored).
    runtime->alerting = alerts::MonitorAlerting();
    runtime->alerting_generation.reset();
    runtime->alerting_restored = true;
  }
  runtime->alerting_source = source_identity;
  if (runtime->alerting_generation != generation) {
    auto configured = runtime->alerting.configure(object.value("spec", Json::object()),
                                                  monitor_context(ns, name, spec, latency_metric));
    std::string message = configured.ok() ? "" : configured.message();
    if (!message.empty() && message != runtime->alerting_config_error) {
      (void)events_.record(object, kube::EventType::kWarning, "InvalidSpec", message);
      spdlog::warn("monitor={} reconcile={} alerting: {}", key, reconcile_id, message);
    }
    runtime->alerting_config_error = message;
    runtime->alerting_generation = generation;
    if (!runtime->alerting_restored) {
      auto restored = runtime->alerting.restore(old_status);
      runtime->alerting_restored = true;
      if (restored.alerts + restored.slos + restored.history > 0) {
        spdlog::info(
            "monitor={} reconcile={} continued {} alerts, {} SLOs, {} history entries "
            "from status",
            key, reconcile_id, restored.alerts, restored.slos, restored.history);
      }
      for (const auto& skipped : restored.skipped) {
        spdlog::info("monitor={} reconcile={} not restored: {}", key, reconcile_id, skipped);
      }
    }
  }
  if (!spec.notifications.is_null()) refresh_receivers(*runtime, object, spec, now);

  // 2. The target.
  auto current = read_current_replicas(*runtime, ns, spec.target);
  if (!current) {
    set_condition(conditions,
                  {"ScalingActive", "False", current.error().code, current.error().message},
                  generation, now);
    set_condition(conditions, {"Ready", "False", current.error().code, current.error().message},
                  generation, now);
    status["conditions"] = conditions;
    status["health"] = "Unknown";
    status["healthReasons"] = Json::array({current.error().message});
    if (status != old_status) {
      (void)events_.record(object, kube::EventType::kWarning, current.error().code,
                           current.error().message);
    }
    write_status(object, old_status, status, *runtime, false);
    if (observer_) observer_->on_report(report);
    ReconcileResult retry;
    retry.retry_with_backoff = true;
    return retry;
  }
  // 3. Alerts, SLOs, group progress and health for this poll.
  const alerts::Evaluation& evaluation =
      runtime->alerting.evaluate(metric_sample(polled, latency, *current, spec), now);
  const Json alerting_status = runtime->alerting.status_json();
  for (const auto& [field, value] : alerting_status.items()) status[field] = value;
  for (const auto& transition : evaluation.transitions) {
    bool fired = transition.kind == alerts::AlertTransition::Kind::kFired;
    std::string message = std::string(fired ? "firing" : "resolved") + " (" +
                          std::string(alerts::to_string(transition.severity)) +
                          "): " + transition.summary;
    (void)events_.record(object, fired ? kube::EventType::kWarning : kube::EventType::kNormal,
                         fired ? "AlertFiring" : "AlertResolved",
                         "alert " + transition.name + " " + message);
    spdlog::info("monitor={} reconcile={} alert {} {}", key, reconcile_id, transition.name,
                 message);
  }
  const std::string topic = spec.source.is_object() ? spec.source.value("topic", "") : "";
  if (options_.notifier && (!spec.notifications.is_null() || !runtime->receivers.empty())) {
    if (spec.notifications.is_null()) {  // removed from the spec: forget the receivers
      runtime->receivers.clear();
      runtime->receivers_error.clear();
    }
    // Only queues what has to be sent; never waits on a receiver.
    options_.notifier->notify(firing_alerts(ns, name, topic, evaluation, runtime->alerting.rules()),
                              runtime->receivers);
  }
  for (const char* severity : {"critical", "high", "medium", "low", "info"})
    report.alerts_firing[severity] = 0;
  for (const auto& active : evaluation.active) {
    if (active.state == alerts::AlertState::kFiring)
      ++report.alerts_firing[std::string(alerts::to_string(active.severity))];
  }
  report.slos = evaluation.slos;

  // 4. The decision.
  scaler::Observation observation = observation_from(polled, now);
  if (latency) observation.latency_seconds = latency->second;
  scaler::Decision decision =
      scaler::decide(spec.scaling, observation, *current, runtime->scaler, paused);
  if (evaluation.hold_scale_up) scaler::hold_scale_up(decision, evaluation.hold_scale_up_reason);
  report.current_replicas = *current;
  report.desired_replicas = decision.replicas_if_unpaused;

  Json history = status.value("scalingHistory", Json::array());
  auto add_history = [&](bool dry_run) {
    Json entry = {{"time", format_rfc3339(now)},
                  {"from", decision.current_replicas},
                  {"to", dry_run ? decision.replicas_if_unpaused : decision.desired_replicas},
                  {"policy", decision.decided_by},
                  {"reason", decision.reason.substr(0, 1000)}};
    if (dry_run) entry["dryRun"] = true;
    history.insert(history.begin(), entry);
    while (static_cast<int>(history.size()) > spec.scaling.history_limit)
      history.erase(history.end() - 1);
  };

  bool scaling_failed = false;
  if (decision.is_change() && spec.scaling.mode == scaler::Mode::kActive) {
    if (options_.may_write && !options_.may_write()) {
      spdlog::warn("monitor={} reconcile={} not leading: scale {} -> {} not applied", key,
                   reconcile_id, decision.current_replicas, decision.desired_replicas);
      return {};
    }
    auto gvr = client_.resolve_kind(spec.target.api_version, spec.target.kind);
    auto patched = gvr ? client_.patch_scale(*gvr, ns, spec.target.name, decision.desired_replicas)
                       : kube::ApiResult<Json>(gvr.error());
    if (patched) {
      ++scale_patches_;
      runtime->scaler.record_scale(now, decision.current_replicas, decision.desired_replicas);
      runtime->pending_replicas = decision.desired_replicas;
      runtime->pending_since = now;
      add_history(false);
      status["lastScaleTime"] = format_rfc3339(now);
      bool up = decision.desired_replicas > decision.current_replicas;
      (void)events_.record(object, kube::EventType::kNormal, up ? "ScaledUp" : "ScaledDown",
                           decision.reason);
      spdlog::info("monitor={} reconcile={} scaled {} -> {}: {}", key, reconcile_id,
                   decision.current_replicas, decision.desired_replicas, decision.reason);
      report.scaled = true;
      report.scaled_from = decision.current_replicas;
      report.scaled_to = decision.desired_replicas;
      *current = decision.desired_replicas;
    } else {
      scaling_failed = true;
      std::string message = "scaling " + spec.target.kind + " " + spec.target.name + " to " +
                            std::to_string(decision.desired_replicas) +
                            " failed: " + patched.error().message;
      set_condition(conditions, {"ScalingActive", "False", "ScaleFailed", message}, generation,
                    now);
      (void)events_.record(object, kube::EventType::kWarning, "ScaleFailed", message);
      spdlog::error("monitor={} reconcile={} {}", key, reconcile_id, message);
    }
  } else if (spec.scaling.mode == scaler::Mode::kDryRun && !paused) {
    if (decision.replicas_if_unpaused != *current &&
        runtime->last_dry_run_desired != decision.replicas_if_unpaused) {
      add_history(true);
      (void)events_.record(object, kube::EventType::kNormal, "DryRunDecision",
                           "would scale: " + decision.reason);
      report.scaled = true;
      report.scaled_from = *current;
      report.scaled_to = decision.replicas_if_unpaused;
    }
    runtime->last_dry_run_desired = decision.replicas_if_unpaused;
  }
  if (!history.empty()) status["scalingHistory"] = history;
  status["replicas"] = {{"current", *current}, {"desired", decision.replicas_if_unpaused}};

  // 5. Conditions and health.
  if (!scaling_failed) {
    if (paused) {
      set_condition(
          conditions,
          {"ScalingActive", "False", "Paused",
           std::string("annotation ") + kPausedAnnotation + " is \"true\": observing only"},
          generation, now);
    } else if (spec.scaling.mode == scaler::Mode::kDryRun) {
      set_condition(
          conditions,
          {"ScalingActive", "False", "DryRun", "mode DryRun: decisions are recorded, not applied"},
          generation, now);
    } else if (!polled) {
      set_condition(conditions,
                    {"ScalingActive", "False", scaler::to_string(decision.guard_rail),
                     "holding replicas: " + decision.reason},
                    generation, now);
    } else {
      set_condition(
          conditions,
          {"ScalingActive", "True", "Scaling", "policy " + scaler::to_string(spec.scaling.policy)},
          generation, now);
    }
  }
  if (!runtime->alerting_config_error.empty()) {
    invalid_spec_message +=
        (invalid_spec_message.empty() ? "" : "; ") + runtime->alerting_config_error;
  }
  if (invalid_spec_message.empty()) {
    set_condition(conditions, {"Ready", "True", "Reconciled", ""}, generation, now);
  } else {
    // The valid rules, SLOs and scaling keep working; the condition names the bad field.
    set_condition(conditions, {"Ready", "False", "InvalidSpec", invalid_spec_message}, generation,
                  now);
  }
  const std::string health(alerts::to_string(evaluation.health.health));
  std::string health_message;
  for (const auto& reason : evaluation.health.reasons)
    health_message += (health_message.empty() ? "" : "; ") + reason;
  set_condition(
      conditions,
      {"Healthy", health == "Healthy" ? "True" : "False", health, health_message.substr(0, 1000)},
      generation, now);
  if (!runtime->receivers_error.empty()) {
    set_condition(conditions,
                  {"NotificationsReady", "False", "InvalidNotifications", runtime->receivers_error},
                  generation, now);
  } else if (!spec.notifications.is_null()) {
    set_condition(conditions,
                  {"NotificationsReady", "True", "Configured",
                   std::to_string(runtime->receivers.size()) + " webhook receiver(s)"},
                  generation, now);
  } else {
    remove_condition(conditions, "NotificationsReady");
  }
  status["conditions"] = conditions;
  report.health = health;

  // What changes with every poll alone (metric values, SLO figures, alert values) is throttled;
  // anything else is written now.
  bool metrics_only = without_running_figures(old_status) == without_running_figures(status);
  write_status(object, old_status, status, *runtime, metrics_only);
  if (observer_) observer_->on_report(report);

  if (scaling_failed) {
    ReconcileResult retry;
    retry.retry_with_backoff = true;
    return retry;
  }
  ReconcileResult result;
  result.requeue_after = next_poll_delay(key, poll_interval, clock_.now());
  return result;
}

}  // namespace lagpilot::controllers
