#include "tools/demo/demo_backend.h"

#include "tools/demo/demo_kafka.h"

namespace lagpilot::demo {
namespace {

constexpr const char* kTopic = "orders";
constexpr const char* kGroup = "order-processor";
constexpr int kPartitions = 12;

// --source kafka (the default): librdkafka's mock cluster in this process, topic "orders" with 12
// partitions, the assign-based consumer fleet of demo_kafka.h committing to "order-processor".
class KafkaBackend final : public DemoBackend {
 public:
  KafkaBackend(std::unique_ptr<MockKafkaCluster> cluster, const BackendSettings& settings)
      : cluster_(std::move(cluster)),
        fleet_(std::make_unique<ConsumerFleet>(*cluster_, kGroup, settings.per_replica_rate)),
        rate_(settings.per_replica_rate) {}
  ~KafkaBackend() override { KafkaBackend::stop_clients(); }

  std::string description() const override {
    return "mock Kafka: 3 brokers at " + cluster_->bootstrap_servers() + ", topic " + kTopic +
           " (" + std::to_string(kPartitions) + " partitions)";
  }
  std::string server_name() const override { return "mock Kafka"; }
  std::string source_yaml() const override {
    return std::string("    kafka:\n") + "      bootstrapServers: \"" +
           cluster_->bootstrap_servers() + "\"\n      topic: " + kTopic +
           "\n      consumerGroup: " + kGroup +
           "\n      offsetResetPolicy: earliest\n      lagSecondsMethod: fetch\n";
  }
  std::string consumer_description() const override {
    return "one librdkafka consumer per ready replica, " + std::to_string(static_cast<int>(rate_)) +
           " msg/s each";
  }
  BackendTraits traits() const override {
    BackendTraits traits;
    traits.partitions = kPartitions;
    traits.commit_interval = std::chrono::duration<double>(kCommitInterval).count();
    traits.group_members_visible = false;  // the mock cannot describe groups
    return traits;
  }

  Status start_producer(const LoadPattern& pattern, std::uint64_t seed) override {
    producer_ = std::make_unique<LoadProducer>(*cluster_, pattern, seed);
    return producer_->start();
  }
  std::int64_t produced() const override { return producer_ ? producer_->produced() : 0; }
  void stop_producer() override {
    if (producer_) producer_->stop();
  }

  void set_replicas(int replicas) override { fleet_->set_replicas(replicas); }
  int running() const override { return fleet_->running(); }
  std::int64_t processed() const override { return fleet_->processed(); }
  std::vector<double> consumer_start_pauses() const override {
    return fleet_->reassignment_pauses();
  }
  std::vector<ConsumerChange> running_changes() const override {
    std::vector<ConsumerChange> changes;
    for (const auto& change : fleet_->running_changes()) {
      changes.push_back({change.time, change.running});
    }
    return changes;
  }

  void stop_clients() override {
    stop_producer();
    fleet_->stop();
  }

 private:
  std::unique_ptr<MockKafkaCluster> cluster_;
  std::unique_ptr<ConsumerFleet> fleet_;
  double rate_;
  std::unique_ptr<LoadProducer> producer_;
};

}  // namespace

std::string source_name(DemoSource source) {
  switch (source) {
    case DemoSource::kKafka:
      return "kafka";
    case DemoSource::kRabbitMq:
      return "rabbitmq";
    case DemoSource::kRedis:
      return "redis";
    case DemoSource::kNats:
      return "nats";
  }
  return "kafka";
}

Result<DemoSource> parse_demo_source(const std::string& text) {
  for (DemoSource source :
       {DemoSource::kKafka, DemoSource::kRabbitMq, DemoSource::kRedis, DemoSource::kNats}) {
    if (text == source_name(source)) return source;
  }
  return Error{"InvalidFlag", "\"" + text + "\" is not one of kafka, rabbitmq, redis, nats"};
}

Result<std::unique_ptr<DemoBackend>> start_kafka_backend(const BackendSettings& settings) {
  auto cluster = MockKafkaCluster::start(kTopic, kPartitions);
  if (!cluster) return Error{cluster.error().code, "mock Kafka: " + cluster.error().message};
  return std::unique_ptr<DemoBackend>(
      std::make_unique<KafkaBackend>(std::move(*cluster), settings));
}

Result<std::unique_ptr<DemoBackend>> start_demo_backend(DemoSource source,
                                                        const BackendSettings& settings) {
  switch (source) {
    case DemoSource::kRabbitMq:
      return start_rabbitmq_backend(settings);
    case DemoSource::kRedis:
      return start_redis_backend(settings);
    case DemoSource::kNats:
      return start_nats_backend(settings);
    case DemoSource::kKafka:
      break;
  }
  return start_kafka_backend(settings);
}

}  // namespace lagpilot::demo
