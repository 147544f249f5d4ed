#pragma once
// The backlog of one NATS JetStream durable consumer (spec.source.natsJetStream).
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sources/nats/nats_client.h"
#include "sources/queue_source.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

struct NatsSourceSpec {
  std::vector<std::string> servers;  // required: nats://host[:port] or tls://host[:port]
  std::string stream;                // required
  std::string consumer;              // required: a durable consumer of the stream
  bool tls = false;                  // TLS with nats:// servers too

  // Parses spec.source.natsJetStream. Errors are
  // Error{"InvalidSpec", "spec.source.natsJetStream.<field>: ..."}.
  static Result<NatsSourceSpec> parse(const nlohmann::json& spec);
};

// The kind "natsJetStream": its options, the connection pool its sources share (one connection
// per server list and credentials) and the live-source count. Create one at operator start; it
// must outlive every source created with it. When it has handed out a connection, libnats is torn
// down (nats_CloseAndWait) when the kind is destroyed: one such kind per process at a time, and no
// other NATS objects left by then.
class NatsSourceKind final : public SourceKind {
 public:
  // Times with the system clock.
  explicit NatsSourceKind(NatsOptions options = {});
  // Times with `clock` (poll deadlines, rates), which must outlive the kind.
  NatsSourceKind(NatsOptions options, Clock& clock);
  ~NatsSourceKind() override;
  NatsSourceKind(const NatsSourceKind&) = delete;
  NatsSourceKind& operator=(const NatsSourceKind&) = delete;

  std::string name() const override { return "natsJetStream"; }
  // Labels: stream, consumer. Credentials: authSecretRef (token, username + password, creds,
  // ca.crt).
  Result<CheckedSourceSpec> check(const nlohmann::json& kind_spec) const override;
  Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& kind_spec,
                                              const SourceCredentials& credentials) override;
  int live_sources() const override { return live_sources_.value(); }
  // What each source registers with for its lifetime.
  LiveSourceCount& live_source_count() { return live_sources_; }

  const NatsOptions& options() const { return options_; }
  NatsClientPool& clients() { return *clients_; }
  Clock& clock() const { return clock_; }

 private:
  NatsOptions options_;
  SystemClock system_clock_;  // used unless a clock is given
  Clock& clock_;
  LiveSourceCount live_sources_;
  std::unique_ptr<NatsClientPool> clients_;
};

// Reads, per poll: the consumer's info (one request) and, while there is a backlog and the ack
// floor moved since the last read, the message after the ack floor (one get-message request) for
// lagSeconds. Requests per poll do not grow with the number of monitors of a server.
//
// consumer_lag = queue_depth = num_pending + num_ack_pending; lag_seconds = age of the first
// message after the ack floor (method "ack-floor"); consumers: push consumers only (pull
// consumers: unknown); ingress from the consumer's stream end (delivered stream sequence +
// num_pending), egress from the ack floor's stream sequence; progress = the ack floor's consumer
// sequence.
class NatsSource final : public QueueSource {
 public:
  // Shares the kind's connection for the spec's servers and credentials.
  static Result<std::unique_ptr<NatsSource>> create(const NatsSourceSpec& spec,
                                                    const SourceCredentials& credentials,
                                                    NatsSourceKind& kind);
  ~NatsSource() override;

  Result<QueueSnapshot> poll(WallTime now) override;
  // "natsJetStream stream=ORDERS consumer=worker servers=nats://nats:4222"
  std::string describe() const override;

  // The shared client this source reads through (tests check sharing with it).
  const NatsClient& client() const;
  // Get-message requests sent so far (tests bound the requests per poll with it).
  int message_reads() const;

 private:
  struct State;
  explicit NatsSource(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace lagpilot
