#pragma once
// One RabbitMQ queue (spec.source.rabbitmq): its depth and consumers from an AMQP passive
// queue.declare (exact), and, with managementUrl, unacknowledged messages, rates, the head
// message's timestamp and the queue's arguments from the management API (sampled, ~5 s behind).
// Per poll and queue: one queue.declare on the connection shared per server, vhost and
// credentials, and one GET /api/queues/{vhost}/{name} when managementUrl is set.
#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sources/queue_source.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

class AmqpClient;
class AmqpClientPool;
class ManagementClient;
class ManagementClientPool;

struct RabbitMqOptions {
  // Upper bound on one poll (AMQP and HTTP together); a down server fails a poll after this.
  Duration poll_timeout = std::chrono::seconds(5);
};

enum class DepthMode {
  kReady,            // messages ready for delivery
  kReadyAndUnacked,  // ready + delivered and not yet acknowledged (needs managementUrl)
};

struct RabbitMqSourceSpec {
  std::string host;  // required
  int port = 5672;   // default 5672, 5671 with tls
  std::string vhost = "/";
  std::string queue;  // required
  bool tls = false;
  std::string management_url;  // optional, http(s)://host:port without a trailing '/'
  DepthMode depth_mode = DepthMode::kReady;
  std::string auth_secret_name;  // empty: no authSecretRef (user guest)

  // Parses spec.source.rabbitmq. Errors: Error{"InvalidSpec", "spec.source.rabbitmq.<field>: ..."}.
  static Result<RabbitMqSourceSpec> parse(const nlohmann::json& rabbitmq_spec);
};

// The kind "rabbitmq": its options, the AMQP connection pool and management clients its sources
// share, one outage gate per server, and the live-source count.
class RabbitMqSourceKind final : public SourceKind {
 public:
  explicit RabbitMqSourceKind(RabbitMqOptions options = {});
  // Times poll deadlines with `clock`, which must outlive the kind.
  RabbitMqSourceKind(RabbitMqOptions options, Clock& clock);
  ~RabbitMqSourceKind() override;
  RabbitMqSourceKind(const RabbitMqSourceKind&) = delete;
  RabbitMqSourceKind& operator=(const RabbitMqSourceKind&) = delete;

  std::string name() const override { return "rabbitmq"; }
  // Labels: queue. Credentials: authSecretRef (username, password, ca.crt).
  Result<CheckedSourceSpec> check(const nlohmann::json& kind_spec) const override;
  Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& kind_spec,
                                              const SourceCredentials& credentials) override;
  int live_sources() const override { return live_sources_.value(); }

  // AMQP connections open (one per server, vhost and credentials).
  std::size_t amqp_connections() const;

 private:
  friend class RabbitMqSource;
  RabbitMqOptions options_;
  SystemClock system_clock_;
  Clock& clock_;
  LiveSourceCount live_sources_;
  std::unique_ptr<AmqpClientPool> amqp_clients_;
  std::unique_ptr<ManagementClientPool> management_clients_;
};

class RabbitMqSource final : public QueueSource {
 public:
  ~RabbitMqSource() override;
  Result<QueueSnapshot> poll(WallTime now) override;
  // "rabbitmq queue=orders vhost=/ server=amqp://rabbitmq:5672 management=http://rabbitmq:15672"
  std::string describe() const override;
  // The shared AMQP client (tests check sharing with it).
  const AmqpClient& amqp_client() const;

 private:
  friend class RabbitMqSourceKind;
  struct State;
  explicit RabbitMqSource(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace lagpilot
