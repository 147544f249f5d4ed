#pragma once
// One NATS connection per server list and credentials, shared by every source that reads that
// server: one TCP (or TLS) connection and one JetStream context however many monitors there are.
// The NATS C client (libnats) stays behind this header.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sources/queue_source.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

struct NatsOptions {
  // Upper bound on one poll's round trips (connecting included); a down server fails a poll after
  // this at the latest.
  Duration poll_timeout = std::chrono::seconds(5);
  // How long the kind's destructor waits for libnats' threads to end (nats_CloseAndWait).
  Duration library_close_timeout = std::chrono::seconds(5);
};

// Where and how to connect. Sources with equal settings share one connection.
struct NatsConnectionSettings {
  std::vector<std::string> servers;  // nats://host:port or tls://host:port, sorted, deduplicated
  bool tls = false;                  // a tls:// server, spec tls: true, or a ca.crt
  std::string token;
  std::string username;
  std::string password;
  std::string user_jwt;   // from a credentials file (creds)
  std::string user_seed;  // its NKey seed, signs the server's nonce
  std::string ca_pem;     // CA bundle for TLS; empty: the system's

  // Builds settings from the spec's servers and TLS flag and the auth Secret (keys token,
  // username + password, creds, ca.crt). Errors (code "InvalidCredentials") name the Secret key,
  // never a value.
  static Result<NatsConnectionSettings> from(const std::vector<std::string>& servers, bool tls,
                                             const SourceCredentials& credentials);

  // For logs and messages: "servers=nats://a:4222 auth=user tls=verified"; never a credential.
  std::string describe() const;

  auto operator<=>(const NatsConnectionSettings&) const = default;
};

// What the server says of a durable consumer ($JS.API.CONSUMER.INFO).
struct NatsConsumerState {
  uint64_t delivered_stream_seq = 0;  // stream sequence of the last message delivered
  uint64_t ack_floor_stream_seq = 0;  // every message up to here is acknowledged
  uint64_t ack_floor_consumer_seq = 0;
  uint64_t num_pending = 0;     // messages not delivered yet (matching the filter)
  int64_t num_ack_pending = 0;  // delivered, not acknowledged yet
  int64_t num_waiting = 0;      // pull requests waiting for messages (pull consumers)
  bool push = false;            // a push consumer (has a deliver subject)
  bool push_bound = false;      // a push consumer with a subscriber on its deliver subject
  std::string deliver_group;    // push consumers: the queue group its subscribers share
  std::string filter_subject;   // empty: the whole stream
};

// A message of a stream, as $JS.API.STREAM.MSG.GET returns it.
struct NatsStoredMessage {
  uint64_t sequence = 0;
  WallTime time;
};

// Thread-safe: any number of sources may call it concurrently. While a stream's requests (or the
// connection itself) get no answer, one call at a time per client waits for the server and the
// other calls about down streams fail at once with the failure that found them down
// (util/outage_gate.h).
class NatsClient {
 public:
  ~NatsClient();
  NatsClient(const NatsClient&) = delete;
  NatsClient& operator=(const NatsClient&) = delete;

  const NatsConnectionSettings& settings() const;
  // "nats servers=nats://127.0.0.1:4222 auth=none tls=off", for messages.
  const std::string& description() const;

  // One consumer info request (connecting first when the connection is not up).
  Result<NatsConsumerState> consumer_info(const std::string& stream, const std::string& consumer,
                                          MonotonicTime deadline);
  // The first message of `stream` at or after `sequence` whose subject matches `subject_filter`
  // (empty: any), one get-message request; nullopt when there is none.
  Result<std::optional<NatsStoredMessage>> first_message_from(const std::string& stream,
                                                              uint64_t sequence,
                                                              const std::string& subject_filter,
                                                              MonotonicTime deadline);
  // Connections opened so far (1 after the first poll; more after the server went away).
  int connects() const;

 private:
  friend class NatsClientPool;
  struct Impl;
  explicit NatsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Hands out one NatsClient per distinct NatsConnectionSettings; a client closes its connection
// when the last source holding it is destroyed. Memory grows with servers, not with monitors.
class NatsClientPool {
 public:
  // `clock` times requests; it must outlive the pool and its clients.
  NatsClientPool(NatsOptions options, Clock& clock);
  ~NatsClientPool();
  NatsClientPool(const NatsClientPool&) = delete;
  NatsClientPool& operator=(const NatsClientPool&) = delete;

  // Never connects: the first request does (so that a down server never blocks a monitor's
  // creation).
  std::shared_ptr<NatsClient> acquire(const NatsConnectionSettings& settings);
  // Clients currently open.
  std::size_t size() const;
  // Whether a client was ever handed out (libnats then holds threads until closed).
  bool used() const;

 private:
  NatsOptions options_;
  Clock& clock_;
  mutable std::mutex mutex_;
  mutable std::map<NatsConnectionSettings, std::weak_ptr<NatsClient>> clients_;
  bool used_ = false;
};

// Ends libnats' library-wide threads and memory (nats_CloseAndWait, up to `timeout`). Every NATS
// object of the process must be destroyed before; the kind calls it from its destructor when it
// used the library.
void close_nats_library(Duration timeout);

}  // namespace lagpilot
