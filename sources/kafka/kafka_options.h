#pragma once
// Tunables for Kafka sources, set once by the operator in the SourceContext.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "util/clock.h"

namespace lagpilot {

// How a Kafka source estimates lagSeconds (the age of the oldest unconsumed record).
enum class LagSecondsMethod {
  // From the high watermarks seen at earlier polls (as kafka-lag-exporter does): no extra
  // requests, known from the second poll on, accurate to about one poll interval.
  kInterpolate,
  // Reads the timestamp of the record at the committed offset of each lagging partition: exact,
  // costs a batched Fetch per poll for partitions whose committed offset moved. Unknown while
  // any lagging partition's record cannot be read.
  kFetch,
  // kFetch, and kInterpolate for each lagging partition whose record the Fetch did not return
  // (fetch error, timeout, no timestamp); such a partition is fetched again once its committed
  // offset moves. What a source uses when spec.source.kafka.lagSecondsMethod is omitted.
  kFetchWithInterpolateFallback,
};

// "interpolate" | "fetch" | "fetch+interpolate"; only the first two are spec values.
std::string to_string(LagSecondsMethod method);
std::optional<LagSecondsMethod> parse_lag_seconds_method(const std::string& name);

struct KafkaOptions {
  // Upper bound on one poll's broker round trips; a down cluster fails a poll after this.
  Duration poll_timeout = std::chrono::seconds(5);
  // How long a topic's partition list is reused before it is read again from metadata.
  Duration metadata_max_age = std::chrono::seconds(60);
  LagSecondsMethod default_lag_seconds_method = LagSecondsMethod::kFetchWithInterpolateFallback;
  // (high watermark, time) points kept per partition for interpolation.
  std::size_t interpolation_points = 64;
  // librdkafka 2.0.2 aborts when a group-coordinator admin request times out while it still waits
  // for the coordinator and the coordinator then comes back (librdkafka #4605). Admin requests
  // therefore get this long librdkafka timeout, and a shared client whose oldest pending admin
  // request is older than `admin_recycle_age` is replaced before that timeout can fire.
  Duration admin_request_timeout = std::chrono::hours(1);
  Duration admin_recycle_age = std::chrono::minutes(50);
  // Longest wait between reconnect attempts to a down broker (librdkafka reconnect.backoff.max.ms).
  Duration reconnect_backoff_max = std::chrono::seconds(2);
};

}  // namespace lagpilot
