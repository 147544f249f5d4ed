#pragma once
// The RabbitMQ management plugin's HTTP API (GET /api/queues/{vhost}/{name}): what AMQP cannot
// tell of a queue - unacknowledged messages, queue arguments, the head message's timestamp and
// message rates. cpprestsdk stays in the .cpp. The plugin's statistics are sampled: they lag the
// queue by up to its collect interval (5 s by default) and are absent for a brand-new queue.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "util/clock.h"
#include "util/outage_gate.h"
#include "util/result.h"

namespace lagpilot {

struct ManagementSettings {
  std::string url;  // http(s)://host:port, no trailing '/'
  std::string username = "guest";
  std::string password = "guest";  // never logged
  std::string ca_pem;              // CA bundle for https; empty: the system's

  auto operator<=>(const ManagementSettings&) const = default;
};

// One queue as the management API reports it. Unknown stays nullopt.
struct ManagementQueueStats {
  std::optional<int64_t> messages_ready;
  std::optional<int64_t> messages_unacknowledged;
  std::optional<int> consumers;
  bool single_active_consumer = false;  // arguments["x-single-active-consumer"] is true
  // Timestamp property (seconds) of the message at the head of the queue, when it has one.
  std::optional<WallTime> head_message_timestamp;
  // message_stats.publish_details.rate and deliver_get_details.rate, messages/s; 0 when
  // message_stats lacks them (nothing happened since the statistics began), nullopt without
  // message_stats (a brand-new queue).
  std::optional<double> publish_rate;
  std::optional<double> deliver_get_rate;
  // Messages the consumers finished since the server's statistics began: message_stats ack +
  // deliver_no_ack + get_no_ack (absent counters are 0). nullopt without message_stats.
  std::optional<double> finished_total;
};

// Parses the JSON body of GET /api/queues/{vhost}/{name}. Errors: code "SourceError".
Result<ManagementQueueStats> parse_management_queue(const std::string& body);

// Error codes: "QueueNotFound" (404), "AuthenticationFailed" (401/403), "SourceUnreachable" (no
// answer within the timeout, refused, TLS), "SourceError" (any other answer). Messages name the
// URL, never credentials. Thread-safe; one HTTP client per settings, shared by sources.
class ManagementClient {
 public:
  ManagementClient(ManagementSettings settings, std::shared_ptr<OutageGate> gate);
  ~ManagementClient();
  ManagementClient(const ManagementClient&) = delete;
  ManagementClient& operator=(const ManagementClient&) = delete;

  const ManagementSettings& settings() const;

  // GET /api/queues/{vhost}/{queue} through the outage gate of the URL, given up after `timeout`.
  Result<ManagementQueueStats> queue_stats(const std::string& vhost, const std::string& queue,
                                           Duration timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One ManagementClient per distinct settings, one gate per URL.
class ManagementClientPool {
 public:
  std::shared_ptr<ManagementClient> acquire(const ManagementSettings& settings);

 private:
  std::mutex mutex_;
  std::map<ManagementSettings, std::weak_ptr<ManagementClient>> clients_;
  std::map<std::string, std::weak_ptr<OutageGate>> gates_;
};

}  // namespace lagpilot
