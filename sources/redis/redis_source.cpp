#include "sources/redis/redis_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <mutex>
#include <utility>

#include "sources/redis/redis_client.h"
#include "util/json_integer.h"

namespace lagpilot {
namespace {

constexpr const char* kSpecPath = "spec.source.redisStreams.";
// Redis-generated IDs carry milliseconds since 1970; an ID before this (2001-09-09) was written
// explicitly (XADD key 1-1 ...) and says nothing about time.
constexpr uint64_t kEarliestTimestampMs = 1'000'000'000'000ULL;
constexpr const char* kNoTls =
    "TLS is not supported: lagpilot's Redis client (hiredis 0.14.1, Debian 12) has no TLS; "
    "connect to a plaintext listener (or a local TLS proxy)";

Error invalid(const std::string& field, const std::string& problem) {
  return Error{"InvalidSpec", kSpecPath + field + ": " + problem};
}

Result<std::string> string_field(const nlohmann::json& spec, const std::string& field) {
  auto found = spec.find(field);
  if (found == spec.end() || found->is_null()) return invalid(field, "required");
  if (!found->is_string()) return invalid(field, "must be a string");
  std::string value = found->get<std::string>();
  if (value.empty()) return invalid(field, "required");
  return value;
}

// "host:port" or "[v6]:port".
Status parse_address(const std::string& address, RedisStreamsSpec& spec) {
  if (address.rfind("rediss://", 0) == 0) return invalid("address", kNoTls);
  if (address.find("://") != std::string::npos) {
    return invalid("address", "must be host:port (no scheme), not \"" + address + "\"");
  }
  std::string host;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return invalid("address", "must be host:port, not \"" + address + "\"");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || address.find(':') != colon) {
      return invalid("address", "must be host:port, not \"" + address + "\"");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of(" \t/") != std::string::npos) {
    return invalid("address", "must be host:port, not \"" + address + "\"");
  }
  int number = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (error != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535) {
    return invalid("address", "port must be 1-65535 in \"" + address + "\"");
  }
  spec.host = host;
  spec.port = number;
  return ok_status();
}

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

WallTime time_of(const StreamId& id) {
  return WallTime{std::chrono::duration_cast<WallTime::duration>(
      std::chrono::milliseconds(static_cast<int64_t>(id.ms)))};
}

}  // namespace

Result<RedisStreamsSpec> RedisStreamsSpec::parse(const nlohmann::json& redis_spec) {
  if (!redis_spec.is_object()) {
    return Error{"InvalidSpec", "spec.source.redisStreams: must be an object"};
  }
  RedisStreamsSpec spec;
  auto address = string_field(redis_spec, "address");
  if (!address) return address.error();
  if (auto parsed = parse_address(*address, spec); !parsed) return parsed.error();
  auto stream = string_field(redis_spec, "stream");
  if (!stream) return stream.error();
  spec.stream = *stream;
  auto group = string_field(redis_spec, "consumerGroup");
  if (!group) return group.error();
  spec.consumer_group = *group;

  if (auto db = redis_spec.find("db"); db != redis_spec.end() && !db->is_null()) {
    const auto number = json_int64(*db);
    if (!number || *number < 0 || *number > std::numeric_limits<int>::max()) {
      return invalid("db", "must be an integer >= 0");
    }
    spec.db = static_cast<int>(*number);
  }

  if (auto tls = redis_spec.find("tls"); tls != redis_spec.end() && !tls->is_null()) {
    if (!tls->is_object()) return invalid("tls", "must be an object");
    auto enabled = tls->find("enabled");
    if (enabled != tls->end() && !enabled->is_null() && !enabled->is_boolean()) {
      return invalid("tls.enabled", "must be a boolean");
    }
    if (enabled != tls->end() && enabled->is_boolean() && enabled->get<bool>()) {
      return invalid("tls.enabled", kNoTls);
    }
  }

  if (auto ref = redis_spec.find("authSecretRef"); ref != redis_spec.end() && !ref->is_null()) {
    if (!ref->is_object()) return invalid("authSecretRef", "must be an object");
    auto name = ref->find("name");
    if (name == ref->end() || !name->is_string() || name->get<std::string>().empty()) {
      return invalid("authSecretRef.name", "required");
    }
    spec.auth_secret = name->get<std::string>();
  }
  return spec;
}

// What a source remembers between polls.
struct RedisStreamsSource::State {
  State(RedisStreamsSourceKind& kind, RedisStreamsSpec source_spec,
        std::shared_ptr<RedisClient> redis)
      : spec(std::move(source_spec)),
        options(kind.options()),
        clock(kind.clock()),
        client(std::move(redis)),
        registration(kind.live_source_count()),
        description("redisStreams stream=" + spec.stream + " group=" + spec.consumer_group +
                    " address=" + client->settings().address() + " db=" + std::to_string(spec.db)) {
  }

  struct PreviousPoll {
    WallTime time;
    std::optional<int64_t> entries_added;
    std::optional<double> progress;
  };

  RedisStreamsSpec spec;
  RedisOptions options;
  const Clock& clock;
  std::shared_ptr<RedisClient> client;
  LiveSourceCount::Registration registration;
  std::string description;

  std::mutex mutex;  // one poll at a time
  std::optional<PreviousPoll> previous;
  bool failing = false;
  bool reported_explicit_ids = false;

  Result<QueueSnapshot> poll(WallTime now);
  QueueSnapshot snapshot_of(const StreamGroupReading& reading, WallTime now);
  std::optional<double> lag_seconds(const StreamGroupReading& reading, WallTime now);
};

