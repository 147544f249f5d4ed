#pragma once
// One poll of a queue source, as the scaler sees it.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "util/clock.h"

namespace lagpilot::scaler {

struct Observation {
  WallTime time;
  bool ok = true;     // false: the poll failed; every metric below is ignored
  std::string error;  // why, when !ok
  std::optional<std::int64_t> consumer_lag;  // messages
  std::optional<std::int64_t> queue_depth;   // messages (sources without consumer lag)
  std::optional<double> lag_seconds;         // how far behind in time
  std::optional<double> latency_seconds;     // processing latency from spec.latency (depthLatency)
  int max_useful_consumers = 0;              // the queue's limit (e.g. partitions); 0 = none known
  std::optional<int> consumers;              // group members; 0 = known empty group
  // The most consumers that had work since the previous poll (partitions with a backlog at either
  // poll); nullopt = unknown.
  std::optional<int> partitions_with_backlog;
  std::optional<double> ingress_rate;  // msg/s arriving
  std::optional<double> egress_rate;   // msg/s consumed
};

// The backlog the lag policies act on: consumer lag, or queue depth for sources without one.
inline std::optional<std::int64_t> backlog(const Observation& observation) {
  const auto& messages =
      observation.consumer_lag ? observation.consumer_lag : observation.queue_depth;
  if (!messages) return std::nullopt;
  return std::max<std::int64_t>(*messages, 0);
}

}  // namespace lagpilot::scaler
