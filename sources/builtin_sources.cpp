#include "sources/builtin_sources.h"

#include "sources/kafka/kafka_source.h"
#include "sources/nats/nats_source.h"
#include "sources/prometheus/prometheus_latency.h"
#include "sources/prometheus/prometheus_queue_source.h"
#include "sources/rabbitmq/rabbitmq_source.h"
#include "sources/redis/redis_source.h"

namespace lagpilot {

SourceRegistry builtin_sources(const BuiltinSourceOptions& options) {
  SourceRegistry registry;
  registry.add(options.clock ? std::make_unique<KafkaSourceKind>(options.kafka, *options.clock)
                             : std::make_unique<KafkaSourceKind>(options.kafka));
  registry.add(options.clock ? std::make_unique<NatsSourceKind>(options.nats, *options.clock)
                             : std::make_unique<NatsSourceKind>(options.nats));
  // spec.source.prometheus and spec.latency.prometheus share clients and outage gates.
  auto prometheus_clients = std::make_shared<PrometheusClientPool>();
  registry.add(std::make_unique<PrometheusQueueKind>(options.clock, prometheus_clients));
  registry.add(std::make_unique<PrometheusLatencyKind>(prometheus_clients));
  registry.add(options.clock
                   ? std::make_unique<RabbitMqSourceKind>(options.rabbitmq, *options.clock)
                   : std::make_unique<RabbitMqSourceKind>(options.rabbitmq));
  registry.add(options.clock
                   ? std::make_unique<RedisStreamsSourceKind>(options.redis, *options.clock)
                   : std::make_unique<RedisStreamsSourceKind>(options.redis));
  return registry;
}

}  // namespace lagpilot
