#pragma once
// What a Kafka source test needs of a cluster, whichever it is: librdkafka's mock cluster
// (kafka_mock_fixture.h) or a real Apache Kafka broker (kafka_real_cluster.h). Header-only; link
// PkgConfig::RDKAFKA.
//
// KafkaTestClients are the librdkafka clients the tests write with (producer, committers, group
// members, admin requests); they talk the Kafka protocol, so they work against either cluster.
// Failures throw std::runtime_error.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lagpilot::testkit {

using KafkaTimePoint = std::chrono::system_clock::time_point;

inline void kafka_check(rd_kafka_resp_err_t err, const std::string& what) {
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("kafka test client " + what + ": " + rd_kafka_err2str(err));
  }
}

inline void kafka_silent_log(const rd_kafka_t*, int, const char*, const char*) {}

inline rd_kafka_t* new_kafka_client(rd_kafka_type_t type, const std::string& bootstrap,
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
      throw std::runtime_error("kafka test client " + key + ": " + errstr);
    }
  }
  rd_kafka_conf_set_log_cb(conf, &kafka_silent_log);
  if (delivery != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, delivery);
  rd_kafka_t* client = rd_kafka_new(type, conf, errstr, sizeof(errstr));
  if (client == nullptr) throw std::runtime_error(std::string("kafka test client: ") + errstr);
  return client;
}

// A consumer that subscribes to `topic` in `group` and keeps polling until destroyed: a real
// member of a classic consumer group. It commits only when told to.
class KafkaGroupMember {
 public:
  KafkaGroupMember(const std::string& bootstrap, const std::string& group, const std::string& topic,
                   const std::map<std::string, std::string>& extra = {})
      : consumer_(new_kafka_client(RD_KAFKA_CONSUMER, bootstrap, with_defaults(group, extra))) {
    rd_kafka_poll_set_consumer(consumer_);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    kafka_check(err, "subscribe");
    poller_ = std::thread([this] {
      while (!stop_.load()) {
        rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 50);
        if (message == nullptr) continue;
        if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++received_;
        rd_kafka_message_destroy(message);
      }
    });
  }
  ~KafkaGroupMember() { leave(); }
  KafkaGroupMember(const KafkaGroupMember&) = delete;
  KafkaGroupMember& operator=(const KafkaGroupMember&) = delete;

  // Stops polling and leaves the group (LeaveGroup); idempotent.
  void leave() {
    if (consumer_ == nullptr) return;
    stop_.store(true);
    poller_.join();
    rd_kafka_consumer_close(consumer_);
    rd_kafka_destroy(consumer_);
    consumer_ = nullptr;
  }
  // Whether the group has assigned this member partitions yet.
  bool has_assignment() {
    rd_kafka_topic_partition_list_t* assignment = nullptr;
    if (rd_kafka_assignment(consumer_, &assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) return false;
    const bool assigned = assignment->cnt > 0;
    rd_kafka_topic_partition_list_destroy(assignment);
    return assigned;
  }
  // Records consumed so far.
  int64_t received() const { return received_.load(); }
  // Commits the position after every record consumed so far (synchronous OffsetCommit).
  rd_kafka_resp_err_t commit_consumed() { return rd_kafka_commit(consumer_, nullptr, 0); }

 private:
  static std::map<std::string, std::string> with_defaults(
      const std::string& group, const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> properties = {
        {"group.id", group}, {"enable.auto.commit", "false"}, {"session.timeout.ms", "6000"}};
    for (const auto& [key, value] : extra) properties[key] = value;
    return properties;
  }

  rd_kafka_t* consumer_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> received_{0};
  std::thread poller_;
};

// Producer, committers and admin requests for one cluster (PLAINTEXT).
class KafkaTestClients {
 public:
  // `idempotent`: the producer writes each record exactly once and in order even when it
  // retries (a real broker; librdkafka's mock cluster is used without).
  explicit KafkaTestClients(std::string bootstrap, bool idempotent = false)
      : bootstrap_(std::move(bootstrap)), idempotent_(idempotent) {}
  ~KafkaTestClients() {
    for (auto& [group, consumer] : committers_) rd_kafka_destroy(consumer);
    if (producer_ != nullptr) rd_kafka_destroy(producer_);
    if (admin_ != nullptr) rd_kafka_destroy(admin_);
  }
  KafkaTestClients(const KafkaTestClients&) = delete;
  KafkaTestClients& operator=(const KafkaTestClients&) = delete;

  const std::string& bootstrap_servers() const { return bootstrap_; }

