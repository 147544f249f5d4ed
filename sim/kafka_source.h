#pragma once
// What lagpilot's Kafka source reports when it polls the simulated queue.
#include <cstdint>
#include <optional>

#include "scaler/observation.h"
#include "sim/model.h"
#include "util/clock.h"

namespace lagpilot::sim {

// Simulated second `seconds` as a WallTime (a fixed epoch: no clock is read).
WallTime simulated_time(std::int64_t seconds);

// One consumer group on one topic. Each poll reports the consumer lag (also as queue depth),
// lagSeconds, the partition count, the group's members (unless the model hides them,
// ModelConfig::group_members_visible), with partition skew the partitions with lag at this poll or
// the previous one, and, from the second poll on, the ingress
// and egress rates: the change in produced (high watermarks) and consumed (committed offsets)
// messages since the previous poll, per second. The latency is the model's (see model.h), as
// spec.latency would report it; only depthLatency uses it.
class SimulatedKafkaSource {
 public:
  scaler::Observation poll(const QueueState& state);

 private:
  struct Offsets {
    std::int64_t time = 0;
    double produced = 0;
    double consumed = 0;
    std::optional<int> partitions_with_backlog;
  };
  std::optional<Offsets> previous_;
};

}  // namespace lagpilot::sim
