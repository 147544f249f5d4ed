#pragma once
// What the demo runs its load through (--source): the queue, its producer and its consumers.
//   kafka     librdkafka's mock cluster in this process (tools/demo/demo_kafka.h), the default
//   rabbitmq  Debian's rabbitmq-server, queue "orders"; consumers basic.consume + basic.ack
//   redis     Debian's redis-server, stream "orders", group "order-processor"; XREADGROUP + XACK
//   nats      Debian's nats-server -js, stream ORDERS, pull consumer "order-processor"; fetch + ack
// The servers run on free 127.0.0.1 ports with their files in a directory of the run dir and are
// stopped by pid (tools/demo/demo_servers.h). The client libraries stay in the .cpp files.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/demo/load_pattern.h"
#include "util/result.h"

namespace lagpilot::demo {

enum class DemoSource { kKafka, kRabbitMq, kRedis, kNats };

// "kafka", "rabbitmq", "redis", "nats".
std::string source_name(DemoSource source);
// The --source value; the error lists the accepted ones.
Result<DemoSource> parse_demo_source(const std::string& text);

struct BackendSettings {
  std::string work_dir;           // where a server keeps its files and log (made if missing)
  double per_replica_rate = 150;  // msg/s one consumer processes
  int max_replicas = 10;          // the QueueMonitor's maxReplicas (a queue's consumer cap)
};

// Figures the recording's header needs (tools/demo/recording.h).
struct BackendTraits {
  int partitions = 0;                  // consumers that can work at once (a queue: no cap)
  double commit_interval = 0;          // s between a consumer's commits / acknowledgements
  bool group_members_visible = false;  // whether the operator's polls count the consumers
};

struct ConsumerChange {
  std::chrono::steady_clock::time_point time;
  int running = 0;
};

class DemoBackend {
 public:
  virtual ~DemoBackend() = default;  // stops everything, the server last

  // One line for the set-up output: "redis-server 7.0 at 127.0.0.1:41234, stream orders ...".
  virtual std::string description() const = 0;
  // What the shut-down line calls it: "mock Kafka", "redis-server".
  virtual std::string server_name() const = 0;
  // The QueueMonitor's spec.source member as YAML lines indented by 4 ("    redisStreams:\n...").
  virtual std::string source_yaml() const = 0;
  // What a consumer does, for the Deployment's annotation and the set-up line.
  virtual std::string consumer_description() const = 0;
  virtual BackendTraits traits() const = 0;

  // The seeded bursty producer (LoadPattern): starts producing now.
  virtual Status start_producer(const LoadPattern& pattern, std::uint64_t seed) = 0;
  virtual std::int64_t produced() const = 0;
  virtual void stop_producer() = 0;  // flushes what it sent; idempotent

  // Consumers: as many as `replicas` (the Deployment's ready replicas), applied by a thread of
  // the backend; returns at once.
  virtual void set_replicas(int replicas) = 0;
  virtual int running() const = 0;             // consumers connected and consuming
  virtual std::int64_t processed() const = 0;  // messages processed and acknowledged
  // Seconds from a change of the consumer count to each new consumer's first message.
  virtual std::vector<double> consumer_start_pauses() const = 0;
  virtual std::vector<ConsumerChange> running_changes() const = 0;  // oldest first

  // Stops the producer (flushing what it sent) and then the consumers, each acknowledging what it
  // processed and leaving; closes every client connection. The server stays up until the backend
  // is destroyed. Idempotent.
  virtual void stop_clients() = 0;
};

// Starts `source`'s server (nothing for kafka's in-process mock), creates the queue / stream /
// consumer group and readies the producer and consumer fleet (no consumers yet).
Result<std::unique_ptr<DemoBackend>> start_demo_backend(DemoSource source,
                                                        const BackendSettings& settings);

Result<std::unique_ptr<DemoBackend>> start_kafka_backend(const BackendSettings& settings);
Result<std::unique_ptr<DemoBackend>> start_rabbitmq_backend(const BackendSettings& settings);
Result<std::unique_ptr<DemoBackend>> start_redis_backend(const BackendSettings& settings);
Result<std::unique_ptr<DemoBackend>> start_nats_backend(const BackendSettings& settings);

}  // namespace lagpilot::demo
