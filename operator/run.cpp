#include "operator/run.h"

#include <prometheus/registry.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "controllers/queuemonitor_controller.h"
#include "kube/events.h"
#include "kube/rest_client.h"
#include "metrics/exemplar_store.h"
#include "metrics/metrics_endpoint.h"
#include "metrics/operator_metrics.h"
#include "notify/http_sender.h"
#include "notify/webhook_notifier.h"
#include "operator/leader_election.h"
#include "operator/logging.h"
#include "operator/metrics_observer.h"
#include "operator/probe_server.h"
#include "operator/shard_membership.h"
#include "operator/tracing_setup.h"
#include "sources/builtin_sources.h"
#include "util/clock.h"

namespace lagpilot::operator_main {
namespace {

// Stops the watchdog before what its checks look at is destroyed.
struct StopWatchdog {
  Watchdog& watchdog;
  ~StopWatchdog() { watchdog.stop(); }
};

}  // namespace

int run_operator(const RunOptions& options) {
  configure_logging(options.log_level, options.log_format);
  SystemClock clock;
  auto registry = std::make_shared<prometheus::Registry>();
  OperatorTracing traces({options.otlp_endpoint, options.trace_sampling_ratio, LAGPILOT_VERSION},
                         clock, registry);
  if (traces.enabled()) configure_logging(options.log_level, options.log_format, traces.tracer());
  // The latest sampled reconcile trace per reconcile-duration bucket, served with OpenMetrics.
  metrics::ExemplarStore exemplars(clock);
  metrics::OperatorMetrics operator_metrics(registry, LAGPILOT_VERSION,
                                            options.per_partition_metrics, &exemplars);

  auto config = kube::load_default_config(kube::process_environment(), options.kubeconfig);
  if (!config) {
    std::fprintf(stderr, "lagpilot: %s\n", config.error().message.c_str());
    return 1;
  }
  char host[256] = "lagpilot";
  ::gethostname(host, sizeof host - 1);
  const char* pod = std::getenv("POD_NAME");  // set by the Helm chart
  // This process among the replicas: leader election's holder, the member Lease's holder, and in
  // every request's User-Agent (the audit log tells replicas of one ServiceAccount apart by it).
  const std::string identity =
      (pod && *pod ? std::string(pod) : std::string(host)) + "_" + std::to_string(::getpid());
  config->user_agent = std::string("lagpilot/") + LAGPILOT_VERSION + " (" + identity + ")";
  kube::ClientOptions client_options;
  client_options.on_request = [&operator_metrics](const std::string& verb, int code,
                                                  double seconds) {
    operator_metrics.kube_request(verb, code, seconds);
  };
  if (traces.enabled())
    client_options.around_request = tracing::kube_request_spans(*traces.tracer());
  auto client = kube::RestKubeClient::from_config(*config, clock, client_options);
  auto version = client->get_path("/version");
  if (!version) {
    const char* what = version.error().http_status == 0
                           ? "cannot reach the Kubernetes API server"
                           : "the Kubernetes API server refused lagpilot:";
    std::fprintf(stderr, "lagpilot: %s %s (%s): %s\n", what, config->server.c_str(),
                 config->origin.c_str(), version.error().message.c_str());
    return 1;
  }
  kube::ListOptions probe;
  probe.limit = 1;
  auto crd_check =
      client->list(kube::resources::kQueueMonitors,
                   options.namespaces.empty() ? "" : options.namespaces.front(), probe);
  if (!crd_check && crd_check.error().reason == kube::ApiReason::kNotFound) {
    std::fprintf(stderr,
                 "lagpilot: the QueueMonitor CRD is not installed on %s: kubectl apply -f crds/\n",
                 config->server.c_str());
    return 1;
  }
  if (!crd_check) {
    std::fprintf(stderr, "lagpilot: cannot list QueueMonitors on %s (%s): %s\n",
                 config->server.c_str(), config->origin.c_str(), crd_check.error().message.c_str());
    return 1;
  }
  spdlog::info("connected to {} ({}), Kubernetes {}", config->server, config->origin,
               version->value("gitVersion", "unknown"));

  std::unique_ptr<metrics::MetricsEndpoint> exposer;
  if (options.metrics_bind_address != "0") {
    auto bind = parse_bind_address(options.metrics_bind_address);
    if (!bind) {
      std::fprintf(stderr, "lagpilot: --metrics-bind-address: \"%s\" is not host:port\n",
                   options.metrics_bind_address.c_str());
      return 1;
    }
    try {
      exposer = std::make_unique<metrics::MetricsEndpoint>(
          bind->first + ":" + std::to_string(bind->second), registry, &exemplars);
      spdlog::info("metrics on http://{}:{}/metrics", bind->first,
                   exposer->listening_ports().front());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lagpilot: --metrics-bind-address %s: %s\n",
                   options.metrics_bind_address.c_str(), e.what());
      return 1;
    }
  }

