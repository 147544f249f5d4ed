#pragma once
// The backlog of one Redis Streams consumer group (spec.source.redisStreams).
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sources/queue_source.h"
#include "sources/redis/redis_options.h"
#include "util/result.h"

namespace lagpilot {

class RedisClient;
class RedisClientPool;

// The kind "redisStreams": its options, the client pool its sources share (one connection per
// server, database and credentials) and the live-source count. It must outlive every source it
// created.
class RedisStreamsSourceKind final : public SourceKind {
 public:
  // Times with the system clock.
  explicit RedisStreamsSourceKind(RedisOptions options = {});
  // Times with `clock` (poll deadlines), which must outlive the kind.
  RedisStreamsSourceKind(RedisOptions options, Clock& clock);
  ~RedisStreamsSourceKind() override;
  RedisStreamsSourceKind(const RedisStreamsSourceKind&) = delete;
  RedisStreamsSourceKind& operator=(const RedisStreamsSourceKind&) = delete;

  std::string name() const override { return "redisStreams"; }
  // Labels: stream. Credentials: authSecretRef (password, optional username).
  Result<CheckedSourceSpec> check(const nlohmann::json& kind_spec) const override;
  Result<std::unique_ptr<QueueSource>> create(const nlohmann::json& kind_spec,
                                              const SourceCredentials& credentials) override;
  int live_sources() const override { return live_sources_.value(); }
  // What each source registers with for its lifetime.
  LiveSourceCount& live_source_count() { return live_sources_; }

  const RedisOptions& options() const { return options_; }
  RedisClientPool& clients() { return *clients_; }
  Clock& clock() const { return clock_; }

 private:
  RedisOptions options_;
  SystemClock system_clock_;  // used unless a clock is given
  Clock& clock_;
  LiveSourceCount live_sources_;
  std::unique_ptr<RedisClientPool> clients_;
};

struct RedisStreamsSpec {
  std::string host;  // from address "host:port" (IPv6: "[::1]:6379")
  int port = 0;
  std::string stream;          // required
  std::string consumer_group;  // required
  int db = 0;
  std::optional<std::string> auth_secret;  // authSecretRef.name

  // Parses spec.source.redisStreams. Errors are Error{"InvalidSpec",
  // "spec.source.redisStreams.<field>: ..."}; TLS (tls.enabled, a rediss:// address) is refused:
  // lagpilot's Redis client (hiredis 0.14) has no TLS.
  static Result<RedisStreamsSpec> parse(const nlohmann::json& redis_spec);
};

// Reads per poll, over the connection it shares: one pipeline of XINFO STREAM, XINFO GROUPS and
// XPENDING (summary), and one XRANGE for the next undelivered entry while there is one.
//   consumer_lag = queue_depth = the group's lag (entries not yet delivered) + pending (delivered,
//     not acknowledged); when Redis gives no lag, the undelivered entries are counted with XRANGE
//     (RedisOptions::lag_count_limit).
//   lag_seconds: now minus the time in the older of the next undelivered entry's ID and the
//     oldest pending entry's ID (method "stream-id"; "stream-id+counted-lag" when the lag was
//     counted); 0 without backlog; unknown when the IDs are not times (explicit IDs before 2001).
//   consumers: the consumers the group knows.
//   progress_position: entries-read minus pending, which grows by one per acknowledged entry and
//     moves back on XGROUP SETID; unknown while Redis gives no entries-read.
//   ingress_rate / egress_rate: the change of entries-added / of progress_position between polls.
class RedisStreamsSource final : public QueueSource {
 public:
  // Shares the kind's client for the spec's server, database and credentials. Errors:
  // "InvalidCredentials" naming the Secret key.
  static Result<std::unique_ptr<RedisStreamsSource>> create(const RedisStreamsSpec& spec,
                                                            const SourceCredentials& credentials,
                                                            RedisStreamsSourceKind& kind);
  ~RedisStreamsSource() override;

  Result<QueueSnapshot> poll(WallTime now) override;
  // "redisStreams stream=orders group=workers address=redis:6379 db=0"
  std::string describe() const override;

  // The shared client this source reads through (tests check sharing with it).
  const RedisClient& client() const;

 private:
  struct State;
  explicit RedisStreamsSource(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace lagpilot
