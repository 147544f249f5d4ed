// Operator benchmarks against the local control plane and librdkafka's mock cluster. Prints
// figures; not a test.
//
//   bench_operator reaction [--cycles 30]
//       lag change in Kafka -> replicas patched, pollInterval 1 s
//   bench_operator scale [--monitors 1000] [--workers 8] [--status-writers 8] [--unreachable 0]
//       1,000 QueueMonitors in one lagpilot process, pollInterval 10 s: RSS, poll punctuality,
//       start-up, CPU per poll, status writes per minute at rest, the machine's load; --unreachable
//       adds monitors of a cluster that is down. LAGPILOT_BENCH_OPERATOR_LD_PRELOAD becomes the
//       operator's LD_PRELOAD (e.g. heaptrack's libheaptrack_preload.so, to see where its memory
//       goes).
//   bench_operator shards [--replicas 3] [--monitors-per-replica 10000]
//       N `--shards auto` processes x M QueueMonitors each (shards_bench.cpp)
//
// A bench that crashes or is interrupted leaves nothing running: the operator gets SIGKILL when
// the bench dies (PR_SET_PDEATHSIG) and controlplane/watchdog stops the control plane.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "bench/operator/bench_fixture.h"
#include "controllers/queuemonitor_controller.h"
#include "controlplane/crds.h"
#include "controlplane/local_control_plane.h"
#include "controlplane/test_support.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/rest_client.h"
#include "sources/builtin_sources.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"

namespace lagpilot {
namespace {

using namespace bench;  // bench_fixture.h
using kube::Json;
using std::chrono::milliseconds;
using std::chrono::seconds;

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t index =
      static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

int reaction(int cycles) {
  SystemClock clock;
  Cluster cluster = start_cluster(clock);
  kube::KubeClient& client = *cluster.client;
  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 8);
  (void)client.create(kube::resources::kDeployments, "bench",
                      controlplane::deployment_manifest("consumer", 1));
  (void)client.create(
      kube::resources::kQueueMonitors, "bench",
      monitor(
          "orders", kafka.bootstrap_servers(), "g", "consumer", 1,
          R"({"policy":"lagPerReplica","targetLagPerReplica":100,"maxReplicas":8,"cooldownSeconds":0,
                                  "tolerance":0,"scaleUp":{"maxPodsPerPeriod":10},
                                  "scaleDown":{"stabilizationSeconds":0,"maxPercentPerPeriod":100,"periodSeconds":1}})"));
  // Replica changes observed through a watch, stamped when they arrive.
  std::mutex mutex;
  std::condition_variable changed;
  int replicas = 1;
  std::chrono::steady_clock::time_point changed_at;
  kube::Informer deployments(client, kube::resources::kDeployments, "bench", clock);
  deployments.add_handlers({nullptr,
                            [&](const Json&, const Json& now) {
                              std::lock_guard lock(mutex);
                              int r = now.value("/spec/replicas"_json_pointer, 0);
                              if (r != replicas) {
                                replicas = r;
                                changed_at = std::chrono::steady_clock::now();
                                changed.notify_all();
                              }
                            },
                            nullptr});
  deployments.start();
  deployments.wait_for_sync(std::chrono::seconds(10));

  SourceRegistry factory = builtin_sources();
  kube::EventRecorder events(client, clock, "lagpilot-bench");
  controllers::ControllerOptions options;
  options.namespaces = {"bench"};
  options.workers = 2;
  controllers::QueueMonitorController controller(client, clock, factory, events, options);
  controller.start();

