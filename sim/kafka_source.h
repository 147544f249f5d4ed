#pragma once
// What lagpilot's source reports when it polls the simulated queue: the Kafka source's readings,
// less what the spec's kind of source cannot tell (SourceReporting).
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "scaler/observation.h"
#include "sim/model.h"
#include "util/clock.h"

namespace lagpilot::sim {

// Simulated second `seconds` as a WallTime (a fixed epoch: no clock is read).
WallTime simulated_time(std::int64_t seconds);

// What a kind of source reports (docs/sources/): Kafka everything below; RabbitMQ, Redis Streams
// and NATS JetStream no partitions (no cap on useful consumers); the Prometheus depth query only
// the depth, lagSeconds with a lagSecondsQuery and consumers with a consumersQuery (no rates, no
// progress position).
struct SourceReporting {
  bool partitioned = true;  // max_useful_consumers = the partition count
  bool rates = true;        // ingress and egress rates from the second poll on
  bool consumers = true;    // the group's members (unless the model hides them)
  bool lag_seconds = true;
  bool progress = true;  // a progress position for stall and rewind detection
};

// `kind`: the member of spec.source; `kind_spec`: its value. Unknown kinds report as Kafka does.
SourceReporting source_reporting_for(const std::string& kind, const nlohmann::json& kind_spec);

// One consumer group on one topic. Each poll reports the consumer lag (also as queue depth),
// lagSeconds, the partition count, the group's members (unless the model hides them,
// ModelConfig::group_members_visible), with partition skew the partitions with lag at this poll or
// the previous one, and, from the second poll on, the ingress
// and egress rates: the change in produced (high watermarks) and consumed (committed offsets)
// messages since the previous poll, per second. The latency is the model's (see model.h), as
// spec.latency would report it; only depthLatency uses it.
class SimulatedKafkaSource {
 public:
  explicit SimulatedKafkaSource(SourceReporting reporting = {}) : reporting_(reporting) {}
  scaler::Observation poll(const QueueState& state);
  const SourceReporting& reporting() const { return reporting_; }

 private:
  struct Offsets {
    std::int64_t time = 0;
    double produced = 0;
    double consumed = 0;
    std::optional<int> partitions_with_backlog;
  };
  SourceReporting reporting_;
  std::optional<Offsets> previous_;
};

}  // namespace lagpilot::sim
