#pragma once
// Consumer-group lag of one Kafka topic (spec.source.kafka).
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include <atomic>

#include "sources/kafka/kafka_options.h"
#include "sources/queue_source.h"
#include "util/result.h"

namespace lagpilot {

class KafkaClient;
class KafkaClientPool;

// The kind "kafka" (spec.source.kafka): its options, the client pool its sources share (one
// connection set per cluster and credentials) and the live-source count. Create one at operator
// start; it must outlive every source created with it.
class KafkaSourceKind final : public SourceKind {
 public:
  // Times with the system clock.
  explicit KafkaSourceKind(KafkaOptions kafka_options = {});
  // Times with `clock` (poll deadlines, cache ages), which must outlive the kind.
  KafkaSourceKind(KafkaOptions kafka_options, Clock& clock);
  ~KafkaSourceKind() override;
  KafkaSourceKind(const KafkaSourceKind&) = delete;
  KafkaSourceKind& operator=(const KafkaSourceKind&) = delete;

  std::string name() const override { return "kafka"; }
  // Labels: topic. Credentials: authSecretRef (sasl.*, ca.crt, security.protocol).
  Result<CheckedSourceSpec> check(const nlohmann::json& kind_spec) const override;
  Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& kind_spec,
                                              const SourceCredentials& credentials) override;
  int live_sources() const override { return live_sources_.value(); }
  // What each source registers with for its lifetime.
  LiveSourceCount& live_source_count() { return live_sources_; }

  const KafkaOptions& kafka_options() const { return kafka_options_; }
  KafkaClientPool& kafka_clients() { return *kafka_clients_; }
  Clock& clock() const { return clock_; }

 private:
  KafkaOptions kafka_options_;
  SystemClock system_clock_;  // used unless a clock is given
  Clock& clock_;
  LiveSourceCount live_sources_;
  std::unique_ptr<KafkaClientPool> kafka_clients_;
};

// What the Kafka tests and benches call the kind they create sources with.
using SourceContext = KafkaSourceKind;

// Where the group would start on a partition it never committed.
enum class OffsetResetPolicy {
  kLatest,    // at the end: those partitions have no lag
  kEarliest,  // at the beginning: their lag is everything retained (high - low watermark)
};

struct KafkaSourceSpec {
  std::string bootstrap_servers;  // required
  std::string topic;              // required
  std::string consumer_group;     // required
  OffsetResetPolicy offset_reset_policy = OffsetResetPolicy::kLatest;
  std::optional<LagSecondsMethod> lag_seconds_method;  // unset: KafkaOptions' default

  // Parses spec.source.kafka. Errors are Error{"InvalidSpec", "spec.source.kafka.<field>: ..."}.
  static Result<KafkaSourceSpec> parse(const nlohmann::json& kafka_spec);
};

// Reads, per poll: the partition list (cached for KafkaOptions::metadata_max_age), the high
// watermarks (one ListOffsets per leader broker), the group's committed offsets (one OffsetFetch)
// and its member count (one DescribeGroups); the request count does not grow with partitions.
// queue_depth equals consumer_lag: Kafka keeps consumed records until retention, so the backlog
// that matters is the group's.
class KafkaSource final : public QueueSource {
 public:
  // Shares the context's client for the spec's cluster and credentials.
  static Result<std::unique_ptr<KafkaSource>> create(const KafkaSourceSpec& spec,
                                                     const SourceCredentials& credentials,
                                                     SourceContext& context);
  ~KafkaSource() override;

  Result<QueueSnapshot> poll(WallTime now) override;
  // "kafka topic=orders group=order-processor bootstrap=kafka-0:9092"
  std::string describe() const override;

  LagSecondsMethod lag_seconds_method() const;
  // The shared client this source reads through (tests check sharing with it).
  const KafkaClient& client() const;

 private:
  struct State;
  explicit KafkaSource(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// A Kafka source from spec.source.kafka, as KafkaSourceKind::create makes it.
Result<std::unique_ptr<QueueSource>> create_kafka_source(const nlohmann::json& kafka_spec,
                                                         const SourceCredentials& credentials,
                                                         SourceContext& context);

}  // namespace lagpilot
