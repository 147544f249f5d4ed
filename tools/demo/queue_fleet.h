#pragma once
// The producer and consumer fleet of the demo's queue sources (rabbitmq, redis, nats), with the
// client library left to a QueueConsumer / send function of the source's .cpp file.
//
// Consumers: one QueueConsumer per wanted replica, each on its own thread and connection,
// processing at most `per_replica_rate` messages/s (a token bucket, as the Kafka consumers) and
// acknowledging each batch before taking the next. Scaling up adds consumers (a queue has no
// partitions to hand over); scaling down stops the newest ones, each acknowledging what it took
// before it leaves, so every message is processed and acknowledged once.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tools/demo/demo_backend.h"
#include "tools/demo/load_pattern.h"
#include "util/result.h"

namespace lagpilot::demo {

// One replica's connection to the queue. Created and used by one consumer thread only.
class QueueConsumer {
 public:
  virtual ~QueueConsumer() = default;  // leaves the queue / group and closes the connection
  // Takes at most `max` (>= 1) messages, waiting at most `wait` for the first, processes and
  // acknowledges them; returns how many. An error means the connection is unusable.
  virtual Result<int> consume(int max, std::chrono::milliseconds wait) = 0;
};

// Makes consumer number `id` (connects, subscribes); called on that consumer's thread.
using QueueConsumerFactory = std::function<Result<std::unique_ptr<QueueConsumer>>(int id)>;

class QueueConsumerFleet {
 public:
  QueueConsumerFleet(QueueConsumerFactory factory, double per_replica_rate);
  ~QueueConsumerFleet();  // stop()
  QueueConsumerFleet(const QueueConsumerFleet&) = delete;
  QueueConsumerFleet& operator=(const QueueConsumerFleet&) = delete;

  void set_replicas(int replicas);  // returns at once; the fleet's thread applies it
  int running() const;
  std::int64_t processed() const;
  std::vector<double> start_pauses() const;
  std::vector<ConsumerChange> running_changes() const;
  void stop();  // every consumer acknowledges what it took and leaves; idempotent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends at the LoadPattern's rate from its own thread: `send(n)` sends message n (0, 1, ...);
// `flush()` runs after each 10 ms tick's messages (e.g. to wait for the server's publish acks).
// A failing send is logged and retried at the next tick.
class PacedProducer {
 public:
  PacedProducer(LoadPattern pattern, std::function<Status(std::int64_t index)> send,
                std::function<Status()> flush);
  ~PacedProducer();  // stop()
  PacedProducer(const PacedProducer&) = delete;
  PacedProducer& operator=(const PacedProducer&) = delete;

  void start();
  void stop();  // joins the thread after a last flush(); idempotent
  std::int64_t produced() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A DemoBackend whose load runs through a PacedProducer and a QueueConsumerFleet (rabbitmq, redis,
// nats): the producer and consumer overrides, once. The derived backend makes the fleet
// (make_fleet), starts the producer (start_paced_producer) and keeps the clients they use.
// Destruction: the producer's thread calls the derived backend's send/flush, which use its members,
// and those go before this base; so a derived destructor calls stop_clients() (which stops the
// producer, then the fleet: stop_producer_and_fleet) before anything else.
class FleetBackend : public DemoBackend {
 public:
  ~FleetBackend() override;  // stop_producer_and_fleet(), too late for the derived members

  std::int64_t produced() const override;
  void stop_producer() override;
  void set_replicas(int replicas) override;
  int running() const override;
  std::int64_t processed() const override;
  std::vector<double> consumer_start_pauses() const override;
  std::vector<ConsumerChange> running_changes() const override;

 protected:
  void make_fleet(QueueConsumerFactory factory, double per_replica_rate);
  // A PacedProducer of `pattern` (PacedProducer's send and flush), started now.
  void start_paced_producer(const LoadPattern& pattern,
                            std::function<Status(std::int64_t index)> send,
                            std::function<Status()> flush);
  // Stops the producer (a last flush), then the consumers; idempotent.
  void stop_producer_and_fleet();

 private:
  std::unique_ptr<QueueConsumerFleet> fleet_;  // null until make_fleet
  std::unique_ptr<PacedProducer> producer_;    // null until start_paced_producer
};

}  // namespace lagpilot::demo
