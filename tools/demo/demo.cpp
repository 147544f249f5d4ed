#include "tools/demo/demo.h"

#include <signal.h>
#include <stdlib.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "controllers/queuemonitor_controller.h"
#include "controlplane/crds.h"
#include "controlplane/local_control_plane.h"
#include "controlplane/pod_readiness.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "kube/yaml.h"
#include "sources/builtin_sources.h"
#include "tools/demo/demo_backend.h"
#include "tools/demo/demo_plot.h"
#include "tools/demo/live_view.h"
#include "tools/demo/load_pattern.h"
#include "tools/demo/recording.h"
#include "util/clock.h"
#include "util/duration.h"

namespace lagpilot::demo {
namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kNamespace = "demo";
constexpr const char* kDeployment = "order-consumer";
constexpr const char* kMonitor = "orders";
constexpr double kPerReplicaRate = 150;  // msg/s one ready replica processes
constexpr auto kPodStartup = std::chrono::seconds(3);
constexpr int kPollIntervalSeconds = 1;  // spec.pollIntervalSeconds below
constexpr int kMaxReplicas = 10;         // spec.scaling.maxReplicas below

// The consumer Deployment and the QueueMonitor; @SOURCE@ is the backend's spec.source member,
// @CONSUMERS@ says what its consumers do and @OBJECTIVE@ is --objective-seconds (the freshness
// SLO's lagSeconds bound, which the default policy plans for, targetDrainSeconds and the
// BehindObjective alert's threshold).
// The spec is tuned so that even 20 s show a scale-up and a scale-down: poll every second,
// scale-down stabilization and cooldown 5 s. Alerts and the SLO are evaluated by operators that
// support them; the CRD accepts them either way.
constexpr const char* kManifests = R"yaml(apiVersion: apps/v1
kind: Deployment
metadata:
  name: order-consumer
  namespace: demo
  labels:
    app.kubernetes.io/name: order-consumer
    app.kubernetes.io/part-of: lagpilot-demo
  annotations:
    lagpilot.io/demo: "consumers run in the lagpilot demo process: @CONSUMERS@, 150 msg/s each"
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: order-consumer
  template:
    metadata:
      labels:
        app.kubernetes.io/name: order-consumer
        app.kubernetes.io/part-of: lagpilot-demo
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: consumer
        image: registry.k8s.io/pause:3.9
        resources:
          requests: {cpu: 10m, memory: 16Mi}
---
apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: orders
  namespace: demo
spec:
  source:
@SOURCE@
  pollIntervalSeconds: 1
  target:
    apiVersion: apps/v1
    kind: Deployment
    name: order-consumer
  scaling:
    mode: Active
    policy: drainTime
    minReplicas: 1
    maxReplicas: 10
    targetDrainSeconds: @OBJECTIVE@
    targetLagPerReplica: 2000
    tolerance: 0.1
    scaleUp:   {stabilizationSeconds: 0, maxPodsPerPeriod: 4, maxPercentPerPeriod: 200, periodSeconds: 5}
    scaleDown: {stabilizationSeconds: 5, maxPodsPerPeriod: 4, maxPercentPerPeriod: 50, periodSeconds: 5}
    cooldownSeconds: 5
    historyLimit: 100
  alertsPreset: default
  alerts:
  - name: HighConsumerLag
    metric: consumerLag
    op: ">"
    threshold: 2000
    forSeconds: 3
    keepFiringForSeconds: 3
    severity: high
    summary: "lag is {{ .value }} messages on {{ .topic }} ({{ .namespace }}/{{ .name }})"
  - name: BehindObjective
    metric: lagSeconds
    op: ">"
    threshold: @OBJECTIVE@
    forSeconds: 2
    severity: medium
    summary: "{{ .value }} s behind, objective {{ .threshold }} s"
  slos:
  - name: freshness
    metric: lagSeconds
    goodWhen: {op: "<=", threshold: @OBJECTIVE@}
    objectivePercent: 99
    windowDays: 1
)yaml";

