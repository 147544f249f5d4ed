#pragma once
// What the operator benchmarks share (bench_operator.cpp's modes, shards_bench.cpp): the local
// control plane with the CRDs and a "bench" namespace, QueueMonitor manifests, consumer groups in
// librdkafka's mock cluster, and reading an operator process's /proc figures and /metrics.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "controlplane/local_control_plane.h"
#include "kube/client.h"
#include "kube/rest_client.h"
#include "util/clock.h"

namespace lagpilot::bench {

// A QueueMonitor of consumer group `group` on topic "orders", scaling Deployment `target`.
kube::Json monitor(const std::string& name, const std::string& bootstrap, const std::string& group,
                   const std::string& target, int poll_seconds, const std::string& scaling);

struct Cluster {
  std::unique_ptr<controlplane::LocalControlPlane> plane;
  std::unique_ptr<kube::RestKubeClient> client;
  std::string run_dir;
};

// The local control plane in a temporary directory, the CRDs installed, namespace "bench" made;
// exits the bench when it cannot.
Cluster start_cluster(SystemClock& clock);

// A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"), -1 when absent.
long status_kib(pid_t pid, const std::string& field);
long rss_kib(pid_t pid);
// CPU time the process has used (user + system), in seconds.
double cpu_seconds(pid_t pid);
// The machine's 1-, 5- and 15-minute load averages (the other work on it skews every figure).
std::string load_average();
// The operator-wide series the benchmarks read from the operator's /metrics on `port`.
std::string operator_metrics_text(int port);
// Sums the samples of one metric family in Prometheus text, filtered by a label substring.
double metric_sum(const std::string& text, const std::string& name,
                  const std::string& label_filter = "");
// A free loopback TCP port.
int free_port();
// Commits offset 0 on `partitions` of `topic` for every group (bench_fixture.cpp).
void commit_groups_at_zero(const std::string& bootstrap, const std::vector<std::string>& groups,
                           const std::string& topic, int partitions);

// `bench_operator shards ...` (shards_bench.cpp): argv as main() got it.
int shards_main(int argc, char** argv);

}  // namespace lagpilot::bench
