#pragma once
// A real Apache Kafka broker (controlplane/kafka/, started by controlplane::KafkaBroker) as a
// KafkaTestCluster. Test clients write over PLAINTEXT; the broker also has a SASL_SSL listener.
// Link lagpilot_kafka_broker and PkgConfig::RDKAFKA.
#include <memory>
#include <string>

#include "controlplane/kafka_broker.h"
#include "tests/sources/kafka/kafka_test_cluster.h"

namespace lagpilot::testkit {

class KafkaRealCluster final : public KafkaTestCluster {
 public:
  explicit KafkaRealCluster(controlplane::KafkaBroker& broker)
      : broker_(broker), clients_(broker.bootstrap_plaintext(), /*idempotent=*/true) {}

  std::string kind() const override { return "broker"; }
  std::string bootstrap_servers() const override { return broker_.bootstrap_plaintext(); }
  bool describes_groups() const override { return true; }
  void create_topic(const std::string& topic, int partitions) override {
    clients_.create_topic(topic, partitions);
  }
  using KafkaTestCluster::produce;
  int64_t produce(const std::string& topic, int32_t partition,
                  const std::vector<KafkaTimePoint>& timestamps) override {
    return clients_.produce(topic, partition, timestamps);
  }
  void commit(const std::string& group, const std::string& topic,
              const std::map<int32_t, int64_t>& offsets) override {
    clients_.commit(group, topic, offsets);
  }
  // The broker creates no topic on request (auto.create.topics.enable=false).
  void make_topic_unknown(const std::string&) override {}

  void delete_topic(const std::string& topic) { clients_.delete_topic(topic); }
  void add_partitions(const std::string& topic, int new_total) {
    clients_.add_partitions(topic, new_total);
  }
  controlplane::KafkaBroker& broker() { return broker_; }
  KafkaTestClients& clients() { return clients_; }

 private:
  controlplane::KafkaBroker& broker_;
  KafkaTestClients clients_;
};

}  // namespace lagpilot::testkit
