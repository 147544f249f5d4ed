#pragma once
// A Kafka cluster for tests: librdkafka's mock cluster (real Kafka protocol on loopback, in this
// process, no Kafka install). Self-contained, for any test binary:
//   #include "tests/sources/kafka/kafka_mock_fixture.h"   and link PkgConfig::RDKAFKA.
//
//   lagpilot::testkit::KafkaMockCluster kafka;          // 3 brokers
//   kafka.create_topic("orders", 4);
//   kafka.produce("orders", 0, {t0, t0 + 1s, t0 + 2s});  // offsets 0..2, these timestamps
//   kafka.commit("order-processor", "orders", {{0, 1}});
//   ... point a source at kafka.bootstrap_servers() ...
//   kafka.set_all_brokers_down();
//
// It is a KafkaTestCluster (kafka_test_cluster.h): the shared Kafka source cases run against it
// and against a real broker. Failures throw std::runtime_error. What the mock cannot do
// (librdkafka 2.0.2): DescribeGroups and ListGroups (sources report consumers as unknown), SASL,
// TLS, retention/DeleteRecords (the low watermark stays 0); it auto-creates any topic a client asks
// about (make_topic_unknown()). Destroying a mock cluster can take librdkafka a second: share one
// per test suite where the tests do not take brokers down.
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "tests/sources/kafka/kafka_test_cluster.h"

namespace lagpilot::testkit {

class KafkaMockCluster final : public KafkaTestCluster {
 public:
  using TimePoint = KafkaTimePoint;

  explicit KafkaMockCluster(int broker_count = 3) : broker_count_(broker_count) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[512];
    // "mock" debug logs every request the brokers receive; request_counts() tallies them.
    if (rd_kafka_conf_set(conf, "debug", "mock", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("mock debug: ") + errstr);
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_log_cb(conf, &KafkaMockCluster::on_mock_log);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (host_ == nullptr) throw std::runtime_error(std::string("mock host: ") + errstr);
    cluster_ = rd_kafka_mock_cluster_new(host_, broker_count);
    if (cluster_ == nullptr) {
      rd_kafka_destroy(host_);
      throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    }
    bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    clients_ = std::make_unique<KafkaTestClients>(bootstrap_servers_);
  }

  ~KafkaMockCluster() {
    members_.clear();
    clients_.reset();
    with_broker_wakeups([this] { rd_kafka_mock_cluster_destroy(cluster_); });
    rd_kafka_destroy(host_);
  }

  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  std::string kind() const override { return "mock"; }
  std::string bootstrap_servers() const override { return bootstrap_servers_; }
  bool describes_groups() const override { return false; }
  int broker_count() const { return broker_count_; }  // broker ids are 1..broker_count
  rd_kafka_mock_cluster_t* handle() { return cluster_; }

  void create_topic(const std::string& topic, int partitions) override {
    check(with_broker_wakeups(
              [&] { return rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1); }),
          "create topic");
  }

  // Appends one record per timestamp (CreateTime) to `partition`; returns the first record's
  // offset. Offsets on a fresh partition start at 0.
  using KafkaTestCluster::produce;
  int64_t produce(const std::string& topic, int32_t partition,
                  const std::vector<TimePoint>& timestamps) override {
    return clients_->produce(topic, partition, timestamps);
  }

  // Commits exactly these offsets for `group` (no subscription, no membership).
  void commit(const std::string& group, const std::string& topic,
              const std::map<int32_t, int64_t>& offsets) override {
    clients_->commit(group, topic, offsets);
  }

  // A consumer that subscribes to `topic` in `group` and keeps polling until destroyed.
  using GroupMember = KafkaGroupMember;

  GroupMember& join_group(const std::string& group, const std::string& topic) {
    members_.push_back(std::make_unique<GroupMember>(bootstrap_servers_, group, topic));
    return *members_.back();
  }

