#pragma once
// A Kafka cluster for tests: librdkafka's mock cluster (real Kafka protocol on loopback, in this
// process, no Kafka install). Self-contained, for any test binary:
//   #include "tests/metrics/kafka_mock_fixture.h"   and link PkgConfig::RDKAFKA.
//
//   lagpilot::testkit::KafkaMockCluster kafka;          // 3 brokers
//   kafka.create_topic("orders", 4);
//   kafka.produce("orders", 0, {t0, t0 + 1s, t0 + 2s});  // offsets 0..2, these timestamps
//   kafka.commit("order-processor", "orders", {{0, 1}});
//   ... point a source at kafka.bootstrap_servers() ...
//   kafka.set_all_brokers_down();
//
// Failures throw std::runtime_error. What the mock cannot do (librdkafka 2.0.2): DescribeGroups
// and ListGroups (sources report consumers as unknown), SASL, TLS, retention/DeleteRecords (the
// low watermark stays 0); it auto-creates any topic a client asks about (make_topic_unknown()).
// Destroying a mock cluster can take librdkafka a second: share one per test suite where the
// tests do not take brokers down.
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

namespace lagpilot::testkit {

class KafkaMockCluster {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

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
  }

  ~KafkaMockCluster() {
    members_.clear();
    for (auto& [group, consumer] : committers_) rd_kafka_destroy(consumer);
    if (producer_ != nullptr) rd_kafka_destroy(producer_);
    with_broker_wakeups([this] { rd_kafka_mock_cluster_destroy(cluster_); });
    rd_kafka_destroy(host_);
  }

  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  const std::string& bootstrap_servers() const { return bootstrap_servers_; }
  int broker_count() const { return broker_count_; }  // broker ids are 1..broker_count
  rd_kafka_mock_cluster_t* handle() { return cluster_; }

  void create_topic(const std::string& topic, int partitions) {
    check(with_broker_wakeups(
              [&] { return rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1); }),
          "create topic");
  }

  // Appends one record per timestamp (CreateTime) to `partition`; returns the first record's
  // offset. Offsets on a fresh partition start at 0.
  int64_t produce(const std::string& topic, int32_t partition,
                  const std::vector<TimePoint>& timestamps) {
    rd_kafka_t* producer = this->producer();
    // Learn the leader first: a record queued before librdkafka knows it can sit for a second.
    rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
    const struct rd_kafka_metadata* metadata = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(producer, 0, topic_handle, &metadata, 5000);
    rd_kafka_topic_destroy(topic_handle);
    check(err, "producer metadata");
    rd_kafka_metadata_destroy(metadata);
    std::vector<int64_t> offsets(timestamps.size(), -1);
    for (std::size_t i = 0; i < timestamps.size(); ++i) {
      const int64_t ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(timestamps[i].time_since_epoch())
              .count();
      const std::string value = "record-" + std::to_string(i);
      check(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ms),
                              RD_KAFKA_V_OPAQUE(&offsets[i]), RD_KAFKA_V_END),
            "produce");
    }
    check(rd_kafka_flush(producer, 10'000), "flush");
    for (int64_t offset : offsets) {
      if (offset < 0) throw std::runtime_error("produce: a record was not delivered");
    }
    return offsets.empty() ? -1 : offsets.front();
  }

  // `count` records, the first at `first`, then every `spacing`.
  int64_t produce(const std::string& topic, int32_t partition, int count, TimePoint first,
                  std::chrono::milliseconds spacing = std::chrono::milliseconds(1000)) {
    std::vector<TimePoint> timestamps;
    for (int i = 0; i < count; ++i) timestamps.push_back(first + i * spacing);
    return produce(topic, partition, timestamps);
  }

  // Commits exactly these offsets for `group` (no subscription, no membership).
  void commit(const std::string& group, const std::string& topic,
              const std::map<int32_t, int64_t>& offsets) {
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
    for (const auto& [partition, offset] : offsets) {
      rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
    }
    const rd_kafka_resp_err_t err = rd_kafka_commit(committer(group), list, 0);
    rd_kafka_topic_partition_list_destroy(list);
    check(err, "commit");
  }

  // A consumer that subscribes to `topic` in `group` and keeps polling until destroyed.
  class GroupMember {
   public:
    GroupMember(const std::string& bootstrap, const std::string& group, const std::string& topic)
        : consumer_(new_client(RD_KAFKA_CONSUMER, bootstrap,
                               {{"group.id", group},
                                {"enable.auto.commit", "false"},
                                {"session.timeout.ms", "6000"}})) {
      rd_kafka_poll_set_consumer(consumer_);
      rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
      const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_, topics);
      rd_kafka_topic_partition_list_destroy(topics);
      check(err, "subscribe");
      poller_ = std::thread([this] {
        while (!stop_.load()) {
          rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 50);
          if (message == nullptr) continue;
          if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++received_;
          rd_kafka_message_destroy(message);
        }
      });
    }
    ~GroupMember() {
      stop_.store(true);
      poller_.join();
      rd_kafka_consumer_close(consumer_);
      rd_kafka_destroy(consumer_);
    }
    // Whether the group has assigned this member partitions yet.
    bool has_assignment() {
      rd_kafka_topic_partition_list_t* assignment = nullptr;
      if (rd_kafka_assignment(consumer_, &assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
      const bool assigned = assignment->cnt > 0;
      rd_kafka_topic_partition_list_destroy(assignment);
      return assigned;
    }

   private:
    rd_kafka_t* consumer_;
    std::atomic<bool> stop_{false};
    std::atomic<int64_t> received_{0};
    std::thread poller_;
  };

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
  void make_topic_unknown(const std::string& topic) {
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

  static void silent_log(const rd_kafka_t*, int, const char*, const char*) {}

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->_private != nullptr) {
      *static_cast<int64_t*>(message->_private) = message->offset;
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

  static rd_kafka_t* new_client(rd_kafka_type_t type, const std::string& bootstrap,
                                const std::map<std::string, std::string>& properties,
                                void (*delivery)(rd_kafka_t*, const rd_kafka_message_t*,
                                                 void*) = nullptr) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[512];
    auto all = properties;
    all["bootstrap.servers"] = bootstrap;
    for (const auto& [key, value] : all) {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        throw std::runtime_error("kafka mock client " + key + ": " + errstr);
      }
    }
    rd_kafka_conf_set_log_cb(conf, &KafkaMockCluster::silent_log);
    if (delivery != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, delivery);
    rd_kafka_t* client = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (client == nullptr) throw std::runtime_error(std::string("kafka mock client: ") + errstr);
    return client;
  }

  rd_kafka_t* producer() {
    if (producer_ == nullptr) {
      producer_ = new_client(RD_KAFKA_PRODUCER, bootstrap_servers_,
                             {{"linger.ms", "0"}, {"enable.idempotence", "false"}},
                             &KafkaMockCluster::on_delivery);
    }
    return producer_;
  }

  rd_kafka_t* committer(const std::string& group) {
    auto& consumer = committers_[group];
    if (consumer == nullptr) {
      consumer = new_client(RD_KAFKA_CONSUMER, bootstrap_servers_,
                            {{"group.id", group}, {"enable.auto.commit", "false"}});
    }
    return consumer;
  }

  int broker_count_;
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_servers_;
  rd_kafka_t* producer_ = nullptr;
  std::map<std::string, rd_kafka_t*> committers_;
  std::vector<std::unique_ptr<GroupMember>> members_;
  mutable std::mutex counts_mutex_;
  std::map<std::string, int64_t> request_counts_;
};

}  // namespace lagpilot::testkit