  BuiltinSourceOptions source_options;
  source_options.kafka.poll_timeout = std::chrono::milliseconds(options.kafka_poll_timeout_ms);
  source_options.clock = &clock;
  SourceRegistry sources = builtin_sources(source_options);
  auto credential_policy =
      controllers::CredentialPolicy::from_patterns(options.allowed_credential_destinations);
  Status checked = credential_policy
                       ? controllers::check_pattern_kinds(
                             *credential_policy, sources.source_kinds(), sources.latency_kinds())
                       : Status(credential_policy.error());
  if (!checked) {
    std::fprintf(stderr, "lagpilot: --allowed-credential-destinations: %s\n",
                 checked.error().message.c_str());
    return 1;
  }
  std::unique_ptr<kube::RestKubeClient> election_client;  // the elector's own: bounded requests
  std::unique_ptr<LeaderElector> elector;
  std::unique_ptr<ShardMembership> membership;  // --shards auto
  // Every write (status, scale, Events) goes through the leader-election or membership fence.
  FencedKubeClient writer(*client, [&elector, &membership] {
    return (!elector || elector->holds_lease()) && (!membership || membership->may_write());
  });
  kube::EventRecorder events(writer, clock, "lagpilot");
  MetricsObserver observer(operator_metrics);
  // Alert webhooks (spec.notifications), delivered in the background: a slow receiver never
  // delays a reconcile.
  notify::WebhookNotifier notifier(clock, notify::make_cpprest_http_sender());
  controllers::ControllerOptions controller_options;
  controller_options.notifier = &notifier;
  if (traces.enabled()) controller_options.tracer = traces.tracer().get();
  controller_options.namespaces = options.namespaces;
  controller_options.credentials = *credential_policy;
  controller_options.workers = options.workers;
  controller_options.metrics_status_interval = options.metrics_status_interval;
  controller_options.sync_timeout = options.cache_sync_timeout;
  controller_options.status_writers = options.status_writers;
  controller_options.on_status_writes_pending = [&operator_metrics](std::size_t monitors) {
    operator_metrics.set_status_writes_pending(static_cast<double>(monitors));
  };
  controller_options.queue.on_add = [&operator_metrics] { operator_metrics.workqueue_added(); };
  controller_options.queue.on_retry = [&operator_metrics] { operator_metrics.workqueue_retried(); };
  controller_options.queue.on_wait = [&operator_metrics](double s) {
    operator_metrics.workqueue_waited(s);
  };
  controller_options.queue.on_depth = [&operator_metrics](std::size_t ready) {
    operator_metrics.set_workqueue_depth(static_cast<double>(ready));
  };

  // /healthz: the process is alive and its loops turn. A ticker runs the checks (the work queue's
  // keys are taken by workers) every second; the leader-election loop beats on its own.
  const Duration stall_limit = options.health_stall_timeout;
  Watchdog watchdog(clock, stall_limit);
  HeartbeatClock election_clock(clock, watchdog, "leader-election");
  HeartbeatClock membership_clock(clock, watchdog, "shard-membership");

  const std::string lease_namespace = !options.leader_election_namespace.empty()
                                          ? options.leader_election_namespace
                                          : config->default_namespace;
  if (options.shards) {
    // No leader-only duties remain: everything the controller does is per monitor, so with
    // shards every replica runs it for the monitors it owns (operator/shards.h).
    ShardMembershipConfig shards;
    shards.lease_namespace = lease_namespace;
    shards.group = options.leader_election_id;
    // Outside a Pod several processes may share a host name: the pid tells them apart.
    shards.member_name = member_lease_name(pod && *pod ? std::string(pod) : identity);
    shards.identity = identity;
    shards.lease_duration = options.lease_duration;
    shards.renew_deadline = options.renew_deadline;
    shards.retry_period = options.retry_period;
    LeaderElectionConfig bounds;
    bounds.renew_deadline = options.renew_deadline;
    election_client = kube::RestKubeClient::from_config(
        *config, clock, election_client_options(bounds, client_options));
    membership = std::make_unique<ShardMembership>(*election_client, membership_clock, shards);
    controller_options.may_write = [&membership] { return membership->may_write(); };
    controller_options.owns_monitor = [&membership](const std::string& key) {
      return membership->owns(key);
    };
  }
  if (options.leader_elect) {
    LeaderElectionConfig election;
    election.lease_namespace = lease_namespace;
    election.lease_name = options.leader_election_id;
    election.identity = identity;
    election.lease_duration = options.lease_duration;
    election.renew_deadline = options.renew_deadline;
    election.retry_period = options.retry_period;
    election_client = kube::RestKubeClient::from_config(
        *config, clock, election_client_options(election, client_options));
    elector = std::make_unique<LeaderElector>(*election_client, election_clock, election);
    controller_options.may_write = [&elector] { return elector->holds_lease(); };
  }
  controllers::QueueMonitorController controller(writer, clock, sources, events, controller_options,
                                                 &observer);
  watchdog.add_check("workqueue", work_queue_check(controller.queue(), clock, stall_limit));
  StopWatchdog stop_watchdog{watchdog};
  watchdog.start();

