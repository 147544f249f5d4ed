#pragma once
// One librdkafka client per Kafka cluster and credentials, shared by every source that reads
// that cluster: one set of broker connections and one metadata cache however many monitors
// there are. librdkafka stays behind this header.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sources/kafka/kafka_options.h"
#include "sources/queue_source.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

// Deadlines are read from the injected Clock's monotonic_now(); librdkafka is given the time left.
using SteadyDeadline = MonotonicTime;

// Where and how to connect. Sources with equal settings share one client.
struct KafkaConnectionSettings {
  std::string bootstrap_servers;  // normalized: sorted, deduplicated, comma-separated
  std::string security_protocol;  // plaintext | ssl | sasl_plaintext | sasl_ssl
  std::string sasl_mechanism;     // PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (SASL only)
  std::string sasl_username;
  std::string sasl_password;
  std::string ca_pem;  // CA bundle for TLS; empty: the system's

  // Builds settings from spec.source.kafka.bootstrapServers and the auth Secret. Without
  // security.protocol in the Secret: SASL keys imply sasl_ssl, ca.crt alone implies ssl.
  // Errors (code "InvalidCredentials") name the Secret key, never a value.
  static Result<KafkaConnectionSettings> from(const std::string& bootstrap_servers,
                                              const SourceCredentials& credentials);

  // For logs: "bootstrap=a:9092,b:9092 security=sasl_ssl mechanism=PLAIN user=app".
  std::string describe() const;

  auto operator<=>(const KafkaConnectionSettings&) const = default;
};

// The record a consumer would read next on a partition.
struct HeadRecord {
  int64_t offset = 0;
  WallTime timestamp;
};

// What DescribeGroups says of a consumer group.
struct GroupMembers {
  // Members (0 when the group is empty or unknown); nullopt when the brokers cannot describe
  // groups (librdkafka's mock cluster).
  std::optional<int> count;
  // The broker knows no classic group of that name (state Dead, or GROUP_ID_NOT_FOUND): the group
  // does not exist, or it is a KIP-848 consumer group (group.protocol=consumer), which a Kafka 4
  // broker describes so to librdkafka 2.0.2 (DescribeGroups below v6), whatever its members.
  bool no_classic_group = false;
};

// Thread-safe: any number of sources may call it concurrently. While a topic's requests find no
// broker to answer, one call at a time per client waits for the cluster and the other calls about
// down topics fail at once with the failure that found the topic down (util/outage_gate.h).
class KafkaClient {
 public:
  ~KafkaClient();
  KafkaClient(const KafkaClient&) = delete;
  KafkaClient& operator=(const KafkaClient&) = delete;

  const KafkaConnectionSettings& settings() const;

  // Partition ids of `topic` from cluster metadata (one Metadata request).
  Result<std::vector<int32_t>> topic_partitions(const std::string& topic, SteadyDeadline deadline);
  // High / low watermark of each partition, in the order given: one ListOffsets request per
  // partition leader, whatever the partition count.
  Result<std::vector<int64_t>> latest_offsets(const std::string& topic,
                                              const std::vector<int32_t>& partitions,
                                              SteadyDeadline deadline);
  Result<std::vector<int64_t>> earliest_offsets(const std::string& topic,
                                                const std::vector<int32_t>& partitions,
                                                SteadyDeadline deadline);
  // Committed offsets of `group` (-1: none), in the order given: one OffsetFetch request. The
  // future may outlive the caller's wait; the request then completes in the background.
  std::future<Result<std::vector<int64_t>>> request_committed_offsets(
      const std::string& group, const std::string& topic, const std::vector<int32_t>& partitions);
  // Members of `group` (one DescribeGroups request).
  std::future<Result<GroupMembers>> request_group_member_count(const std::string& group);
  // The first record at or after each start offset, read with one batched assign-and-fetch
  // (no group membership, nothing committed). Partitions with no record before the deadline are
  // absent from the result.
  Result<std::map<int32_t, HeadRecord>> read_head_records(
      const std::string& topic, const std::map<int32_t, int64_t>& start_offsets,
      SteadyDeadline deadline);

  // Rebuilds the connection if an admin request has been pending for
  // KafkaOptions::admin_recycle_age; its future then completes with an error. Every other call
  // checks this too.
  void recycle_if_admin_stuck();
  // How many times the connection has been rebuilt.
  int recycle_count() const;

 private:
  friend class KafkaClientPool;
  struct Impl;
  explicit KafkaClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Hands out one KafkaClient per distinct KafkaConnectionSettings; a client closes when the last
// source holding it is destroyed. Memory grows with clusters, not with monitors.
class KafkaClientPool {
 public:
  // `clock` times requests and ages; it must outlive the pool and its clients.
  KafkaClientPool(KafkaOptions options, Clock& clock);
  ~KafkaClientPool();
  KafkaClientPool(const KafkaClientPool&) = delete;
  KafkaClientPool& operator=(const KafkaClientPool&) = delete;

  Result<std::shared_ptr<KafkaClient>> acquire(const KafkaConnectionSettings& settings);
  // Clients currently open.
  std::size_t size() const;

 private:
  KafkaOptions options_;
  Clock& clock_;
  mutable std::mutex mutex_;
  mutable std::map<KafkaConnectionSettings, std::weak_ptr<KafkaClient>> clients_;
};

}  // namespace lagpilot
