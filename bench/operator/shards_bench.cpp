// bench_operator shards [--replicas 3] [--monitors-per-replica 10000]
//
// Sharding at scale: N `lagpilot run --shards auto` processes against the local control plane and
// one librdkafka mock cluster, N x M QueueMonitors (one consumer group and one Deployment each,
// pollIntervalSeconds 10, lag 0 so nothing scales). Prints, per process, its share, RSS, CPU and
// p99 poll lateness over a minute at rest, the status writes (PATCH) and Lease requests (PUT) in
// that minute, and the start-up: the time until every monitor had been polled by its owner (the sum
// over the processes of monitors with a lag series, which only the owner keeps).
//
// Every process the bench starts stops with it: the operators are stopped by SIGTERM on the way
// out (an error included) and get SIGKILL if the bench dies (PR_SET_PDEATHSIG, e.g. Ctrl-C);
// controlplane/watchdog stops the control plane.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/operator/bench_fixture.h"
#include "controlplane/test_support.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"

extern char** environ;

namespace lagpilot::bench {
namespace {

using std::chrono::seconds;

constexpr int kPollSeconds = 10;
constexpr int kCreateThreads = 4;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One `lagpilot run --shards auto` process, its metrics port and log.
struct Replica {
  pid_t pid = -1;
  int metrics_port = 0;
  std::string log_path;
  std::optional<int> exit_status;  // once reaped
};

// The operators the bench started; stops every one still running when it goes out of scope.
class Replicas {
 public:
  ~Replicas() { stop_all(); }
  std::vector<Replica>& all() { return replicas_; }

  void start(const std::string& kubeconfig, const std::string& run_dir) {
    Replica replica;
    replica.metrics_port = free_port();
    replica.log_path = run_dir + "/lagpilot-" + std::to_string(replicas_.size()) + ".log";
    // Everything the child needs is made before fork(): the bench has threads, so the child may
    // only make async-signal-safe calls until it execs.
    const std::string metrics = "127.0.0.1:" + std::to_string(replica.metrics_port);
    const char* const argv[] = {LAGPILOT_BINARY,
                                "run",
                                "--kubeconfig",
                                kubeconfig.c_str(),
                                "--namespaces",
                                "bench",
                                "--shards",
                                "auto",
                                "--leader-election-namespace",
                                "bench",
                                "--metrics-bind-address",
                                metrics.c_str(),
                                "--health-probe-bind-address",
                                "0",
                                "--log-format",
                                "json",
                                nullptr};
    const pid_t bench_pid = ::getpid();
    const char* log_path = replica.log_path.c_str();
    replica.pid = ::fork();
    if (replica.pid < 0) throw std::runtime_error("fork failed");
    if (replica.pid == 0) {
      // The operator never outlives the bench (a crash, Ctrl-C, KILL).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != bench_pid) ::_exit(1);
      int log = ::open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(log, STDERR_FILENO);
      ::dup2(log, STDOUT_FILENO);
      ::execve(LAGPILOT_BINARY, const_cast<char* const*>(argv), environ);
      ::_exit(127);
    }
    replicas_.push_back(replica);
  }

  // The first replica that exited, if any (reaped).
  const Replica* exited() {
    for (auto& replica : replicas_) {
      int status = 0;
      if (!replica.exit_status && ::waitpid(replica.pid, &status, WNOHANG) == replica.pid)
        replica.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      if (replica.exit_status) return &replica;
    }
    return nullptr;
  }