  // Standbys are ready too: readiness means connected and able to take over.
  std::atomic<bool> ready{false};
  ProbeServer probes(
      [&watchdog]() -> std::optional<std::string> {
        auto problem = watchdog.problem();
        if (problem) spdlog::warn("healthz failing: {}", *problem);
        return problem;
      },
      [&ready] { return ready.load(); });
  if (options.health_probe_bind_address != "0") {
    if (auto started = probes.start(options.health_probe_bind_address); !started) {
      std::fprintf(stderr, "lagpilot: %s\n", started.error().message.c_str());
      return 1;
    }
    spdlog::info("health probes on http://{}:{}/healthz", probes.host(), probes.port());
  }
  auto start_controller = [&]() -> bool {
    if (!controller.start()) {
      std::fprintf(stderr,
                   "lagpilot: caches did not sync from %s: no list page for %lld s "
                   "(--cache-sync-timeout)\n",
                   config->server.c_str(),
                   static_cast<long long>(controller_options.sync_timeout.count() / 1000));
      return false;
    }
    operator_metrics.set_leader(true);
    spdlog::info("lagpilot running: workers={} namespaces={}", options.workers,
                 options.namespaces.empty() ? std::string("all")
                                            : std::to_string(options.namespaces.size()));
    return true;
  };

  std::thread election_thread;
  std::thread membership_thread;
  if (membership) {
    spdlog::info("shards: member lease={}/{} identity={} group={}",
                 membership->config().lease_namespace, membership->config().member_name,
                 membership->config().identity, membership->config().group);
    const auto request = client_options.retry.max_attempts *
                         (client_options.request_timeout + client_options.retry.max_backoff);
    watchdog.watch("shard-membership",
                   std::max<Duration>(stall_limit, options.retry_period + 2 * request));
    if (!start_controller()) return 1;
    membership_thread = std::thread([&membership, &controller] {
      membership->run([&controller] { controller.requeue_all(); });
    });
  } else if (elector) {
    spdlog::info("leader-election lease={}/{} identity={}: waiting to lead",
                 elector->config().lease_namespace, elector->config().lease_name,
                 elector->config().identity);
    // One acquire-or-renew is a read and a write, each with the client's timeout and retries:
    // the loop may legitimately take that long on top of its retry period.
    const auto request = client_options.retry.max_attempts *
                         (client_options.request_timeout + client_options.retry.max_backoff);
    watchdog.watch("leader-election",
                   std::max<Duration>(stall_limit, options.retry_period + 2 * request));
    election_thread = std::thread([&elector, &watchdog] {
      elector->run([] { ::kill(::getpid(), SIGUSR1); }, [] { ::kill(::getpid(), SIGUSR2); });
      watchdog.unwatch("leader-election");
    });
  } else if (!start_controller()) {
    return 1;
  }
  ready = true;

  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&signals, signal);
  int exit_code = 0;
  while (true) {
    int received = 0;
    sigwait(&signals, &received);
    if (received == SIGUSR1) {
      if (!start_controller()) {
        exit_code = 1;
        break;
      }
      continue;
    }
    if (received == SIGUSR2) {
      // Deposed: writes already stopped (the fence); exit so a restart campaigns afresh.
      spdlog::error("lost leadership: stopping");
      exit_code = 1;
      break;
    }
    spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  ready = false;
  controller.stop();
  if (!notifier.wait_idle(std::chrono::seconds(2)))
    spdlog::warn("shutting down with alert notifications still queued");
  operator_metrics.set_leader(false);
  if (membership) {
    membership->stop();
    if (membership_thread.joinable()) membership_thread.join();
    watchdog.unwatch("shard-membership");
    if (exit_code == 0 && membership->release()) spdlog::info("shards: member lease released");
  }
  if (elector) {
    elector->stop();
    if (election_thread.joinable()) election_thread.join();
    if (exit_code == 0 && elector->release()) spdlog::info("leader-election lease released");
  }
  watchdog.stop();
  probes.stop();
  traces.stop();
  spdlog::info("stopped: {} live sources left", sources.live_sources());
  return exit_code;
}

}  // namespace lagpilot::operator_main