  kafka.commit("g", "orders", {{0, 0}});  // the group exists; lag counts from offset 0
  std::vector<double> up_ms, down_ms;
  int64_t produced = 0;
  // Lag changes land at a random point of the poll cycle, as they do in production (right after a
  // scale the controller re-polls at once, which would flatter the figures).
  std::mt19937 random(7);
  std::uniform_int_distribution<int> offset_ms(0, 1500);
  for (int cycle = 0; cycle < cycles; ++cycle) {
    // Lag change: 400 new messages on partition 0 (the group stays at its committed offset).
    std::chrono::steady_clock::time_point started;
    auto wait_for = [&](int target, std::vector<double>& into) {
      std::unique_lock lock(mutex);
      if (!changed.wait_for(lock, seconds(10), [&] { return replicas == target; })) {
        std::fprintf(stderr, "cycle %d: replicas never reached %d (at %d)\n", cycle, target,
                     replicas);
        return;
      }
      into.push_back(std::chrono::duration<double, std::milli>(changed_at - started).count());
    };
    std::this_thread::sleep_for(milliseconds(offset_ms(random)));
    started = std::chrono::steady_clock::now();
    kafka.produce("orders", 0, 400, std::chrono::system_clock::now(), milliseconds(0));
    produced += 400;
    wait_for(4, up_ms);
    std::this_thread::sleep_for(milliseconds(offset_ms(random)));
    started = std::chrono::steady_clock::now();
    kafka.commit("g", "orders", {{0, produced}});
    wait_for(1, down_ms);
    std::fprintf(stderr, "\rcycle %d/%d", cycle + 1, cycles);
  }
  std::fprintf(stderr, "\n");
  controller.stop();
  deployments.stop();
  std::vector<double> all = up_ms;
  all.insert(all.end(), down_ms.begin(), down_ms.end());
  std::printf(
      "reaction: lag change in Kafka -> Deployment spec.replicas changed (watched), "
      "pollIntervalSeconds 1\n");
  std::printf("  scale-up   n=%zu p50 %.0f ms  p99 %.0f ms  max %.0f ms\n", up_ms.size(),
              percentile(up_ms, 50), percentile(up_ms, 99), percentile(up_ms, 100));
  std::printf("  scale-down n=%zu p50 %.0f ms  p99 %.0f ms  max %.0f ms\n", down_ms.size(),
              percentile(down_ms, 50), percentile(down_ms, 99), percentile(down_ms, 100));
  std::printf(
      "  all        n=%zu p50 %.0f ms  p99 %.0f ms  (goal: <= pollInterval + 100 ms = 1100 ms)\n",
      all.size(), percentile(all, 50), percentile(all, 99));
  (void)cluster.plane->stop();
  std::filesystem::remove_all(cluster.run_dir);
  return 0;
}

int scale(int monitors, int workers, int status_writers, int unreachable) {
  SystemClock clock;
  Cluster cluster = start_cluster(clock);
  kube::KubeClient& client = *cluster.client;
  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 4);
  std::fprintf(stderr, "creating %d consumer groups, Deployments and QueueMonitors ...\n",
               monitors);
  auto created_at = std::chrono::steady_clock::now();
  // A Deployment and a QueueMonitor of it, polling group-<id> every 10 s.
  const auto create_monitor = [&](const std::string& id, const std::string& bootstrap,
                                  int replicas) {
    (void)client.create(kube::resources::kDeployments, "bench",
                        controlplane::deployment_manifest(id, replicas));
    (void)client.create(kube::resources::kQueueMonitors, "bench",
                        monitor(id, bootstrap, "group-" + id, id, 10,
                                R"({"policy":"lagPerReplica","minReplicas":0,"maxReplicas":4})"));
  };
  std::vector<std::string> groups;
  for (int i = 0; i < monitors; ++i) groups.push_back("group-m" + std::to_string(i));
  commit_groups_at_zero(kafka.bootstrap_servers(), groups, "orders", 4);
  // Several creators at once: one at a time waits out each round trip of a busy API server
  // (10,000 monitors took over 10 minutes on the shared test machine).
  std::atomic<int> next_monitor{0};
  std::vector<std::thread> creators;
  for (int t = 0; t < 6; ++t) {
    creators.emplace_back([&] {
      for (int i = next_monitor++; i < monitors; i = next_monitor++) {
        create_monitor("m" + std::to_string(i), kafka.bootstrap_servers(), 0);
        if (i % 100 == 99) std::fprintf(stderr, "\r  %d/%d", i + 1, monitors);
      }
    });
  }
  for (auto& creator : creators) creator.join();
  // Monitors of a cluster that is down (nothing listens there): they must not hold up the rest.
  for (int i = 0; i < unreachable; ++i)
    create_monitor("down" + std::to_string(i), "127.0.0.1:1", 1);
  monitors += unreachable;
  std::fprintf(
      stderr, "\n  created in %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - created_at).count());

  int metrics_port = free_port();
  std::string log_path = cluster.run_dir + "/lagpilot.log";
  // Everything the child needs is made before fork(): the bench has threads, so the child may
  // only make async-signal-safe calls until it execs.
  const std::string kubeconfig = cluster.plane->kubeconfig_path();
  const std::string metrics = "127.0.0.1:" + std::to_string(metrics_port);
  const std::string worker_count = std::to_string(workers);
  const std::string writer_count = std::to_string(status_writers);
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string variable = *e;
    const std::string preload = "LAGPILOT_BENCH_OPERATOR_LD_PRELOAD=";
    if (variable.rfind(preload, 0) == 0) variable = "LD_PRELOAD=" + variable.substr(preload.size());
    environment.push_back(std::move(variable));
  }
  std::vector<char*> envp;
  for (auto& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  const char* const argv[] = {LAGPILOT_BINARY,
                              "run",
                              "--kubeconfig",
                              kubeconfig.c_str(),
                              "--namespaces",
                              "bench",
                              "--metrics-bind-address",
                              metrics.c_str(),
                              "--health-probe-bind-address",
                              "0",
                              "--log-format",
                              "json",
                              "--workers",
                              worker_count.c_str(),
                              "--status-writers",
                              writer_count.c_str(),
                              nullptr};
  const pid_t bench_pid = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // The operator never outlives the bench (a crash, Ctrl-C, KILL).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != bench_pid) ::_exit(1);
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(log, STDERR_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::execve(LAGPILOT_BINARY, const_cast<char* const*>(argv), envp.data());
    ::_exit(127);
  }
  auto started = std::chrono::steady_clock::now();
  // Warm-up: every monitor reconciled twice, the work queue empty and every status write sent
  // (the first one of each monitor), then rest. The first round's length is the startup figure.
  double polls = 0;
  double depth = 0;
  double writes_pending = 0;
  std::optional<double> first_round_seconds;
  // 10,000 monitors take a while to watch in and get their first statuses written (one or two
  // PATCHes each, at the API server's pace: about 80 a second on the loaded test machine): at
  // least 180 s, up to 100 ms a monitor.
  const auto warm_up_limit = seconds(std::max(180, monitors / 10));
  while (std::chrono::steady_clock::now() - started < warm_up_limit) {
    std::this_thread::sleep_for(seconds(1));
    int exit_status = 0;
    if (::waitpid(pid, &exit_status, WNOHANG) == pid) {
      std::fprintf(stderr, "\nthe operator exited during the warm-up; its log: %s\n",
                   log_path.c_str());
      (void)cluster.plane->stop();
      return 1;
    }
    std::string text = operator_metrics_text(metrics_port);
    polls = metric_sum(text, "lagpilot_source_polls_total");
    depth = metric_sum(text, "lagpilot_workqueue_depth");
    writes_pending = metric_sum(text, "lagpilot_status_writes_pending");
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!first_round_seconds && polls >= monitors) first_round_seconds = elapsed;
    std::fprintf(stderr,
                 "\r  polls so far %.0f, queue depth %.0f, status writes pending %.0f, RSS %ld KiB",
                 polls, depth, writes_pending, rss_kib(pid));
    if (polls >= 2.0 * monitors && depth == 0 && writes_pending == 0) break;
  }
  std::fprintf(stderr, "\n  warm: %.0f polls after %.1f s; measuring 60 s at rest ...\n", polls,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  const std::string load_before = load_average();
  std::string before = operator_metrics_text(metrics_port);
  const double cpu_before = cpu_seconds(pid);
  std::this_thread::sleep_for(seconds(60));
  const double cpu_minute = cpu_seconds(pid) - cpu_before;
  std::string after = operator_metrics_text(metrics_port);
  const std::string load_after = load_average();
  long rss = rss_kib(pid);
  long peak_rss = status_kib(pid, "VmHWM");
  double patches = metric_sum(after, "lagpilot_kube_requests_total", "verb=\"PATCH\"") -
                   metric_sum(before, "lagpilot_kube_requests_total", "verb=\"PATCH\"");
  double puts = metric_sum(after, "lagpilot_kube_requests_total", "verb=\"PUT\"") -
                metric_sum(before, "lagpilot_kube_requests_total", "verb=\"PUT\"");
  double polls_minute = metric_sum(after, "lagpilot_source_polls_total") -
                        metric_sum(before, "lagpilot_source_polls_total");
  double errors = metric_sum(after, "lagpilot_source_polls_total", "result=\"error\"");
  // Punctuality: the work queue's wait histogram (time from due to processed) over the minute.
  double wait_count = metric_sum(after, "lagpilot_workqueue_wait_seconds_count") -
                      metric_sum(before, "lagpilot_workqueue_wait_seconds_count");
  auto waited_within = [&](const char* le) {
    std::string filter = std::string("le=\"") + le + "\"";
    return metric_sum(after, "lagpilot_workqueue_wait_seconds_bucket", filter) -
           metric_sum(before, "lagpilot_workqueue_wait_seconds_bucket", filter);
  };
  double within_100ms = waited_within("0.1");
  double within_250ms = waited_within("0.25");
  double within_1s = waited_within("1");
  double within_2500ms = waited_within("2.5");
  // p99 lateness: the smallest bucket bound holding 99 % of the waits.
  std::string p99 = "> 10 s";
  for (const char* le : {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                         "1", "2.5", "5", "10"}) {
    if (wait_count > 0 && waited_within(le) >= 0.99 * wait_count) {
      p99 = std::string("<= ") + le + " s";
      break;
    }
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf(
      "scale: %d QueueMonitors (one consumer group each, one mock Kafka cluster; %d of them on a "
      "cluster that is down), pollIntervalSeconds 10, --workers %d --status-writers %d\n",
      monitors, unreachable, workers, status_writers);
  std::printf("  machine load (1, 5, 15 min) before / after the measured minute: %s / %s\n",
              load_before.c_str(), load_after.c_str());
  std::printf(
      "  operator RSS after warm-up + 60 s: %.1f MiB (%.1f KiB a monitor; peak %.1f MiB; goal <= "
      "200 MB)\n",
      static_cast<double>(rss) / 1024.0, static_cast<double>(rss) / monitors,
      static_cast<double>(peak_rss) / 1024.0);
  std::printf("  polls in the measured minute: %.0f (expected ~%d); failed polls overall: %.0f\n",
              polls_minute, monitors * 6, errors);
  auto percent = [&](double part) { return wait_count > 0 ? 100.0 * part / wait_count : 0.0; };
  std::printf(
      "  reconciles started within 1 s of due: %.2f %% of %.0f (within 100 ms %.2f %%, 250 ms "
      "%.2f %%, 2.5 s %.2f %%)\n",
      percent(within_1s), wait_count, percent(within_100ms), percent(within_250ms),
      percent(within_2500ms));
  std::printf("  p99 poll lateness (due -> reconcile started): %s (goal <= 1 s)\n", p99.c_str());
  std::printf("  CPU in the measured minute: %.1f s (%.0f %% of a core), %.2f ms a poll\n",
              cpu_minute, 100.0 * cpu_minute / 60.0,
              polls_minute > 0 ? 1000.0 * cpu_minute / polls_minute : 0.0);
  if (first_round_seconds)
    std::printf(
        "  startup: every monitor polled once %.0f s after the operator started (goal <= 60 s)\n",
        *first_round_seconds);
  std::printf("  API writes in the measured minute at rest: %.0f PATCH, %.0f PUT (goal 0)\n",
              patches, puts);
  std::printf("  operator exit code after SIGTERM: %d\n",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  (void)cluster.plane->stop();
  std::filesystem::remove_all(cluster.run_dir);
  return 0;
}

}  // namespace
}  // namespace lagpilot

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  int count = 0;
  int workers = 8;
  int status_writers = 8;
  int unreachable = 0;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--cycles" || std::string(argv[i]) == "--monitors")
      count = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--workers") workers = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--status-writers") status_writers = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--unreachable") unreachable = std::atoi(argv[i + 1]);
  }
  if (mode == "shards") return lagpilot::bench::shards_main(argc, argv);
  if (mode == "reaction") return lagpilot::reaction(count > 0 ? count : 30);
  if (mode == "scale")
    return lagpilot::scale(count > 0 ? count : 1000, workers > 0 ? workers : 8,
                           status_writers > 0 ? status_writers : 8, std::max(0, unreachable));
  std::fprintf(stderr,
               "usage: bench_operator reaction [--cycles N] | scale [--monitors N] [--workers N] "
               "[--status-writers N] [--unreachable N] | shards [--replicas N] "
               "[--monitors-per-replica N]\n");
  return 2;
}