  // SIGTERM, 20 s to exit, then SIGKILL.
  void stop_all() {
    for (auto& replica : replicas_)
      if (!replica.exit_status) ::kill(replica.pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + seconds(20);
    for (auto& replica : replicas_) {
      while (!replica.exit_status) {
        int status = 0;
        if (::waitpid(replica.pid, &status, WNOHANG) == replica.pid) {
          replica.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        } else if (std::chrono::steady_clock::now() > deadline) {
          ::kill(replica.pid, SIGKILL);
          ::waitpid(replica.pid, &status, 0);
          replica.exit_status = -1;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    }
  }

 private:
  std::vector<Replica> replicas_;
};

// Monitors this replica has polled since it owns them: one lag series each.
int owned_polled(int port) {
  auto out =
      controlplane::run_command("curl -s http://127.0.0.1:" + std::to_string(port) +
                                "/metrics | grep -c '^lagpilot_queue_consumer_lag_messages{'");
  return std::atoi(out.output.c_str());
}

// The smallest bucket bound of lagpilot_workqueue_wait_seconds holding 99 % of the waits between
// two scrapes (time from due to reconcile started).
std::string p99_lateness(const std::string& before, const std::string& after) {
  const auto waits = [&](const std::string& filter) {
    return metric_sum(after, "lagpilot_workqueue_wait_seconds_bucket", filter) -
           metric_sum(before, "lagpilot_workqueue_wait_seconds_bucket", filter);
  };
  const double count = metric_sum(after, "lagpilot_workqueue_wait_seconds_count") -
                       metric_sum(before, "lagpilot_workqueue_wait_seconds_count");
  if (count <= 0) return "(no polls)";
  for (const char* le : {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                         "1", "2.5", "5", "10"}) {
    if (waits(std::string("le=\"") + le + "\"") >= 0.99 * count)
      return std::string("<= ") + le + " s";
  }
  return "> 10 s";
}

// Consumer groups at offset 0, then a Deployment (0 replicas) and a QueueMonitor of each, created
// by a few threads (30,000 one by one take too long).
void create_monitors(kube::KubeClient& client, const std::string& bootstrap, int total) {
  std::vector<std::string> groups;
  for (int i = 0; i < total; ++i) groups.push_back("group-m" + std::to_string(i));
  commit_groups_at_zero(bootstrap, groups, "orders", 4);
  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kCreateThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < total; i = next++) {
        const std::string id = "m" + std::to_string(i);
        auto deployment = client.create(kube::resources::kDeployments, "bench",
                                        controlplane::deployment_manifest(id, 0));
        auto created =
            client.create(kube::resources::kQueueMonitors, "bench",
                          monitor(id, bootstrap, "group-" + id, id, kPollSeconds,
                                  R"({"policy":"lagPerReplica","minReplicas":0,"maxReplicas":4})"));
        if (!deployment || !created) ++failed;
        if (++done % 500 == 0) std::fprintf(stderr, "\r  created %d/%d", done.load(), total);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::fprintf(stderr, "\n");
  if (failed > 0) throw std::runtime_error(std::to_string(failed.load()) + " creations failed");
}

int run(int replica_count, int per_replica) {
  SystemClock clock;
  Cluster cluster = start_cluster(clock);
  // Stops the control plane whichever way run() ends (the operators are stopped before: they are
  // declared later).
  struct StopPlane {
    Cluster& cluster;
    ~StopPlane() {
      (void)cluster.plane->stop();
      std::filesystem::remove_all(cluster.run_dir);
    }
  } stop_plane{cluster};
  const int total = replica_count * per_replica;
  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 4);
  std::fprintf(stderr, "creating %d consumer groups, Deployments and QueueMonitors ...\n", total);
  const auto creating = std::chrono::steady_clock::now();
  create_monitors(*cluster.client, kafka.bootstrap_servers(), total);
  std::fprintf(stderr, "  created in %.1f s\n", seconds_since(creating));

  Replicas replicas;
  const auto started = std::chrono::steady_clock::now();
  for (int r = 0; r < replica_count; ++r)
    replicas.start(cluster.plane->kubeconfig_path(), cluster.run_dir);
  auto& all = replicas.all();

  // Warm-up: every monitor polled by its owner, then twice as many polls as monitors overall, the
  // work queues empty and every first status write sent; then rest.
  std::optional<double> startup_seconds;
  const auto warm_up_limit = seconds(std::max(180, total / 25));
  bool warm = false;
  while (!warm && std::chrono::steady_clock::now() - started < warm_up_limit) {
    std::this_thread::sleep_for(seconds(2));
    if (const Replica* gone = replicas.exited()) {
      std::fprintf(stderr, "\nan operator exited during the warm-up (code %d); its log: %s\n",
                   *gone->exit_status, gone->log_path.c_str());
      std::filesystem::copy_file(gone->log_path, "/tmp/lagpilot-shards-bench-exited.log",
                                 std::filesystem::copy_options::overwrite_existing);
      return 1;
    }
    int polled = 0;
    double polls = 0, depth = 0, pending = 0;
    for (const auto& replica : all) {
      polled += owned_polled(replica.metrics_port);
      std::string text = operator_metrics_text(replica.metrics_port);
      polls += metric_sum(text, "lagpilot_source_polls_total");
      depth += metric_sum(text, "lagpilot_workqueue_depth");
      pending += metric_sum(text, "lagpilot_status_writes_pending");
    }
    if (!startup_seconds && polled >= total) startup_seconds = seconds_since(started);
    std::fprintf(stderr,
                 "\r  %.0f s: monitors polled by their owner %d/%d, polls %.0f, queue depth %.0f, "
                 "status writes pending %.0f   ",
                 seconds_since(started), polled, total, polls, depth, pending);
    warm = polled >= total && polls >= 2.0 * total && depth == 0 && pending == 0;
  }
  std::fprintf(stderr, "\n  %s after %.0f s; measuring 60 s at rest ...\n",
               warm ? "warm" : "NOT warm (limit reached)", seconds_since(started));

  const std::string load_before = load_average();
  std::vector<std::string> before;
  std::vector<double> cpu_before;
  for (const auto& replica : all) {
    before.push_back(operator_metrics_text(replica.metrics_port));
    cpu_before.push_back(cpu_seconds(replica.pid));
  }
  std::this_thread::sleep_for(seconds(60));
  const std::string load_after = load_average();

  std::printf(
      "shards: %d x %d QueueMonitors (%d in all; one consumer group each, one mock Kafka cluster), "
      "pollIntervalSeconds %d, %d `lagpilot run --shards auto` processes (default workers, status "
      "writers, lease 15 s / retry 2 s)\n",
      replica_count, per_replica, total, kPollSeconds, replica_count);
  std::printf("  machine load (1, 5, 15 min) before / after the measured minute: %s / %s\n",
              load_before.c_str(), load_after.c_str());
  double patches_all = 0, puts_all = 0, polls_all = 0;
  int owned_all = 0;
  for (std::size_t r = 0; r < all.size(); ++r) {
    const Replica& replica = all[r];
    const std::string after = operator_metrics_text(replica.metrics_port);
    const auto delta = [&](const std::string& name, const std::string& filter = "") {
      return metric_sum(after, name, filter) - metric_sum(before[r], name, filter);
    };
    const double cpu = cpu_seconds(replica.pid) - cpu_before[r];
    const double patches = delta("lagpilot_kube_requests_total", "verb=\"PATCH\"");
    const double puts = delta("lagpilot_kube_requests_total", "verb=\"PUT\"");
    const double polls = delta("lagpilot_source_polls_total");
    const int owned = owned_polled(replica.metrics_port);
    patches_all += patches;
    puts_all += puts;
    polls_all += polls;
    owned_all += owned;
    std::printf(
        "  replica %zu: owns %d monitors; RSS %.1f MiB (peak %.1f MiB); CPU %.1f s in the minute "
        "(%.0f %% of a core); polls %.0f (expected ~%d); p99 poll lateness %s; PATCH %.0f, PUT "
        "%.0f\n",
        r, owned, static_cast<double>(rss_kib(replica.pid)) / 1024.0,
        static_cast<double>(status_kib(replica.pid, "VmHWM")) / 1024.0, cpu, 100.0 * cpu / 60.0,
        polls, owned * 60 / kPollSeconds, p99_lateness(before[r], after).c_str(), patches, puts);
  }
  std::printf("  in all: %d monitors owned (of %d), %.0f polls in the minute (expected ~%d)\n",
              owned_all, total, polls_all, total * 60 / kPollSeconds);
  std::printf(
      "  API writes in the measured minute at rest, all processes: %.0f PATCH (status writes; goal "
      "0), %.0f PUT (member Lease renewals: ~%d expected)\n",
      patches_all, puts_all, replica_count * 30);
  if (startup_seconds)
    std::printf(
        "  start-up: every monitor polled by its owner %.0f s after the processes started\n",
        *startup_seconds);
  else
    std::printf("  start-up: not every monitor was polled by its owner within %lld s\n",
                static_cast<long long>(warm_up_limit.count()));
  replicas.stop_all();
  for (std::size_t r = 0; r < all.size(); ++r)
    std::printf("  replica %zu exit code after SIGTERM: %d\n", r, *all[r].exit_status);
  return warm ? 0 : 1;
}

}  // namespace

int shards_main(int argc, char** argv) {
  int replicas = 3;
  int per_replica = 10000;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--replicas") replicas = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--monitors-per-replica") per_replica = std::atoi(argv[i + 1]);
  }
  if (replicas < 1 || per_replica < 1) {
    std::fprintf(stderr, "shards: --replicas and --monitors-per-replica must be at least 1\n");
    return 2;
  }
  try {
    return run(replicas, per_replica);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "shards: %s\n", error.what());
    return 1;
  }
}

}  // namespace lagpilot::bench
