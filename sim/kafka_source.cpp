#include "sim/kafka_source.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace lagpilot::sim {

WallTime simulated_time(std::int64_t seconds) {
  // 2026-01-01T00:00:00Z, an arbitrary fixed start.
  return WallTime{std::chrono::seconds(1'767'225'600) + std::chrono::seconds(seconds)};
}

SourceReporting source_reporting_for(const std::string& kind, const nlohmann::json& kind_spec) {
  SourceReporting reporting;
  if (kind == "rabbitmq" || kind == "redisStreams" || kind == "natsJetStream") {
    reporting.partitioned = false;
  } else if (kind == "prometheus") {
    const auto has = [&kind_spec](const char* key) {
      return kind_spec.is_object() && kind_spec.contains(key) && kind_spec[key].is_string() &&
             !kind_spec[key].get<std::string>().empty();
    };
    reporting = {.partitioned = false,
                 .rates = false,
                 .consumers = has("consumersQuery"),
                 .lag_seconds = has("lagSecondsQuery"),
                 .progress = false};
  }
  return reporting;
}

scaler::Observation SimulatedKafkaSource::poll(const QueueState& state) {
  scaler::Observation observation;
  observation.time = simulated_time(state.time);
  const auto lag = static_cast<std::int64_t>(std::llround(state.lag));
  observation.consumer_lag = lag;
  observation.queue_depth = lag;
  if (reporting_.lag_seconds) observation.lag_seconds = state.lag_seconds;
  observation.latency_seconds = state.latency_seconds;
  if (reporting_.partitioned) observation.max_useful_consumers = state.partitions;
  if (reporting_.consumers && state.members_visible) observation.consumers = state.consumers;
  if (reporting_.partitioned && state.partitions_with_backlog) {
    // Partitions with lag at this poll or the previous one (the Kafka source's count).
    observation.partitions_with_backlog =
        std::max(*state.partitions_with_backlog,
                 previous_ ? previous_->partitions_with_backlog.value_or(0) : 0);
  }
  if (reporting_.rates && previous_ && state.time > previous_->time) {
    const double seconds = static_cast<double>(state.time - previous_->time);
    observation.ingress_rate = (state.produced - previous_->produced) / seconds;
    observation.egress_rate = (state.consumed - previous_->consumed) / seconds;
  }
  previous_ = Offsets{.time = state.time,
                      .produced = state.produced,
                      .consumed = state.consumed,
                      .partitions_with_backlog = state.partitions_with_backlog};
  return observation;
}

}  // namespace lagpilot::sim
