#include "sources/builtin_sources.h"

#include "sources/kafka/kafka_source.h"
#include "sources/prometheus/prometheus_latency.h"
#include "sources/rabbitmq/rabbitmq_source.h"

namespace lagpilot {

SourceRegistry builtin_sources(const BuiltinSourceOptions& options) {
  SourceRegistry registry;
  registry.add(options.clock ? std::make_unique<KafkaSourceKind>(options.kafka, *options.clock)
                             : std::make_unique<KafkaSourceKind>(options.kafka));
  registry.add(std::make_unique<PrometheusLatencyKind>());
  registry.add(options.clock
                   ? std::make_unique<RabbitMqSourceKind>(options.rabbitmq, *options.clock)
                   : std::make_unique<RabbitMqSourceKind>(options.rabbitmq));
  return registry;
}

}  // namespace lagpilot