Result<QueueSnapshot> RedisStreamsSource::State::poll(WallTime now) {
  std::lock_guard lock(mutex);
  auto reading = client->read_group(spec.stream, spec.consumer_group,
                                    clock.monotonic_now() + options.poll_timeout);
  if (!reading.ok()) {
    if (!failing) {
      spdlog::warn("redis source={} poll failed code={} error={}", description,
                   reading.error().code, reading.error().message);
    }
    failing = true;
    return reading.error();
  }
  QueueSnapshot snapshot = snapshot_of(*reading, now);
  if (failing) {
    spdlog::info("redis source={} poll recovered lag={}", description, snapshot.consumer_lag);
    failing = false;
  }
  return snapshot;
}

std::optional<double> RedisStreamsSource::State::lag_seconds(const StreamGroupReading& reading,
                                                             WallTime now) {
  if (reading.undelivered == 0 && reading.pending == 0) return 0.0;
  std::optional<StreamId> oldest;
  for (const auto& [count, id] : {std::pair{reading.undelivered, reading.first_undelivered},
                                  std::pair{reading.pending, reading.oldest_pending}}) {
    if (count == 0) continue;
    if (!id) return std::nullopt;  // gone between the requests (trimmed, deleted): unknown
    if (!oldest || *id < *oldest) oldest = id;
  }
  if (oldest->ms < kEarliestTimestampMs) {
    if (!std::exchange(reported_explicit_ids, true)) {
      spdlog::warn(
          "redis source={} entry ID {} is not a time (explicit XADD IDs?): lagSeconds "
          "unknown",
          description, oldest->to_string());
    }
    return std::nullopt;
  }
  return std::max(0.0, seconds_between(time_of(*oldest), now));
}

QueueSnapshot RedisStreamsSource::State::snapshot_of(const StreamGroupReading& reading,
                                                     WallTime now) {
  QueueSnapshot snapshot;
  snapshot.time = now;
  snapshot.consumer_lag = reading.undelivered + reading.pending;
  snapshot.queue_depth = snapshot.consumer_lag;
  snapshot.lag_seconds = lag_seconds(reading, now);
  snapshot.lag_seconds_method = reading.undelivered_counted ? "stream-id+counted-lag" : "stream-id";
  snapshot.consumers = reading.consumers;
  if (reading.entries_read) {
    snapshot.progress_position = static_cast<double>(*reading.entries_read - reading.pending);
  }

  PreviousPoll current{now, reading.entries_added, snapshot.progress_position};
  if (previous && now > previous->time) {
    const double elapsed = seconds_between(previous->time, now);
    // A stream deleted and created again starts counting anew: no rate from that pair of polls.
    if (current.entries_added && previous->entries_added &&
        *current.entries_added >= *previous->entries_added) {
      snapshot.ingress_rate =
          static_cast<double>(*current.entries_added - *previous->entries_added) / elapsed;
    }
    if (current.progress && previous->progress) {
      snapshot.egress_rate = std::max(0.0, *current.progress - *previous->progress) / elapsed;
    }
  }
  previous = current;
  return snapshot;
}

Result<std::unique_ptr<RedisStreamsSource>> RedisStreamsSource::create(
    const RedisStreamsSpec& spec, const SourceCredentials& credentials,
    RedisStreamsSourceKind& kind) {
  auto settings = RedisConnectionSettings::from(spec.host, spec.port, spec.db, credentials);
  if (!settings) return settings.error();
  auto client = kind.clients().acquire(*settings);
  auto state = std::make_unique<State>(kind, spec, std::move(client));
  spdlog::debug("redis source={} created", state->description);
  return std::unique_ptr<RedisStreamsSource>(new RedisStreamsSource(std::move(state)));
}

RedisStreamsSource::RedisStreamsSource(std::unique_ptr<State> state) : state_(std::move(state)) {}

RedisStreamsSource::~RedisStreamsSource() = default;

Result<QueueSnapshot> RedisStreamsSource::poll(WallTime now) { return state_->poll(now); }

std::string RedisStreamsSource::describe() const { return state_->description; }

const RedisClient& RedisStreamsSource::client() const { return *state_->client; }

RedisStreamsSourceKind::RedisStreamsSourceKind(RedisOptions options)
    : RedisStreamsSourceKind(options, system_clock_) {}

RedisStreamsSourceKind::RedisStreamsSourceKind(RedisOptions options, Clock& clock)
    : options_(options),
      clock_(clock),
      clients_(std::make_unique<RedisClientPool>(options_, clock_)) {}

RedisStreamsSourceKind::~RedisStreamsSourceKind() = default;

Result<CheckedSourceSpec> RedisStreamsSourceKind::check(const nlohmann::json& kind_spec) const {
  auto spec = RedisStreamsSpec::parse(kind_spec);
  if (!spec) return spec.error();
  CheckedSourceSpec checked;
  checked.labels = {{"stream", spec->stream}};
  if (spec->auth_secret) {
    checked.credentials =
        SecretReference{*spec->auth_secret,
                        "spec.source.redisStreams.authSecretRef",
                        {{"spec.source.redisStreams.address", host_port(spec->host, spec->port)}}};
  }
  return checked;
}

Result<std::unique_ptr<QueueSource>> RedisStreamsSourceKind::create(
    const nlohmann::json& kind_spec, const SourceCredentials& credentials) {
  auto spec = RedisStreamsSpec::parse(kind_spec);
  if (!spec) return spec.error();
  auto source = RedisStreamsSource::create(*spec, credentials, *this);
  if (!source) return source.error();
  return std::unique_ptr<QueueSource>(std::move(source).value());
}

}  // namespace lagpilot
