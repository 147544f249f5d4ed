// What the operator benchmarks share (bench_fixture.h).
#include "bench/operator/bench_fixture.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "controlplane/crds.h"
#include "controlplane/test_support.h"

namespace lagpilot::bench {

using kube::Json;
using std::chrono::milliseconds;

Json monitor(const std::string& name, const std::string& bootstrap, const std::string& group,
             const std::string& target, int poll_seconds, const std::string& scaling) {
  return Json::parse(
      R"({"apiVersion":"lagpilot.io/v1alpha1","kind":"QueueMonitor","metadata":{"name":")" + name +
      R"("},"spec":{"source":{"kafka":{"bootstrapServers":")" + bootstrap +
      R"(","topic":"orders","consumerGroup":")" + group + R"("}},"pollIntervalSeconds":)" +
      std::to_string(poll_seconds) +
      R"(,"target":{"apiVersion":"apps/v1","kind":"Deployment","name":")" + target +
      R"("},"scaling":)" + scaling + "}}");
}

Cluster start_cluster(SystemClock& clock) {
  Cluster cluster;
  cluster.run_dir =
      std::filesystem::temp_directory_path() / ("lagpilot-bench-" + std::to_string(::getpid()));
  std::fprintf(stderr, "starting the local control plane in %s ...\n", cluster.run_dir.c_str());
  auto plane =
      controlplane::LocalControlPlane::start(LAGPILOT_SOURCE_DIR "/controlplane", cluster.run_dir);
  if (!plane) {
    std::fprintf(stderr, "%s\n", plane.error().message.c_str());
    std::exit(1);
  }
  cluster.plane = std::move(*plane);
  kube::ClientOptions options;
  cluster.client = kube::RestKubeClient::from_config(cluster.plane->admin_config(), clock, options);
  auto crds = controlplane::install_crds(*cluster.client, LAGPILOT_SOURCE_DIR "/crds");
  if (!crds) {
    std::fprintf(stderr, "%s\n", crds.error().message.c_str());
    std::exit(1);
  }
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "bench"}}}};
  (void)cluster.client->create(kube::resources::kNamespaces, "", ns);
  return cluster;
}

long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

long rss_kib(pid_t pid) { return status_kib(pid, "VmRSS"); }

double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The machine's 1-minute load average (the other work on it skews every figure).
std::string load_average() {
  std::ifstream loadavg("/proc/loadavg");
  std::string one, five, fifteen;
  loadavg >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// The operator-wide series the benchmark reads (run_command keeps 64 KiB, and 1,000 monitors'
// own series are far more than that).
std::string operator_metrics_text(int port) {
  auto out =
      controlplane::run_command("curl -s http://127.0.0.1:" + std::to_string(port) +
                                "/metrics | grep -E "
                                "'^lagpilot_(source_polls_total|kube_requests_total|"
                                "workqueue_wait_seconds|workqueue_depth|status_writes_pending)'");
  return out.output;
}

double metric_sum(const std::string& text, const std::string& name,
                  const std::string& label_filter) {
  std::istringstream lines(text);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0) continue;
    if (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' ') continue;
    if (!label_filter.empty() && line.find(label_filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

int free_port() {
  auto out = controlplane::run_command(
      "python3 -c 'import "
      "socket;s=socket.socket();s.bind((\"127.0.0.1\",0));print(s.getsockname()[1])'");
  return std::stoi(out.output);
}

// Commits offset 0 on `partitions` of `topic` for every group, through one admin client
// (AlterConsumerGroupOffsets, up to 200 groups in flight): no client per group, so 10,000 groups
// cost one connection set. A group whose commit fails (e.g. "Waiting for coordinator" while the
// mock cluster is busy) is retried, up to 20 times with a growing pause.
void commit_groups_at_zero(const std::string& bootstrap, const std::vector<std::string>& groups,
                           const std::string& topic, int partitions) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr));
  rd_kafka_t* admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (admin == nullptr) throw std::runtime_error(std::string("kafka admin client: ") + errstr);
  rd_kafka_queue_t* results = rd_kafka_queue_new(admin);
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(admin, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
  rd_kafka_AdminOptions_set_request_timeout(options, 30'000, errstr, sizeof(errstr));
  std::deque<std::string> to_send(groups.begin(), groups.end());
  std::map<std::string, int> attempts;
  std::size_t in_flight = 0;
  std::size_t done = 0;
  const auto send = [&](const std::string& group) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p)
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = 0;
    rd_kafka_AlterConsumerGroupOffsets_t* alter =
        rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_AlterConsumerGroupOffsets(admin, &alter, 1, options, results);
    rd_kafka_AlterConsumerGroupOffsets_destroy(alter);
    ++attempts[group];
    ++in_flight;
  };
  while (done < groups.size()) {
    while (in_flight < 200 && !to_send.empty()) {
      send(to_send.front());
      to_send.pop_front();
    }
    rd_kafka_event_t* event = rd_kafka_queue_poll(results, 60'000);
    if (event == nullptr) throw std::runtime_error("kafka mock commit: no answer in 60 s");
    --in_flight;
    std::size_t count = 0;
    const rd_kafka_group_result_t** answered = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(event), &count);
    for (std::size_t i = 0; i < count; ++i) {
      std::string group = rd_kafka_group_result_name(answered[i]);
      std::string error;
      if (const rd_kafka_error_t* e = rd_kafka_group_result_error(answered[i]))
        error = rd_kafka_error_string(e);
      const rd_kafka_topic_partition_list_t* offsets =
          rd_kafka_group_result_partitions(answered[i]);
      for (int p = 0; error.empty() && offsets != nullptr && p < offsets->cnt; ++p)
        if (offsets->elems[p].err) error = rd_kafka_err2str(offsets->elems[p].err);
      if (error.empty()) {
        ++done;
      } else if (attempts[group] >= 20) {
        throw std::runtime_error("kafka mock commit of " + group + ": " + error);
      } else {
        std::this_thread::sleep_for(milliseconds(50 * attempts[group]));  // the mock catches up
        to_send.push_back(group);
      }
    }
    if (count == 0 && rd_kafka_event_error(event))
      throw std::runtime_error(std::string("kafka mock commit: ") +
                               rd_kafka_event_error_string(event));
    rd_kafka_event_destroy(event);
    if (done % 1000 == 0) std::fprintf(stderr, "\r  committed %zu/%zu groups", done, groups.size());
  }
  std::fprintf(stderr, "\n");
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(results);
  rd_kafka_destroy(admin);
}

}  // namespace lagpilot::bench
