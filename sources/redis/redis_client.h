#pragma once
// One Redis connection per server, database and credentials, shared by every source that reads
// streams there: the monitors of one server cost one connection however many there are. hiredis
// stays behind this header.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sources/queue_source.h"
#include "sources/redis/redis_options.h"
#include "util/clock.h"
#include "util/result.h"

namespace lagpilot {

// A stream entry ID, "<milliseconds>-<sequence>". IDs that Redis generated (XADD *) carry the
// server's wall time in milliseconds.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  static std::optional<StreamId> parse(const std::string& text);
  std::string to_string() const;
  auto operator<=>(const StreamId&) const = default;
};

// Where and how to connect. Sources with equal settings share one connection.
struct RedisConnectionSettings {
  std::string host;
  int port = 0;
  int db = 0;
  std::string username;  // an ACL user; empty: AUTH with the password only (the default user)
  std::string password;  // empty: no AUTH

  // From spec.source.redisStreams (host and port already checked) and the authSecretRef Secret:
  // keys `password` and optional `username`. Errors (code "InvalidCredentials") name the Secret
  // key, never a value; a TLS key (ca.crt, tls.crt, tls.key) is refused: hiredis 0.14 has no TLS.
  static Result<RedisConnectionSettings> from(const std::string& host, int port, int db,
                                              const SourceCredentials& credentials);

  std::string address() const;  // "host:port" ("[::1]:6379" for IPv6)
  // For logs and messages: "127.0.0.1:6379 db=0 user=app"; never the password.
  std::string describe() const;

  auto operator<=>(const RedisConnectionSettings&) const = default;
};

// What one poll reads about a stream and one of its consumer groups.
struct StreamGroupReading {
  int64_t length = 0;                    // entries in the stream (XLEN)
  std::optional<int64_t> entries_added;  // entries ever added (Redis 7+)
  int consumers = 0;                     // consumers the group knows
  int64_t pending = 0;                   // delivered, not acknowledged (the PEL)
  std::optional<int64_t> entries_read;   // the group's entries-read (Redis 7+; nil when unknown)
  int64_t undelivered = 0;               // entries after the group's last-delivered-id
  bool undelivered_counted = false;      // Redis gave no lag: `undelivered` was counted with XRANGE
  std::optional<StreamId> first_undelivered;  // the next entry the group would deliver
  std::optional<StreamId> oldest_pending;     // the oldest entry in the PEL
};

// Thread-safe. Requests of one client go one at a time over its connection. While the server does
// not answer, one poll at a time waits for it (up to its deadline) and the others fail at once
// with the failure that found it down (util/outage_gate.h).
class RedisClient {
 public:
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  const RedisConnectionSettings& settings() const;

  // Reads `stream` and `group` with at most three round trips (one pipeline of XINFO STREAM, XINFO
  // GROUPS and XPENDING; one XRANGE for the first undelivered entry, when there is one; one more
  // XRANGE only when Redis gives no lag and the forward count exceeds the limit), connecting first
  // if needed. Returns by `deadline` (the clock's monotonic time). Errors: "SourceUnreachable" (no
  // answer), "SourceAccessDenied", "StreamNotFound", "GroupNotFound", "LagUnknown",
  // "SourceError"; messages name the server and never a secret.
  Result<StreamGroupReading> read_group(const std::string& stream, const std::string& group,
                                        MonotonicTime deadline);

  // Connections opened so far (1 while the server stays up).
  int connects() const;

 private:
  friend class RedisClientPool;
  struct Impl;
  explicit RedisClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Hands out one RedisClient per distinct RedisConnectionSettings; a client (and its connection)
// closes when the last source holding it is destroyed. Clients connect on first use, so acquiring
// never blocks.
class RedisClientPool {
 public:
  // `clock` times requests; it must outlive the pool and its clients.
  RedisClientPool(RedisOptions options, Clock& clock);
  ~RedisClientPool();
  RedisClientPool(const RedisClientPool&) = delete;
  RedisClientPool& operator=(const RedisClientPool&) = delete;

  std::shared_ptr<RedisClient> acquire(const RedisConnectionSettings& settings);
  // Clients currently open.
  std::size_t size() const;

 private:
  RedisOptions options_;
  Clock& clock_;
  mutable std::mutex mutex_;
  mutable std::map<RedisConnectionSettings, std::weak_ptr<RedisClient>> clients_;
};

}  // namespace lagpilot
