#pragma once
// One AMQP 0-9-1 connection (librabbitmq) per RabbitMQ server, vhost and credentials, shared by
// every source that reads a queue there. librabbitmq stays behind this header.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "util/clock.h"
#include "util/outage_gate.h"
#include "util/result.h"

namespace lagpilot {

// Where and how to connect. Sources with equal settings share one connection.
struct AmqpConnectionSettings {
  std::string host;
  int port = 5672;
  std::string vhost = "/";
  bool tls = false;
  std::string username = "guest";
  std::string password = "guest";  // never logged
  std::string ca_pem;              // CA bundle for TLS; empty: the system's

  // For logs and messages: "amqps://host:5671 vhost=/ user=app"; no password.
  std::string describe() const;
  // "host:port": what the outage gate keys on (a down server is down for every vhost and user).
  std::string server() const;

  auto operator<=>(const AmqpConnectionSettings&) const = default;
};

// What a passive queue.declare tells of a queue (exact, unlike the management API's statistics).
struct AmqpQueueCounts {
  int64_t ready = 0;  // messages ready for delivery (not the unacknowledged ones)
  int consumers = 0;
};

// Error codes of AmqpClient::queue_counts:
//   "QueueNotFound"        - the server answered that the queue does not exist (404).
//   "AuthenticationFailed" - the server refused the login (403), or the user may not use the vhost.
//   "SourceUnreachable"    - no answer: refused, timed out, TLS handshake or verification failed.
//   "SourceError"          - any other answer the server closed the channel or connection with.
//
// Thread-safe: requests on the shared connection take turns, each waiting for its turn only until
// its deadline. A request that got no answer closes the connection; the next one reconnects.
class AmqpClient {
 public:
  // `gate` is shared by the clients of one server (util/outage_gate.h); `clock` reads deadlines.
  AmqpClient(AmqpConnectionSettings settings, std::shared_ptr<OutageGate> gate, const Clock& clock);
  ~AmqpClient();
  AmqpClient(const AmqpClient&) = delete;
  AmqpClient& operator=(const AmqpClient&) = delete;

  const AmqpConnectionSettings& settings() const;

  // One passive queue.declare of `queue` (connecting first when there is no open connection),
  // finished or given up by `deadline` (Clock::monotonic_now()).
  Result<AmqpQueueCounts> queue_counts(const std::string& queue, MonotonicTime deadline);

  // How many connections this client has opened (tests check sharing and reconnects with it).
  int connections_opened() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hands out one AmqpClient per distinct AmqpConnectionSettings and one OutageGate per server; a
// client closes its connection when the last source holding it is destroyed.
class AmqpClientPool {
 public:
  explicit AmqpClientPool(const Clock& clock) : clock_(clock) {}
  std::shared_ptr<AmqpClient> acquire(const AmqpConnectionSettings& settings);
  std::size_t size() const;  // clients open

 private:
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::map<AmqpConnectionSettings, std::weak_ptr<AmqpClient>> clients_;
  std::map<std::string, std::weak_ptr<OutageGate>> gates_;
};

}  // namespace lagpilot
