#include "controllers/queuemonitor_controller.h"

#include <spdlog/spdlog.h>

#include "controllers/conditions.h"
#include "kube/config.h"
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
  bool scaler_seeded = false;
  std::optional<WallTime> last_status_write;
  std::optional<int> last_dry_run_desired;
  std::optional<int> pending_replicas;  // patched, not yet visible in the cache
  std::optional<WallTime> pending_since;
  Json last_good_metrics;
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
    auto monitors =
        std::make_unique<kube::Informer>(client_, kube::resources::kQueueMonitors, ns, clock_);
    monitors->add_handlers(
        {[this](const Json& o) { on_monitor_event(nullptr, o); },
         [this](const Json& old_object, const Json& o) { on_monitor_event(&old_object, o); },
         [this](const Json& o) { on_monitor_deleted(o); }});
    monitor_informers_.push_back(std::move(monitors));
    auto deployments =
        std::make_unique<kube::Informer>(client_, kube::resources::kDeployments, ns, clock_);
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
  kube::Informer* informer = monitor_informer_for(ns);
  auto cached = informer ? informer->get(key) : nullptr;
  if (!cached) {
    drop_runtime(key);
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
    set_condition(conditions, {"SourceReachable", "False", reason, polled.error().message},
                  generation, now);
    (void)events_.record(object, kube::EventType::kWarning, reason, polled.error().message);
    spdlog::warn("monitor={} reconcile={} source poll failed: {}", key, reconcile_id,
                 polled.error().message);
  }

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
  if (!runtime->scaler_seeded) {
    // After a restart, behave as if the current count was just recommended: no scale-down until
    // the stabilization window has seen the backlog.
    runtime->scaler.record_recommendation(now, *current);
    runtime->scaler_seeded = true;
  }

  // 3. The decision.
  scaler::Observation observation = observation_from(polled, now);
  scaler::Decision decision =
      scaler::decide(spec.scaling, observation, *current, runtime->scaler, paused);
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

  // 4. Conditions and health.
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
  set_condition(conditions, {"Ready", "True", "Reconciled", ""}, generation, now);
  status["conditions"] = conditions;

  Json reasons = Json::array();
  std::string health = "Healthy";
  if (!polled) {
    health = "Unhealthy";
    reasons.push_back("source unreachable: " + polled.error().message);
  } else if (decision.replicas_if_unpaused >= spec.scaling.max_replicas && polled->ingress_rate &&
             polled->egress_rate && *polled->ingress_rate > *polled->egress_rate &&
             polled->consumer_lag > 0) {
    health = "Degraded";
    reasons.push_back("replicas at maximum while lag grows");
  }
  status["health"] = health;
  status["healthReasons"] = reasons;
  report.health = health;

  // Metric values alone are throttled; anything else is written now.
  Json old_without_metrics = old_status, new_without_metrics = status;
  old_without_metrics.erase("metrics");
  new_without_metrics.erase("metrics");
  bool metrics_only = old_without_metrics == new_without_metrics;
  write_status(object, old_status, status, *runtime, metrics_only);
  if (observer_) observer_->on_report(report);

  if (scaling_failed) {
    ReconcileResult retry;
    retry.retry_with_backoff = true;
    return retry;
  }
  ReconcileResult result;
  result.requeue_after = poll_interval;
  return result;
}

}  // namespace lagpilot::controllers
