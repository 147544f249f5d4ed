#pragma once
// The demo's Kafka side, all in this process: librdkafka's mock cluster (real Kafka protocol on
// loopback), a producer that follows a LoadPattern, and a fleet of consumers that really consume
// and commit at a fixed per-replica rate. librdkafka stays inside demo_kafka.cpp.
//
// Consumers: one librdkafka consumer per ready replica, each an assign-based worker over a share of
// the partitions (partition p goes to worker p mod n), committing the offsets it processed to the
// consumer group. When the number of ready replicas changes the fleet does what an eager rebalance
// does: every worker commits and gives up its partitions, then the new set of workers takes over
// exactly where the old one stopped (each record is processed once). Not subscribe(): librdkafka
// 2.0.2's mock cluster delays each group rebalance by up to a session timeout, which would blur the
// scaling the demo is about, and the mock cannot describe groups anyway (the operator sees the
// member count as unknown either way).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/demo/load_pattern.h"
#include "util/result.h"

namespace lagpilot::demo {

// How often a consumer commits the offsets it processed (and before giving partitions up).
inline constexpr std::chrono::milliseconds kCommitInterval{200};

class MockKafkaCluster {
 public:
  // Starts `brokers` mock brokers on 127.0.0.1 and creates `topic` with `partitions` partitions.
  static Result<std::unique_ptr<MockKafkaCluster>> start(const std::string& topic, int partitions,
                                                         int brokers = 3);
  ~MockKafkaCluster();
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  const std::string& bootstrap_servers() const;
  const std::string& topic() const;
  int partitions() const;

 private:
  struct Impl;
  explicit MockKafkaCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Produces to every partition (chosen by a seeded generator) at pattern.rate(t), t in seconds since
// start(). Record timestamps are the produce time, so lagSeconds is the true age of the backlog.
class LoadProducer {
 public:
  LoadProducer(const MockKafkaCluster& cluster, LoadPattern pattern, std::uint64_t seed);
  ~LoadProducer();
  LoadProducer(const LoadProducer&) = delete;
  LoadProducer& operator=(const LoadProducer&) = delete;

  Status start();
  void stop();  // flushes; idempotent
  std::int64_t produced() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ConsumerFleet {
 public:
  ConsumerFleet(const MockKafkaCluster& cluster, std::string group, double per_replica_rate);
  // The same on any cluster (tests bring their own): consumers of `topic`, which has `partitions`.
  ConsumerFleet(std::string bootstrap_servers, std::string topic, int partitions, std::string group,
                double per_replica_rate);
  ~ConsumerFleet();
  ConsumerFleet(const ConsumerFleet&) = delete;
  ConsumerFleet& operator=(const ConsumerFleet&) = delete;

  // How many consumers should run (the Deployment's ready replicas). Returns at once; the fleet's
  // own thread applies it.
  void set_replicas(int replicas);
  int running() const;                 // consumers currently holding their partitions
  std::int64_t processed() const;      // records processed (and committed soon after)
  std::int64_t reassignments() const;  // "rebalances" done
  // For each reassignment and worker of the new set: seconds from the start of the reassignment
  // (everyone commits and lets go) to that worker's first record; how long consumption pauses
  // when the ready count changes. Oldest first.
  std::vector<double> reassignment_pauses() const;
  struct RunningChange {
    std::chrono::steady_clock::time_point time;
    int running = 0;
  };
  // Every change of running(), oldest first (when the new set took its partitions).
  std::vector<RunningChange> running_changes() const;
  void stop();  // commits and closes every consumer; idempotent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lagpilot::demo
