#include "sources/builtin_sources.h"

#include "sources/kafka/kafka_source.h"
#include "sources/nats/nats_source.h"
#include "sources/prometheus/prometheus_latency.h"

namespace lagpilot {

SourceRegistry builtin_sources(const BuiltinSourceOptions& options) {
  SourceRegistry registry;
  registry.add(options.clock ? std::make_unique<KafkaSourceKind>(options.kafka, *options.clock)
                             : std::make_unique<KafkaSourceKind>(options.kafka));
  registry.add(options.clock ? std::make_unique<NatsSourceKind>(options.nats, *options.clock)
                             : std::make_unique<NatsSourceKind>(options.nats));
  registry.add(std::make_unique<PrometheusLatencyKind>());
  return registry;
}

}  // namespace lagpilot