  // Appends one record per timestamp (CreateTime) to `partition`; returns the first record's
  // offset.
  int64_t produce(const std::string& topic, int32_t partition,
                  const std::vector<KafkaTimePoint>& timestamps) {
    rd_kafka_t* producer = this->producer();
    // Learn the leader first: a record queued before librdkafka knows it can sit for a second.
    rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
    const struct rd_kafka_metadata* metadata = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(producer, 0, topic_handle, &metadata, 10000);
    rd_kafka_topic_destroy(topic_handle);
    kafka_check(err, "producer metadata");
    rd_kafka_metadata_destroy(metadata);
    std::vector<int64_t> offsets(timestamps.size(), -1);
    for (std::size_t i = 0; i < timestamps.size(); ++i) {
      const int64_t ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(timestamps[i].time_since_epoch())
              .count();
      const std::string value = "record-" + std::to_string(i);
      kafka_check(rd_kafka_producev(
                      producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ms),
                      RD_KAFKA_V_OPAQUE(&offsets[i]), RD_KAFKA_V_END),
                  "produce");
    }
    kafka_check(rd_kafka_flush(producer, 30'000), "flush");
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      if (offsets[i] < 0) throw std::runtime_error("produce: a record was not delivered");
      if (offsets[i] != offsets[0] + static_cast<int64_t>(i)) {
        std::string landed;
        for (int64_t offset : offsets) landed += " " + std::to_string(offset);
        throw std::runtime_error("produce: records of " + topic + " [" + std::to_string(partition) +
                                 "] landed out of order, at offsets" + landed);
      }
    }
    return offsets.empty() ? -1 : offsets.front();
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
    kafka_check(err, "commit");
  }

  // Admin requests (CreateTopics, DeleteTopics, CreatePartitions), each waited for.
  void create_topic(const std::string& topic, int partitions) {
    char errstr[512];
    rd_kafka_NewTopic_t* new_topic =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, errstr, sizeof(errstr));
    if (new_topic == nullptr) throw std::runtime_error(std::string("new topic: ") + errstr);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(admin());
    AdminOptions options(admin(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(admin(), &new_topic, 1, options.get(), queue);
    rd_kafka_NewTopic_destroy(new_topic);
    finish_admin(queue, "create topic " + topic, [](rd_kafka_event_t* event, size_t* count) {
      return rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), count);
    });
    wait_for_partitions(topic, partitions);
  }

  void delete_topic(const std::string& topic) {
    rd_kafka_DeleteTopic_t* deleted = rd_kafka_DeleteTopic_new(topic.c_str());
    rd_kafka_queue_t* queue = rd_kafka_queue_new(admin());
    AdminOptions options(admin(), RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(admin(), &deleted, 1, options.get(), queue);
    rd_kafka_DeleteTopic_destroy(deleted);
    finish_admin(queue, "delete topic " + topic, [](rd_kafka_event_t* event, size_t* count) {
      return rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), count);
    });
    wait_for_partitions(topic, 0);
  }

  void add_partitions(const std::string& topic, int new_total) {
    char errstr[512];
    rd_kafka_NewPartitions_t* grown =
        rd_kafka_NewPartitions_new(topic.c_str(), new_total, errstr, sizeof(errstr));
    if (grown == nullptr) throw std::runtime_error(std::string("new partitions: ") + errstr);
    rd_kafka_queue_t* queue = rd_kafka_queue_new(admin());
    AdminOptions options(admin(), RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
    rd_kafka_CreatePartitions(admin(), &grown, 1, options.get(), queue);
    rd_kafka_NewPartitions_destroy(grown);
    finish_admin(queue, "add partitions to " + topic, [](rd_kafka_event_t* event, size_t* count) {
      return rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(event),
                                                     count);
    });
    wait_for_partitions(topic, new_total);
  }

  // What DescribeConsumerGroups (librdkafka's DescribeGroups) answers for `group`.
  struct GroupDescription {
    rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string error_text;
    std::string state;
    int members = -1;
  };
  GroupDescription describe_group(const std::string& group) {
    rd_kafka_queue_t* queue = rd_kafka_queue_new(admin());
    AdminOptions options(admin(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    const char* groups[] = {group.c_str()};
    rd_kafka_DescribeConsumerGroups(admin(), groups, 1, options.get(), queue);
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60'000);
    rd_kafka_queue_destroy(queue);
    if (event == nullptr) throw std::runtime_error("describe group " + group + ": no answer");
    GroupDescription description;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      description.error = rd_kafka_event_error(event);
      description.error_text = rd_kafka_event_error_string(event);
    } else {
      size_t count = 0;
      const rd_kafka_ConsumerGroupDescription_t** described =
          rd_kafka_DescribeConsumerGroups_result_groups(
              rd_kafka_event_DescribeConsumerGroups_result(event), &count);
      if (count == 1) {
        if (const rd_kafka_error_t* error = rd_kafka_ConsumerGroupDescription_error(described[0])) {
          description.error = rd_kafka_error_code(error);
          description.error_text = rd_kafka_error_string(error);
        }
        description.state = rd_kafka_consumer_group_state_name(
            rd_kafka_ConsumerGroupDescription_state(described[0]));
        description.members =
            static_cast<int>(rd_kafka_ConsumerGroupDescription_member_count(described[0]));
      }
    }
    rd_kafka_event_destroy(event);
    return description;
  }

  // Partitions of `topic` with a leader, from a fresh Metadata request (0: unknown topic).
  int led_partitions(const std::string& topic) {
    rd_kafka_topic_t* topic_handle = rd_kafka_topic_new(admin(), topic.c_str(), nullptr);
    const struct rd_kafka_metadata* metadata = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(admin(), 0, topic_handle, &metadata, 10000);
    rd_kafka_topic_destroy(topic_handle);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    int led = 0;
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      if (topic != metadata->topics[t].topic || metadata->topics[t].err) continue;
      for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
        if (metadata->topics[t].partitions[p].leader >= 0) ++led;
      }
    }
    rd_kafka_metadata_destroy(metadata);
    return led;
  }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR && message->_private != nullptr) {
      *static_cast<int64_t*>(message->_private) = message->offset;
    }
  }

  rd_kafka_t* producer() {
    if (producer_ == nullptr) {
      // Record i must land at offset first + i: one request in flight, so that a retried batch
      // cannot overtake the next, and on a real broker idempotence, so that a retry whose first
      // attempt was written after all is not written twice.
      producer_ = new_kafka_client(RD_KAFKA_PRODUCER, bootstrap_,
                                   {{"linger.ms", "0"},
                                    {"enable.idempotence", idempotent_ ? "true" : "false"},
                                    {"max.in.flight.requests.per.connection", "1"}},
                                   &KafkaTestClients::on_delivery);
    }
    return producer_;
  }

  rd_kafka_t* committer(const std::string& group) {
    auto& consumer = committers_[group];
    if (consumer == nullptr) {
      consumer = new_kafka_client(RD_KAFKA_CONSUMER, bootstrap_,
                                  {{"group.id", group}, {"enable.auto.commit", "false"}});
    }
    return consumer;
  }

  rd_kafka_t* admin() {
    if (admin_ == nullptr) admin_ = new_kafka_client(RD_KAFKA_PRODUCER, bootstrap_, {});
    return admin_;
  }

  class AdminOptions {
   public:
    AdminOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op)
        : options_(rd_kafka_AdminOptions_new(rk, op)) {
      char errstr[256];
      rd_kafka_AdminOptions_set_request_timeout(options_, 30'000, errstr, sizeof(errstr));
      rd_kafka_AdminOptions_set_operation_timeout(options_, 30'000, errstr, sizeof(errstr));
    }
    ~AdminOptions() { rd_kafka_AdminOptions_destroy(options_); }
    AdminOptions(const AdminOptions&) = delete;
    AdminOptions& operator=(const AdminOptions&) = delete;
    rd_kafka_AdminOptions_t* get() { return options_; }

   private:
    rd_kafka_AdminOptions_t* options_;
  };

  template <typename Topics>
  void finish_admin(rd_kafka_queue_t* queue, const std::string& what, Topics topics_of) {
    rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 60'000);
    rd_kafka_queue_destroy(queue);
    if (event == nullptr) throw std::runtime_error(what + ": no answer");
    std::string error;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = rd_kafka_event_error_string(event);
    } else {
      size_t count = 0;
      const rd_kafka_topic_result_t** topics = topics_of(event, &count);
      for (size_t i = 0; i < count; ++i) {
        if (rd_kafka_topic_result_error(topics[i]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          error = rd_kafka_err2str(rd_kafka_topic_result_error(topics[i]));
        }
      }
    }
    rd_kafka_event_destroy(event);
    if (!error.empty()) throw std::runtime_error(what + ": " + error);
  }

  // The controller answers before every broker's metadata shows the change.
  void wait_for_partitions(const std::string& topic, int partitions) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (led_partitions(topic) != partitions) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("topic " + topic + " did not reach " + std::to_string(partitions) +
                                 " led partitions");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::string bootstrap_;
  bool idempotent_;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_t* admin_ = nullptr;
  std::map<std::string, rd_kafka_t*> committers_;
};