std::string usage_text() {
  return R"(Usage: lagpilot-demo [flags]   (scripts/demo builds and runs it)

lagpilot end to end on this machine, no cluster needed. Starts a local Kubernetes control plane
(controlplane/start: Kubernetes 1.37.2, or 1.20.2 with LAGPILOT_KUBE_VERSION=1.20; the first run
builds it, about 12 or 5 minutes), the queue (--source: librdkafka's mock Kafka cluster in this
process by default, or Debian's rabbitmq-server, redis-server or nats-server on loopback), a
consumer Deployment and a QueueMonitor in namespace "demo", a bursty producer (seeded), real
consumers in this process (one per ready replica, 150 msg/s each, consuming and acknowledging;
pods are marked ready 3 s after they appear) and the operator. Shows lag and replicas live, then the scaling
history, seconds behind the objective, replica-seconds and max lag, writes an SVG plot, and stops
everything it started. Ctrl-C ends early; the summary and clean-up still run.

Flags:
  --source S         the queue: kafka (librdkafka's mock cluster, the default), rabbitmq
                     (rabbitmq-server, queue orders), redis (redis-server, stream orders, group
                     order-processor) or nats (nats-server -js, stream ORDERS, pull consumer
                     order-processor); servers run on free 127.0.0.1 ports and stop at the end
  --duration D       how long the load runs: 20s, 2m, 1m30s (default 2m)
  --seed N           seed of the arrival pattern; the same seed gives the same pattern (default 1)
  --plot PATH        where to write the SVG plot (default ./lagpilot-demo.svg)
  --record PATH      where to write what the run observed, one CSV row per second, for
                     `lagpilot simulate --replay PATH`; the QueueMonitor goes beside it as
                     PATH without .csv + -queuemonitor.yaml (default: the plot's path with
                     -run.csv instead of .svg, e.g. ./lagpilot-demo-run.csv)
  --objective-seconds N
                     the freshness objective, lagSeconds <= N (whole seconds, 1 to 3600;
                     default 10): the QueueMonitor's SLO threshold, which the default policy
                     plans for, its targetDrainSeconds and the BehindObjective alert's
                     threshold; the summary counts seconds above it. A tight one (e.g. 3, about
                     the pods' start-up) makes a run with violation-seconds to replay
  --use-kubeconfig   use the cluster in $KUBECONFIG (or ~/.kube/config) instead of starting one;
                     applies the CRD and the demo's objects there and deletes the objects after
  --keep             leave the control plane (or the demo objects) running and print how to stop it
  -h, --help         show this help
)";
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

std::string object_name(const Json& object) {
  return object.value("/metadata/name"_json_pointer, "");
}

// ---------------------------------------------------------------------------------------------
// Signals. SIGINT/SIGTERM end the demo early. While the control plane is built and started they
// stay unblocked: a blocked mask is inherited by the processes the scripts start, and etcd and
// kube-apiserver must get controlplane/stop's TERM. An arrival then is kept pending by this
// handler (it blocks the signal in the mask the interrupted thread returns to and raises it
// again), and the demo notices it once the script returns. Afterwards both are blocked in every
// thread and the main loop takes them with sigtimedwait.

void keep_signal_pending(int signal, siginfo_t*, void* context) {
  sigaddset(&static_cast<ucontext_t*>(context)->uc_sigmask, signal);
  ::kill(::getpid(), signal);
}

sigset_t termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

void keep_termination_signals_pending() {
  struct sigaction action {};
  action.sa_sigaction = &keep_signal_pending;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void block_termination_signals() {
  const sigset_t signals = termination_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

bool termination_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  sigpending(&pending);
  return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
}

// Waits until `deadline`; true when SIGINT/SIGTERM arrived (they must be blocked).
bool wait_for_signal_until(SteadyClock::time_point deadline) {
  const sigset_t signals = termination_signals();
  while (true) {
    const auto left = deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) return false;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                     static_cast<long>(ns % 1'000'000'000)};
    if (sigtimedwait(&signals, nullptr, &timeout) > 0) return true;
  }
}

// ---------------------------------------------------------------------------------------------

// Keeps the operator's latest report on the demo's monitor, and when each scale happened (to the
// millisecond; status.scalingHistory has whole seconds).
class DemoObserver final : public controllers::ReconcileObserver {
 public:
  void on_reconcile(const std::string&, double, const std::string&) override {}
  void on_report(const controllers::MonitorReport& report) override {
    if (report.ns != kNamespace || report.name != kMonitor) return;
    std::lock_guard lock(mutex_);
    latest_ = report;
    if (report.scaled) {
      ScalingEvent event;
      event.t = std::chrono::duration<double>(SteadyClock::now() - start_).count();
      event.from = report.scaled_from;
      event.to = report.scaled_to;
      scales_.push_back(event);
    }
  }
  void on_removed(const std::string&, const std::string&) override {}
  void on_source_poll(const std::string&, bool, const std::string&, double) override {}

  // Scale times are measured from here on (the load's start).
  void set_start(SteadyClock::time_point start) {
    std::lock_guard lock(mutex_);
    start_ = start;
    scales_.clear();
  }
  std::optional<controllers::MonitorReport> latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
  }
  std::vector<ScalingEvent> scales() const {
    std::lock_guard lock(mutex_);
    return scales_;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<controllers::MonitorReport> latest_;
  SteadyClock::time_point start_ = SteadyClock::now();
  std::vector<ScalingEvent> scales_;
};

class DemoRun {
 public:
  explicit DemoRun(DemoOptions options)
      : options_(std::move(options)),
        scripts_dir_(std::string(LAGPILOT_SOURCE_DIR) + "/controlplane"),
        crd_dir_(std::string(LAGPILOT_SOURCE_DIR) + "/crds"),
        ansi_(::isatty(STDOUT_FILENO) == 1 && std::getenv("TERM") != nullptr &&
              std::string(std::getenv("TERM")) != "dumb"),
        t0_(SteadyClock::now()) {}

  ~DemoRun() { shut_down(); }
  DemoRun(const DemoRun&) = delete;
  DemoRun& operator=(const DemoRun&) = delete;

  int run();

 private:
  void say(const std::string& text) {
    std::printf("[%5.1fs] %s\n", seconds_since(t0_), text.c_str());
    std::fflush(stdout);
  }
  int interrupted_while_setting_up() {
    std::fprintf(stderr, "lagpilot demo: interrupted while setting up\n");
    return 130;
  }
  int fail(const std::string& text) {
    std::fprintf(stderr, "lagpilot demo: %s\n", text.c_str());
    failed_ = true;
    return 1;
  }

  Status make_run_dir();
  // 0 ok, else the exit code.
  int start_local_control_plane();
  Status connect_to_kubeconfig_cluster();
  Status apply_demo_objects();
  Status start_watching_deployment();
  Status start_watching_monitor();
  Status start_operator();
  Sample take_sample(double t, double dt, std::int64_t produced, std::int64_t processed,
                     std::optional<ScalingEvent>& last_event);
  std::vector<ScalingEvent> final_scaling_events();
  void delete_demo_objects();
  void shut_down();

  DemoOptions options_;
  std::string scripts_dir_;
  std::string crd_dir_;
  bool ansi_;
  SteadyClock::time_point t0_;
  std::string run_dir_;
  std::string monitor_yaml_;  // the QueueMonitor as applied, for the recording
  bool failed_ = false;
  bool created_namespace_ = false;
  bool shut_down_ = false;
  std::string kept_message_;  // --keep: how to reach and stop the cluster left running
  double start_unix_ = 0;

  SystemClock clock_;
  std::unique_ptr<controlplane::LocalControlPlane> plane_;
  kube::KubeConfig config_;
  std::unique_ptr<kube::RestKubeClient> client_;  // the demo's own: apply, watch, pod readiness
  // The queue, its producer and consumers (--source); its server, if any, stops when it goes.
  std::unique_ptr<DemoBackend> backend_;
  std::unique_ptr<controlplane::PodReadinessSimulator> readiness_;
  std::unique_ptr<kube::Informer> deployments_;
  std::unique_ptr<kube::Informer> monitors_;
  // The operator, wired as `lagpilot run` wires it, with its own client.
  std::unique_ptr<kube::RestKubeClient> operator_client_;
  std::unique_ptr<SourceRegistry> sources_;
  std::unique_ptr<kube::EventRecorder> events_;
  DemoObserver observer_;
  std::unique_ptr<controllers::QueueMonitorController> controller_;
};

Status DemoRun::make_run_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lagpilot-demo-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    return Error{"RunDir", pattern + ": " + std::strerror(errno)};
  run_dir_ = pattern;
  // Logs (the operator's, the Kafka clients') go to a file: the terminal belongs to the view.
  try {
    auto logger = spdlog::basic_logger_mt("lagpilot-demo", run_dir_ + "/lagpilot-demo.log");
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    return Error{"RunDir", e.what()};
  }
  return Ok{};
}

int DemoRun::start_local_control_plane() {
  keep_termination_signals_pending();
  say("control plane: controlplane/kube-bin (only the first run builds Kubernetes, about 5 "
      "minutes, progress below)");
  const auto build_started = SteadyClock::now();
  FILE* build = ::popen(shell_quote(scripts_dir_ + "/kube-bin").c_str(), "r");
  if (build == nullptr) return fail(std::string("controlplane/kube-bin: ") + std::strerror(errno));
  std::string bin_dir;
  char line[4096];
  while (std::fgets(line, sizeof line, build) != nullptr) {
    std::string text = line;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty()) bin_dir = text;
  }
  const int built = ::pclose(build);
  if (termination_pending()) return 130;
  if (built != 0 || bin_dir.empty())
    return fail("controlplane/kube-bin failed (see its output above)");
  if (seconds_since(build_started) > 5) {
    say("control plane: built in " + format_duration(seconds_since(build_started)));
  }
  ::setenv("LAGPILOT_KUBE_BIN", bin_dir.c_str(), 1);  // controlplane/start need not check again

  say("control plane: starting etcd, kube-apiserver, kube-controller-manager in " + run_dir_);
  auto plane = controlplane::LocalControlPlane::start(scripts_dir_, run_dir_);
  if (!plane) {
    // Whatever a failed or interrupted start left running (stop is a no-op when nothing is).
    (void)controlplane::run_command(shell_quote(scripts_dir_ + "/stop") + " " +
                                    shell_quote(run_dir_));
    if (termination_pending()) return 130;
    return fail(plane.error().message);
  }
  if (termination_pending()) return 130;  // `plane` stops the cluster as it goes
  plane_ = std::move(*plane);
  block_termination_signals();
  config_ = plane_->admin_config();
  client_ = kube::RestKubeClient::from_config(config_, clock_);
  say("control plane: up at " + plane_->server());
  return 0;
}

Status DemoRun::connect_to_kubeconfig_cluster() {
  auto config = kube::load_default_config(kube::process_environment(), "");
  if (!config) return config.error();
  config_ = *config;
  client_ = kube::RestKubeClient::from_config(config_, clock_);
  auto version = client_->get_path("/version");
  if (!version) {
    return Error{"Unreachable", "cannot reach the Kubernetes API server " + config_.server + " (" +
                                    config_.origin + "): " + version.error().message};
  }
  say("cluster: " + config_.server + " (" + config_.origin + "), Kubernetes " +
      version->value("gitVersion", "unknown"));
  return Ok{};
}

Status DemoRun::apply_demo_objects() {
  std::string text = kManifests;
  for (const auto& [placeholder, value] :
       {std::pair<std::string, std::string>{"@SOURCE@\n", backend_->source_yaml()},
        {"@CONSUMERS@", backend_->consumer_description()}}) {
    text.replace(text.find(placeholder), placeholder.size(), value);
  }
  const std::string objective = std::to_string(options_.objective_seconds);
  for (auto at = text.find("@OBJECTIVE@"); at != std::string::npos;
       at = text.find("@OBJECTIVE@", at + objective.size())) {
    text.replace(at, std::string("@OBJECTIVE@").size(), objective);
  }
  auto documents = kube::parse_yaml_documents(text, "demo manifests");
  if (!documents) return documents.error();
  std::ofstream(run_dir_ + "/demo-manifests.yaml") << text;
  monitor_yaml_ = text.substr(text.find("\n---\n") + 5);
  const Json& deployment = (*documents)[0];
  const Json& monitor = (*documents)[1];

  // The namespace and the Deployment first: its first pod starts while the CRD installs.
  Json ns = {
      {"apiVersion", "v1"},
      {"kind", "Namespace"},
      {"metadata",
       {{"name", kNamespace}, {"labels", {{"app.kubernetes.io/part-of", "lagpilot-demo"}}}}}};
  // A namespace left terminating by an earlier run refuses new objects: wait until it is gone.
  const auto ns_deadline = SteadyClock::now() + std::chrono::seconds(90);
  for (auto existing = client_->get(kube::resources::kNamespaces, "", kNamespace);
       existing && existing->contains("metadata") &&
       (*existing)["metadata"].contains("deletionTimestamp");
       existing = client_->get(kube::resources::kNamespaces, "", kNamespace)) {
    if (SteadyClock::now() > ns_deadline) {
      return Error{"Apply", "namespace demo is still terminating after 90 s"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  auto created_ns = client_->create(kube::resources::kNamespaces, "", ns);
  if (created_ns) {
    created_namespace_ = true;
  } else if (created_ns.error().reason != kube::ApiReason::kAlreadyExists) {
    return Error{"Apply", "namespace demo: " + created_ns.error().message};
  }
  auto created = client_->create(kube::resources::kDeployments, kNamespace, deployment);
  if (!created && created.error().reason == kube::ApiReason::kAlreadyExists) {
    auto current = client_->get(kube::resources::kDeployments, kNamespace, kDeployment);
    if (!current)
      return Error{"Apply", "Deployment demo/order-consumer: " + current.error().message};
    Json replacement = deployment;
    replacement["metadata"]["resourceVersion"] = (*current)["metadata"]["resourceVersion"];
    created = client_->update(kube::resources::kDeployments, kNamespace, replacement);
  }
  if (!created) return Error{"Apply", "Deployment demo/order-consumer: " + created.error().message};

  // Pods: the local control plane has no kubelet, so a stand-in marks them Ready after a start-up
  // delay. A cluster with nodes runs them for real (the image is the pause container).
  bool has_nodes = false;
  if (options_.use_kubeconfig) {
    kube::ListOptions one;
    one.limit = 1;
    auto nodes = client_->list(kube::Gvr{"", "v1", "nodes", false}, "", one);
    has_nodes = !nodes || !(*nodes)["items"].empty();
  }
  if (!has_nodes) {
    readiness_ = std::make_unique<controlplane::PodReadinessSimulator>(
        *client_, clock_, kNamespace, kPodStartup, "app.kubernetes.io/name=order-consumer");
    readiness_->start();
  }

  if (auto installed = controlplane::install_crds(*client_, crd_dir_); !installed) {
    return Error{"Apply", "CRDs from " + crd_dir_ + ": " + installed.error().message};
  }
  // A fresh QueueMonitor, so status and history are this run's.
  if (client_->get(kube::resources::kQueueMonitors, kNamespace, kMonitor)) {
    (void)client_->remove(kube::resources::kQueueMonitors, kNamespace, kMonitor);
    const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
    while (client_->get(kube::resources::kQueueMonitors, kNamespace, kMonitor) &&
           SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  auto created_monitor = client_->create(kube::resources::kQueueMonitors, kNamespace, monitor);
  if (!created_monitor) {
    return Error{"Apply", "QueueMonitor demo/orders: " + created_monitor.error().message};
  }
  say("applied: CRD queuemonitors.lagpilot.io, namespace demo, Deployment " +
      object_name(deployment) + ", QueueMonitor " + object_name(monitor) +
      " (manifests: " + run_dir_ + "/demo-manifests.yaml)");
  return Ok{};
}

Status DemoRun::start_watching_deployment() {
  deployments_ =
      std::make_unique<kube::Informer>(*client_, kube::resources::kDeployments, kNamespace, clock_);
  auto on_deployment = [this](const Json& object) {
    if (object_name(object) != kDeployment) return;
    backend_->set_replicas(object.value("/status/readyReplicas"_json_pointer, 0));
  };
  deployments_->add_handlers(
      {on_deployment, [on_deployment](const Json&, const Json& object) { on_deployment(object); },
       [this](const Json& object) {
         if (object_name(object) == kDeployment) backend_->set_replicas(0);
       }});
  deployments_->start();
  if (!deployments_->wait_for_sync(std::chrono::seconds(30))) {
    return Error{"Watch", "could not list Deployments in namespace demo"};
  }
  return Ok{};
}

Status DemoRun::start_watching_monitor() {
  // After install_crds: the resource does not exist before.
  monitors_ = std::make_unique<kube::Informer>(*client_, kube::resources::kQueueMonitors,
                                               kNamespace, clock_);
  monitors_->start();
  if (!monitors_->wait_for_sync(std::chrono::seconds(30))) {
    return Error{"Watch", "could not list QueueMonitors in namespace demo"};
  }
  return Ok{};
}

Status DemoRun::start_operator() {
  operator_client_ = kube::RestKubeClient::from_config(config_, clock_);
  KafkaOptions kafka_options;
  kafka_options.poll_timeout = std::chrono::seconds(2);
  BuiltinSourceOptions source_options;
  source_options.kafka = kafka_options;
  sources_ = std::make_unique<SourceRegistry>(builtin_sources(source_options));
  events_ = std::make_unique<kube::EventRecorder>(*operator_client_, clock_, "lagpilot");
  controllers::ControllerOptions controller_options;
  controller_options.namespaces = {kNamespace};
  controller_options.workers = 2;
  // Status carries the live lag every second, for `kubectl get qm -w`.
  controller_options.metrics_status_interval = std::chrono::seconds(1);
  controller_ = std::make_unique<controllers::QueueMonitorController>(
      *operator_client_, clock_, *sources_, *events_, controller_options, &observer_);
  if (!controller_->start()) return Error{"Operator", "the operator's caches did not sync"};
  return Ok{};
}

Sample DemoRun::take_sample(double t, double dt, std::int64_t produced, std::int64_t processed,
                            std::optional<ScalingEvent>& last_event) {
  Sample s;
  s.t = t;
  s.arrivals = dt > 0 ? static_cast<double>(produced) / dt : 0;
  s.processed = dt > 0 ? static_cast<double>(processed) / dt : 0;
  s.arrived_count = produced;
  s.processed_count = processed;
  if (auto report = observer_.latest()) {
    if (report->snapshot) {
      s.lag = report->snapshot->consumer_lag;
      s.lag_seconds = report->snapshot->lag_seconds;
    }
    s.desired = report->desired_replicas;
    s.health = report->health;
  }
  if (auto deployment = deployments_->get(std::string(kNamespace) + "/" + kDeployment)) {
    s.current = deployment->value("/spec/replicas"_json_pointer, 1);
    s.ready = deployment->value("/status/readyReplicas"_json_pointer, 0);
  }
  s.consumers = backend_->running();
  if (auto monitor = monitors_->get(std::string(kNamespace) + "/" + kMonitor)) {
    const Json status = monitor->value("status", Json::object());
    if (status.contains("health")) s.health = status.value("health", s.health);
    for (const auto& alert : status.value("alerts", Json::array())) {
      if (alert.value("state", "") == "firing") s.firing.push_back(alert.value("name", "?"));
    }
    auto events = scaling_events_from_status(status, start_unix_);
    if (!events.empty()) last_event = events.back();
  }
  return s;
}

std::vector<ScalingEvent> DemoRun::final_scaling_events() {
  auto monitor = client_->get(kube::resources::kQueueMonitors, kNamespace, kMonitor);
  if (monitor)
    return scaling_events_from_status(monitor->value("status", Json::object()), start_unix_);
  auto cached = monitors_ ? monitors_->get(std::string(kNamespace) + "/" + kMonitor) : nullptr;
  if (cached)
    return scaling_events_from_status(cached->value("status", Json::object()), start_unix_);
  return {};
}

void DemoRun::delete_demo_objects() {
  (void)client_->remove(kube::resources::kQueueMonitors, kNamespace, kMonitor);
  (void)client_->remove(kube::resources::kDeployments, kNamespace, kDeployment);
  if (created_namespace_) (void)client_->remove(kube::resources::kNamespaces, "", kNamespace);
}

void DemoRun::shut_down() {
  if (shut_down_) return;
  shut_down_ = true;
  // The clients first: the operator's natsJetStream kind tears libnats down when it goes, and the
  // demo's NATS connection must be closed by then.
  if (backend_) backend_->stop_clients();
  if (controller_) controller_->stop();
  controller_.reset();
  events_.reset();
  sources_.reset();
  operator_client_.reset();
  if (deployments_) deployments_->stop();
  if (monitors_) monitors_->stop();
  if (readiness_) readiness_->stop();
  if (client_ && options_.use_kubeconfig && !options_.keep) delete_demo_objects();
  deployments_.reset();
  monitors_.reset();
  readiness_.reset();
  backend_.reset();  // stops its server (by pid)
  client_.reset();
  if (plane_) {
    if (options_.keep && !failed_) {
      kept_message_ =
          "control plane left running (--keep):\n  export KUBECONFIG=" + plane_->kubeconfig_path() +
          "\n  kubectl get qm -n demo\n  stop it with: " + scripts_dir_ + "/stop " + run_dir_ +
          " --clean\n";
      // Not stopped: a LocalControlPlane stops its cluster when destroyed.
      (void)plane_.release();
      return;
    }
    if (auto stopped = plane_->stop(); !stopped) {
      std::fprintf(stderr, "lagpilot demo: %s\n", stopped.error().message.c_str());
      failed_ = true;
    }
    plane_.reset();
  }
  if (!run_dir_.empty() && !failed_ && !options_.keep) {
    spdlog::drop_all();
    std::error_code ignored;
    std::filesystem::remove_all(run_dir_, ignored);
  } else if (!run_dir_.empty()) {
    std::fprintf(stderr, "lagpilot demo: logs kept in %s\n", run_dir_.c_str());
  }
}

int DemoRun::run() {
  std::printf("lagpilot demo: source %s, seed %llu, duration %s, plot %s\n",
              source_name(options_.source).c_str(), static_cast<unsigned long long>(options_.seed),
              format_duration(static_cast<double>(options_.duration.count())).c_str(),
              options_.plot_path.c_str());
  if (auto made = make_run_dir(); !made) return fail(made.error().message);

  if (options_.use_kubeconfig) {
    block_termination_signals();
    if (auto connected = connect_to_kubeconfig_cluster(); !connected)
      return fail(connected.error().message);
  } else if (int code = start_local_control_plane(); code != 0) {
    if (code == 130) {
      std::fprintf(stderr, "lagpilot demo: interrupted while starting the control plane\n");
    }
    return code;
  }
  ::signal(SIGPIPE, SIG_IGN);

  if (options_.source != DemoSource::kKafka) {
    say("starting " + source_name(options_.source) + " on loopback (files in " + run_dir_ + "/" +
        source_name(options_.source) + ")");
  }
  BackendSettings settings;
  settings.work_dir = run_dir_ + "/" + source_name(options_.source);
  settings.per_replica_rate = kPerReplicaRate;
  settings.max_replicas = kMaxReplicas;
  auto backend = start_demo_backend(options_.source, settings);
  if (termination_pending()) return interrupted_while_setting_up();
  if (!backend) return fail(backend.error().message);
  backend_ = std::move(*backend);
  say(backend_->description());

  if (auto watching = start_watching_deployment(); !watching) return fail(watching.error().message);
  if (auto applied = apply_demo_objects(); !applied) return fail(applied.error().message);
  if (auto watching = start_watching_monitor(); !watching) return fail(watching.error().message);
  if (auto started = start_operator(); !started) return fail(started.error().message);
  say("operator: running in this process (QueueMonitorController, poll every 1 s)");

  // Start from a steady state: the first replica ready and consuming.
  const auto ready_deadline = SteadyClock::now() + std::chrono::seconds(60);
  while (backend_->running() < 1) {
    if (wait_for_signal_until(SteadyClock::now() + std::chrono::milliseconds(100))) {
      return interrupted_while_setting_up();
    }
    if (SteadyClock::now() > ready_deadline) {
      return fail("the consumer Deployment had no ready replica within 60 s");
    }
  }
  say("consumers: 1 ready replica consuming (" + std::to_string(static_cast<int>(kPerReplicaRate)) +
      " msg/s per ready replica)");

  const auto pattern =
      LoadPattern::generate(options_.seed, static_cast<double>(options_.duration.count()));
  std::printf("\n  Watch it from another terminal:\n");
  if (plane_) std::printf("    export KUBECONFIG=%s\n", plane_->kubeconfig_path().c_str());
  std::printf("    kubectl get qm -n demo -w\n    kubectl describe qm orders -n demo\n");
  std::printf("  Operator log: %s/lagpilot-demo.log\n", run_dir_.c_str());
  std::printf("  Load: %s\n\n", pattern.describe().c_str());
  std::fflush(stdout);

  if (auto started = backend_->start_producer(pattern, options_.seed); !started)
    return fail("producer: " + started.error().message);
  const auto start = SteadyClock::now();
  observer_.set_start(start);
  start_unix_ =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  int initial_replicas = 1;
  if (auto deployment = deployments_->get(std::string(kNamespace) + "/" + kDeployment)) {
    initial_replicas = deployment->value("/spec/replicas"_json_pointer, 1);
  }
  LiveView view(stdout, ansi_, static_cast<double>(options_.duration.count()),
                options_.objective_seconds);
  std::vector<Sample> samples;
  std::optional<ScalingEvent> last_event;
  std::int64_t produced_before = 0;
  std::int64_t processed_before = 0;
  double t_before = 0;
  bool interrupted = false;
  for (long tick = 1; tick <= options_.duration.count() && !interrupted; ++tick) {
    interrupted = wait_for_signal_until(start + std::chrono::seconds(tick));
    const double t = seconds_since(start);
    const std::int64_t produced = backend_->produced();
    const std::int64_t processed = backend_->processed();
    Sample sample = take_sample(t, t - t_before, produced - produced_before,
                                processed - processed_before, last_event);
    produced_before = produced;
    processed_before = processed;
    t_before = t;
    samples.push_back(sample);
    view.update(sample, last_event);
  }
  view.finish();
  backend_->stop_producer();

  RunInfo info;
  info.seed = options_.seed;
  info.duration = static_cast<double>(options_.duration.count());
  info.objective_seconds = options_.objective_seconds;
  info.per_replica_rate = kPerReplicaRate;
  info.pattern = pattern.describe();
  std::error_code ignored;
  info.plot_path = std::filesystem::absolute(options_.plot_path, ignored).string();
  info.interrupted = interrupted;
  info.produced = backend_->produced();
  info.processed = backend_->processed();
  info.scales_applied = static_cast<int>(observer_.scales().size());
  const auto events = final_scaling_events();
  const RunSummary summary = summarize(samples, events, options_.objective_seconds);

  int exit_code = 0;
  {
    std::ofstream plot(options_.plot_path, std::ios::trunc);
    plot << render_svg(demo_plot(samples, observer_.scales(), info));
    if (!plot.good()) {
      std::fprintf(stderr, "lagpilot demo: --plot %s: cannot write the file\n",
                   options_.plot_path.c_str());
      info.plot_path.clear();
      exit_code = 1;
    }
  }
  {
    const std::string record_path =
        options_.record_path.value_or(default_recording_path(options_.plot_path));
    RecordingInfo recording;
    recording.seed = options_.seed;
    recording.service_rate = kPerReplicaRate;
    const BackendTraits traits = backend_->traits();
    recording.partitions = traits.partitions;
    recording.group_members_visible = traits.group_members_visible;
    recording.pod_ready_delay = static_cast<double>(kPodStartup.count());
    recording.commit_interval = traits.commit_interval;
    recording.rebalance_pauses = backend_->consumer_start_pauses();
    std::vector<double> scale_times;
    for (const ScalingEvent& e : observer_.scales()) scale_times.push_back(e.t);
    std::vector<double> consumer_times;
    for (const auto& change : backend_->running_changes()) {
      consumer_times.push_back(std::chrono::duration<double>(change.time - start).count());
    }
    attach_change_times(samples, scale_times, consumer_times);
    recording.poll_interval = kPollIntervalSeconds;
    recording.objective_seconds = options_.objective_seconds;
    recording.initial_replicas = initial_replicas;
    recording.spec_file =
        std::filesystem::path(recording_spec_path(record_path)).filename().string();
    recording.pattern = pattern.describe();
    if (auto written = write_recording(record_path, recording, summary, samples, monitor_yaml_);
        !written) {
      std::fprintf(stderr, "lagpilot demo: %s\n", written.error().message.c_str());
      exit_code = 1;
    } else {
      info.record_path = std::filesystem::absolute(record_path, ignored).string();
    }
  }
  std::fputs(format_summary(summary, events, info).c_str(), stdout);
  std::fflush(stdout);

  const auto stopping = SteadyClock::now();
  const std::string stopped =
      "the operator, consumers, producer and " + backend_->server_name() +
      (options_.use_kubeconfig || options_.keep ? "" : " and the control plane");
  shut_down();
  std::printf("stopped %s in %.1f s\n", stopped.c_str(), seconds_since(stopping));
  if (!kept_message_.empty()) std::printf("\n%s", kept_message_.c_str());
  if (options_.keep && options_.use_kubeconfig) {
    std::printf(
        "\ndemo objects left in namespace demo (--keep); delete them with:\n"
        "  kubectl delete -n demo queuemonitor/orders deployment/order-consumer\n");
  }
  return failed_ ? 1 : exit_code;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<std::chrono::seconds> parse_demo_duration(const std::string& text) {
  auto parsed = parse_whole_seconds(text);
  if (!parsed) return parsed.error();
  if (parsed->count() <= 0) return Error{"InvalidFlag", "\"" + text + "\" must be more than 0s"};
  if (*parsed > std::chrono::hours(24)) {
    return Error{"InvalidFlag", "\"" + text + "\" is more than 24h"};
  }
  return *parsed;
}

Result<DemoOptions> parse_demo_options(const std::vector<std::string>& args) {
  DemoOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> inline_value;
    if (flag.rfind("--", 0) == 0) {
      if (auto eq = flag.find('='); eq != std::string::npos) {
        inline_value = flag.substr(eq + 1);
        flag = flag.substr(0, eq);
      }
    }
    auto value = [&]() -> Result<std::string> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) return Error{"InvalidFlag", flag + ": needs a value"};
      return args[++i];
    };
    auto no_value = [&]() -> Status {
      if (inline_value) return Error{"InvalidFlag", flag + ": takes no value"};
      return Ok{};
    };
    if (flag == "-h" || flag == "--help") {
      options.help = true;
    } else if (flag == "--source") {
      auto text = value();
      if (!text) return text.error();
      auto source = parse_demo_source(*text);
      if (!source) return Error{"InvalidFlag", "--source: " + source.error().message};
      options.source = *source;
    } else if (flag == "--duration") {
      auto text = value();
      if (!text) return text.error();
      auto duration = parse_demo_duration(*text);
      if (!duration) return Error{"InvalidFlag", "--duration: " + duration.error().message};
      options.duration = *duration;
    } else if (flag == "--seed") {
      auto text = value();
      if (!text) return text.error();
      const std::string& digits = *text;
      if (digits.empty() || digits.size() > 19 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        return Error{"InvalidFlag", "--seed: \"" + digits + "\" is not a non-negative integer"};
      }
      options.seed = std::stoull(digits);
    } else if (flag == "--plot") {
      auto text = value();
      if (!text) return text.error();
      if (text->empty()) return Error{"InvalidFlag", "--plot: needs a file path"};
      options.plot_path = *text;
    } else if (flag == "--record") {
      auto text = value();
      if (!text) return text.error();
      if (text->empty()) return Error{"InvalidFlag", "--record: needs a file path"};
      options.record_path = *text;
    } else if (flag == "--objective-seconds") {
      auto text = value();
      if (!text) return text.error();
      const std::string& digits = *text;
      if (digits.empty() || digits.size() > 4 ||
          digits.find_first_not_of("0123456789") != std::string::npos || std::stoi(digits) < 1 ||
          std::stoi(digits) > 3600) {
        return Error{"InvalidFlag", "--objective-seconds: \"" + digits +
                                        "\" is not a whole number of seconds from 1 to 3600"};
      }
      options.objective_seconds = std::stoi(digits);
    } else if (flag == "--use-kubeconfig") {
      if (auto ok = no_value(); !ok) return ok.error();
      options.use_kubeconfig = true;
    } else if (flag == "--keep") {
      if (auto ok = no_value(); !ok) return ok.error();
      options.keep = true;
    } else if (!flag.empty() && flag[0] == '-') {
      return Error{"InvalidFlag", "unknown flag " + flag + " (see lagpilot-demo --help)"};
    } else {
      return Error{"InvalidFlag",
                   "unexpected argument \"" + flag + "\" (see lagpilot-demo --help)"};
    }
  }
  return options;
}

std::string demo_usage() { return usage_text(); }

int run_demo(const std::vector<std::string>& args) {
  auto options = parse_demo_options(args);
  if (!options) {
    std::fprintf(stderr, "lagpilot demo: %s\n", options.error().message.c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(demo_usage().c_str(), stdout);
    return 0;
  }
  DemoRun demo(*options);
  return demo.run();
}

}  // namespace lagpilot::demo
