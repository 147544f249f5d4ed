#pragma once
// Queue sources: what the controller polls to learn a queue's backlog. One QueueSource per
// QueueMonitor; sources are created from the monitor's spec.source by a SourceFactory.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "metrics/kafka_options.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

struct PartitionLag {
  int32_t partition = 0;
  int64_t high_watermark = 0;     // offset the next record will get
  int64_t committed_offset = -1;  // -1: the group never committed on this partition
  int64_t lag = 0;                // records not yet consumed, >= 0
};

// One reading of a queue. Rates are records per second since the previous successful poll of the
// same source, so the first poll has none.
struct QueueSnapshot {
  WallTime time;
  int64_t consumer_lag = 0;           // records the consumer group has not processed yet
  int64_t queue_depth = 0;            // records waiting in the queue (Kafka: equal to consumer_lag)
  std::optional<double> lag_seconds;  // age of the oldest unconsumed record; 0 when no lag
  std::string lag_seconds_method;     // how lag_seconds was estimated, e.g. "fetch", "interpolate"
  int partitions = 0;
  std::optional<int> consumers;              // group members; unknown when the broker cannot tell
  std::optional<double> ingress_rate;        // records/s appended
  std::optional<double> egress_rate;         // records/s consumed (committed)
  std::vector<PartitionLag> partition_lags;  // by partition id
};

class QueueSource {
 public:
  // Releases the source's share of its connections.
  virtual ~QueueSource() = default;
  // Reads the queue now. `now` stamps the snapshot and is the reference for rates and
  // lag_seconds. Never blocks longer than the context's poll timeout. Thread-safe, but one
  // source is meant to be polled by one worker at a time.
  virtual Result<QueueSnapshot> poll(WallTime now) = 0;
  // For logs and status messages, e.g. "kafka topic=orders group=order-processor"; no secrets.
  virtual std::string describe() const = 0;
};

// Values of the monitor's auth Secret, by key: sasl.mechanism, sasl.username, sasl.password,
// ca.crt, security.protocol. Supplied by the controller; never logged.
using SourceCredentials = std::map<std::string, std::string>;

class KafkaClientPool;

// Shared state of all sources of one operator: connection pools, the clock sources time their
// work with, and the live-source count. Create one at operator start; it must outlive every
// source created with it.
class SourceContext {
 public:
  // Times with the system clock.
  explicit SourceContext(KafkaOptions kafka_options = {});
  // Times with `clock` (poll deadlines, cache ages), which must outlive the context.
  SourceContext(KafkaOptions kafka_options, Clock& clock);
  ~SourceContext();
  SourceContext(const SourceContext&) = delete;
  SourceContext& operator=(const SourceContext&) = delete;

  const KafkaOptions& kafka_options() const { return kafka_options_; }
  KafkaClientPool& kafka_clients() { return *kafka_clients_; }
  Clock& clock() const { return clock_; }

  // Sources created with this context and not destroyed yet (deleting monitors must bring it
  // back down; tests use it to check for leaks).
  int live_sources() const { return live_sources_.load(); }

  // Held by every source for its lifetime; keeps live_sources() exact.
  class LiveSourceRegistration {
   public:
    explicit LiveSourceRegistration(SourceContext& context);
    ~LiveSourceRegistration();
    LiveSourceRegistration(const LiveSourceRegistration&) = delete;
    LiveSourceRegistration& operator=(const LiveSourceRegistration&) = delete;

   private:
    std::atomic<int>& live_sources_;
  };

 private:
  KafkaOptions kafka_options_;
  SystemClock system_clock_;  // used unless a clock is given
  Clock& clock_;
  std::atomic<int> live_sources_{0};
  std::unique_ptr<KafkaClientPool> kafka_clients_;
};

// Source kind name -> constructor. Built by the operator at start; not a global registry.
class SourceFactory {
 public:
  // `kind_spec` is the object under spec.source.<kind>.
  using Create = std::function<Result<std::unique_ptr<QueueSource>>(
      const nlohmann::json& kind_spec, const SourceCredentials& credentials,
      SourceContext& context)>;

  explicit SourceFactory(SourceContext& context) : context_(context) {}
  // A factory that knows every source kind lagpilot ships ("kafka").
  static SourceFactory with_builtin_sources(SourceContext& context);

  void add(std::string kind, Create create);
  std::vector<std::string> kinds() const;

  // `source_spec` is spec.source: an object with exactly one key naming the kind. Spec errors
  // come back as Error{"InvalidSpec", "spec.source.kafka.topic: required"}.
  Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& source_spec,
                                              const SourceCredentials& credentials) const;
  Result<std::unique_ptr<QueueSource>> create(const std::string& kind,
                                              const nlohmann::json& kind_spec,
                                              const SourceCredentials& credentials) const;

 private:
  SourceContext& context_;
  std::map<std::string, Create> creators_;
};

}  // namespace lagpilot