// A cluster as the shared Kafka source tests see it.
class KafkaTestCluster {
 public:
  virtual ~KafkaTestCluster() = default;

  virtual std::string kind() const = 0;  // "mock" | "broker"
  virtual std::string bootstrap_servers() const = 0;
  virtual void create_topic(const std::string& topic, int partitions) = 0;
  virtual int64_t produce(const std::string& topic, int32_t partition,
                          const std::vector<KafkaTimePoint>& timestamps) = 0;
  virtual void commit(const std::string& group, const std::string& topic,
                      const std::map<int32_t, int64_t>& offsets) = 0;
  // After this, metadata reports `topic` as unknown (a topic never created, on a real broker).
  virtual void make_topic_unknown(const std::string& topic) = 0;
  // Whether DescribeGroups answers (the mock cluster does not implement it).
  virtual bool describes_groups() const = 0;

  // `count` records, the first at `first`, then every `spacing`.
  int64_t produce(const std::string& topic, int32_t partition, int count, KafkaTimePoint first,
                  std::chrono::milliseconds spacing = std::chrono::milliseconds(1000)) {
    std::vector<KafkaTimePoint> timestamps;
    for (int i = 0; i < count; ++i) timestamps.push_back(first + i * spacing);
    return produce(topic, partition, timestamps);
  }
};

}  // namespace lagpilot::testkit
