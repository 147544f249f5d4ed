#pragma once
// The source kinds lagpilot ships, registered in one place.
#include "sources/kafka/kafka_options.h"
#include "sources/nats/nats_client.h"
#include "sources/rabbitmq/rabbitmq_source.h"
#include "sources/redis/redis_options.h"
#include "sources/source_registry.h"
#include "util/clock.h"

namespace lagpilot {

struct BuiltinSourceOptions {
  KafkaOptions kafka;
  NatsOptions nats;
  RabbitMqOptions rabbitmq;
  RedisOptions redis;
  Clock* clock = nullptr;  // what sources time their work with; nullptr: the system clock
};

// A registry with every built-in kind: spec.source.kafka, spec.source.natsJetStream,
// spec.source.prometheus, spec.source.rabbitmq,
// spec.source.redisStreams and spec.latency.prometheus.
SourceRegistry builtin_sources(const BuiltinSourceOptions& options = {});

}  // namespace lagpilot