  void set_broker_down(int32_t broker_id) {
    check(with_broker_wakeups([&] { return rd_kafka_mock_broker_set_down(cluster_, broker_id); }),
          "broker down");
  }
  void set_broker_up(int32_t broker_id) {
    check(with_broker_wakeups([&] { return rd_kafka_mock_broker_set_up(cluster_, broker_id); }),
          "broker up");
  }
  void set_all_brokers_down() {
    for (int id = 1; id <= broker_count_; ++id) set_broker_down(id);
  }
  void set_all_brokers_up() {
    for (int id = 1; id <= broker_count_; ++id) set_broker_up(id);
  }
  // Metadata then reports `topic` as unknown, as a real cluster without auto-creation would (the
  // mock otherwise creates any topic a client asks about).
  void make_topic_unknown(const std::string& topic) override {
    with_broker_wakeups([&] {
      rd_kafka_mock_topic_set_error(cluster_, topic.c_str(),
                                    RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    });
  }
  void set_partition_leader(const std::string& topic, int32_t partition, int32_t broker_id) {
    check(with_broker_wakeups([&] {
            return rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition,
                                                      broker_id);
          }),
          "partition leader");
  }
  void set_group_coordinator(const std::string& group, int32_t broker_id) {
    check(with_broker_wakeups([&] {
            return rd_kafka_mock_coordinator_set(cluster_, "group", group.c_str(), broker_id);
          }),
          "coordinator");
  }

  // Requests the brokers received since the last reset, by API name ("Metadata", "ListOffsets",
  // "OffsetFetch", "Fetch", "FindCoordinator", ...). Includes this fixture's own clients.
  std::map<std::string, int64_t> request_counts() const {
    std::lock_guard lock(counts_mutex_);
    return request_counts_;
  }
  int64_t requests_total() const {
    int64_t total = 0;
    for (const auto& [api, count] : request_counts()) total += count;
    return total;
  }
  void reset_request_counts() {
    std::lock_guard lock(counts_mutex_);
    request_counts_.clear();
  }

 private:
  static void check(rd_kafka_resp_err_t err, const char* what) {
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(std::string("kafka mock ") + what + ": " + rd_kafka_err2str(err));
    }
  }

  // librdkafka 2.0.2's mock thread can sleep through a command (topic creation, broker down, ...)
  // for up to a second; a connection to any broker wakes it. Runs `command` while poking them.
  template <typename Command>
  std::invoke_result_t<Command> with_broker_wakeups(Command command) const {
    std::atomic<bool> done{false};
    std::thread waker([this, &done] {
      while (!done.load()) {
        wake_brokers();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    struct StopWaker {
      std::atomic<bool>& done;
      std::thread& waker;
      ~StopWaker() {
        done.store(true);
        waker.join();
      }
    } stop{done, waker};
    return command();
  }

  void wake_brokers() const {
    std::stringstream servers(bootstrap_servers_);
    for (std::string server; std::getline(servers, server, ',');) {
      const auto colon = server.rfind(':');
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(std::stoi(server.substr(colon + 1))));
      if (inet_pton(AF_INET, server.substr(0, colon).c_str(), &address.sin_addr) != 1) continue;
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) continue;
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
      close(fd);
    }
  }

  static void on_mock_log(const rd_kafka_t* rk, int, const char*, const char* line) {
    const char* received = std::strstr(line, "Received ");
    if (received == nullptr) return;
    received += std::strlen("Received ");
    const char* end = std::strstr(received, "Request");
    if (end == nullptr) return;
    auto* self = static_cast<KafkaMockCluster*>(rd_kafka_opaque(rk));
    std::lock_guard lock(self->counts_mutex_);
    ++self->request_counts_[std::string(received, end)];
  }

  int broker_count_;
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_servers_;
  std::unique_ptr<KafkaTestClients> clients_;
  std::vector<std::unique_ptr<GroupMember>> members_;
  mutable std::mutex counts_mutex_;
  std::map<std::string, int64_t> request_counts_;
};

}  // namespace lagpilot::testkit
