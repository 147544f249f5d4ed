#include "sources/kafka/kafka_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "sources/kafka/bootstrap_servers.h"
#include "sources/kafka/kafka_client.h"
#include "sources/kafka/offset_time_table.h"

namespace lagpilot {

std::string to_string(LagSecondsMethod method) {
  switch (method) {
    case LagSecondsMethod::kFetch:
      return "fetch";
    case LagSecondsMethod::kFetchWithInterpolateFallback:
      return "fetch+interpolate";
    case LagSecondsMethod::kInterpolate:
      break;
  }
  return "interpolate";
}

std::optional<LagSecondsMethod> parse_lag_seconds_method(const std::string& name) {
  if (name == "interpolate") return LagSecondsMethod::kInterpolate;
  if (name == "fetch") return LagSecondsMethod::kFetch;
  return std::nullopt;
}

namespace {

constexpr const char* kSpecPath = "spec.source.kafka.";

Error invalid(const std::string& field, const std::string& problem) {
  return Error{"InvalidSpec", kSpecPath + field + ": " + problem};
}

// Kafka's own rule for topic names.
bool valid_topic_name(const std::string& topic) {
  if (topic.empty() || topic.size() > 249 || topic == "." || topic == "..") return false;
  return std::all_of(topic.begin(), topic.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// The group's progress position: the sum of its committed offsets, over the partitions it has
// committed on.
std::optional<double> committed_offset_total(const std::vector<PartitionLag>& partitions) {
  if (partitions.empty()) return std::nullopt;
  double total = 0;
  for (const auto& partition : partitions) {
    if (partition.committed_offset >= 0) total += static_cast<double>(partition.committed_offset);
  }
  return total;
}

// Partitions of the topic that had lag at either poll.
int partitions_with_backlog(const std::set<int32_t>& now, const std::set<int32_t>& before,
                            const std::vector<int32_t>& partitions) {
  return static_cast<int>(std::count_if(partitions.begin(), partitions.end(), [&](int32_t p) {
    return now.count(p) > 0 || before.count(p) > 0;
  }));
}

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

Result<KafkaSourceSpec> KafkaSourceSpec::parse(const nlohmann::json& kafka_spec) {
  if (!kafka_spec.is_object()) {
    return Error{"InvalidSpec", "spec.source.kafka: must be an object"};
  }
  auto string_field = [&](const std::string& field, bool required) -> Result<std::string> {
    auto found = kafka_spec.find(field);
    if (found == kafka_spec.end() || found->is_null()) {
      if (required) return invalid(field, "required");
      return std::string{};
    }
    if (!found->is_string()) return invalid(field, "must be a string");
    const std::string value = found->get<std::string>();
    if (required && value.find_first_not_of(" \t") == std::string::npos) {
      return invalid(field, "required");
    }
    return value;
  };

  KafkaSourceSpec spec;
  auto bootstrap = string_field("bootstrapServers", true);
  if (!bootstrap) return bootstrap.error();
  if (auto checked = check_bootstrap_servers(*bootstrap); !checked) return checked.error();
  spec.bootstrap_servers = *bootstrap;
  auto topic = string_field("topic", true);
  if (!topic) return topic.error();
  if (!valid_topic_name(*topic)) {
    return invalid("topic", "\"" + *topic + "\" is not a valid Kafka topic name");
  }
  spec.topic = *topic;
  auto group = string_field("consumerGroup", true);
  if (!group) return group.error();
  spec.consumer_group = *group;

  auto policy = string_field("offsetResetPolicy", false);
  if (!policy) return policy.error();
  if (*policy == "earliest") {
    spec.offset_reset_policy = OffsetResetPolicy::kEarliest;
  } else if (policy->empty() || *policy == "latest") {
    spec.offset_reset_policy = OffsetResetPolicy::kLatest;
  } else {
    return invalid("offsetResetPolicy", "must be latest or earliest, not \"" + *policy + "\"");
  }

  auto method = string_field("lagSecondsMethod", false);
  if (!method) return method.error();
  if (!method->empty()) {
    spec.lag_seconds_method = parse_lag_seconds_method(*method);
    if (!spec.lag_seconds_method) {
      return invalid("lagSecondsMethod", "must be interpolate or fetch, not \"" + *method + "\"");
    }
  }
  return spec;
}

// What a source remembers between polls.
struct KafkaSource::State {
  State(SourceContext& context, KafkaSourceSpec source_spec, std::shared_ptr<KafkaClient> kafka)
      : spec(std::move(source_spec)),
        options(context.kafka_options()),
        clock(context.clock()),
        method(spec.lag_seconds_method.value_or(options.default_lag_seconds_method)),
        client(std::move(kafka)),
        registration(context.live_source_count()),
        description("kafka topic=" + spec.topic + " group=" + spec.consumer_group +
                    " bootstrap=" + client->settings().bootstrap_servers) {}

  struct PartitionMemory {
    explicit PartitionMemory(std::size_t points) : high_watermarks(points) {}
    OffsetTimeTable high_watermarks;  // for interpolation
    // Fetch: the head record read at `head_start`, reused while the group stays there; none when
    // the read did not return it.
    int64_t head_start = -1;
    std::optional<HeadRecord> head;
  };

  struct PreviousPoll {
    WallTime time;
    std::map<int32_t, int64_t> high_watermarks;
    std::map<int32_t, int64_t> committed;  // only partitions the group has committed
    std::set<int32_t> backlogged;          // partitions with lag
  };

  KafkaSourceSpec spec;
  KafkaOptions options;
  const Clock& clock;
  LagSecondsMethod method;
  std::shared_ptr<KafkaClient> client;
  LiveSourceCount::Registration registration;
  std::string description;

  std::mutex mutex;  // one poll at a time
  std::vector<int32_t> partitions;
  std::optional<MonotonicTime> partitions_read_at;
  // Admin requests a previous poll stopped waiting for; at most one of each is in flight.
  std::optional<std::future<Result<std::vector<int64_t>>>> committed_in_flight;
  std::optional<std::future<Result<GroupMembers>>> members_in_flight;
  std::map<int32_t, PartitionMemory> memory;
  std::optional<PreviousPoll> previous;
  bool failing = false;
  bool reported_unlisted_members = false;

  Result<QueueSnapshot> poll(WallTime now);
  Result<QueueSnapshot> read(WallTime now, SteadyDeadline deadline);
  std::optional<double> lag_seconds_interpolated(WallTime now,
                                                 const std::map<int32_t, int64_t>& start_offsets);
  std::optional<double> lag_seconds_fetched(WallTime now,
                                            const std::map<int32_t, int64_t>& start_offsets,
                                            SteadyDeadline deadline);
  struct LagSecondsReading {
    std::optional<double> seconds;
    std::string method;  // "fetch", "interpolate" or "fetch+interpolate": what the value took
  };
  LagSecondsReading lag_seconds_fetched_or_interpolated(
      WallTime now, const std::map<int32_t, int64_t>& start_offsets, SteadyDeadline deadline);
  // Reads the head records of the partitions whose start moved since the last read (and, with
  // `retry_unanswered`, of those the last read did not return). False when the read failed.
  bool read_head_records(const std::map<int32_t, int64_t>& start_offsets, SteadyDeadline deadline,
                         bool retry_unanswered);
  // Time left until `deadline` by the source's clock, for waits on futures.
  Duration time_left(SteadyDeadline deadline) const {
    return std::max(Duration::zero(), Duration(deadline - clock.monotonic_now()));
  }
  PartitionMemory& memory_of(int32_t partition) {
    return memory.try_emplace(partition, options.interpolation_points).first->second;
  }
};

Result<QueueSnapshot> KafkaSource::State::poll(WallTime now) {
  std::lock_guard lock(mutex);
  auto result = read(now, clock.monotonic_now() + options.poll_timeout);
  if (!result.ok()) {
    partitions_read_at.reset();  // the topic may have moved or changed: re-read metadata
    if (!failing) {
      spdlog::warn("kafka source={} poll failed code={} error={}", description, result.error().code,
                   result.error().message);
    }
    failing = true;
  } else if (failing) {
    spdlog::info("kafka source={} poll recovered lag={}", description, result->consumer_lag);
    failing = false;
  }
  return result;
}

Result<QueueSnapshot> KafkaSource::State::read(WallTime now, SteadyDeadline deadline) {
  if (committed_in_flight) {
    client->recycle_if_admin_stuck();  // completes the future if it gives up on the request
    // A whole poll timeout has passed already: fail at once rather than hold a worker for
    // another (the coordinator of this group is down; the request goes on in the background).
    if (committed_in_flight->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      return Error{"SourceUnreachable", "kafka " + client->settings().describe() +
                                            ": committed offsets of group " + spec.consumer_group +
                                            ": an earlier request is still unanswered"};
    }
    committed_in_flight.reset();  // stale: read afresh below
  }

  if (!partitions_read_at ||
      clock.monotonic_now() - *partitions_read_at >= options.metadata_max_age) {
    auto read_partitions = client->topic_partitions(spec.topic, deadline);
    if (!read_partitions) return read_partitions.error();
    partitions = std::move(read_partitions).value();
    partitions_read_at = clock.monotonic_now();
    std::erase_if(memory, [&](const auto& entry) {
      return !std::binary_search(partitions.begin(), partitions.end(), entry.first);
    });
  }

  // High watermarks first: they also prove the cluster reachable before any admin request is
  // issued (see KafkaOptions::admin_request_timeout).
  auto high_watermarks = client->latest_offsets(spec.topic, partitions, deadline);
  if (!high_watermarks) return high_watermarks.error();

  auto committed_future =
      client->request_committed_offsets(spec.consumer_group, spec.topic, partitions);
  if (!members_in_flight) {
    members_in_flight = client->request_group_member_count(spec.consumer_group);
  }
  if (committed_future.wait_for(time_left(deadline)) != std::future_status::ready) {
    committed_in_flight = std::move(committed_future);
    return Error{"SourceUnreachable", "kafka " + client->settings().describe() +
                                          ": committed offsets of group " + spec.consumer_group +
                                          ": no answer within the poll timeout"};
  }
  auto committed = committed_future.get();
  if (!committed) return committed.error();

  std::vector<int32_t> never_committed;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    if ((*committed)[i] < 0) never_committed.push_back(partitions[i]);
  }
  std::map<int32_t, int64_t> low_watermarks;
  if (spec.offset_reset_policy == OffsetResetPolicy::kEarliest && !never_committed.empty()) {
    auto lows = client->earliest_offsets(spec.topic, never_committed, deadline);
    if (!lows) return lows.error();
    for (std::size_t i = 0; i < never_committed.size(); ++i) {
      low_watermarks[never_committed[i]] = (*lows)[i];
    }
  }

  QueueSnapshot snapshot;
  snapshot.time = now;
  snapshot.partitions = static_cast<int>(partitions.size());
  snapshot.lag_seconds_method = to_string(method);
  // The record a consumer would read next on each lagging partition.
  std::map<int32_t, int64_t> start_offsets;
  PreviousPoll current{now, {}, {}, {}};
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    PartitionLag partition_lag;
    partition_lag.partition = partitions[i];
    partition_lag.high_watermark = (*high_watermarks)[i];
    partition_lag.committed_offset = (*committed)[i];
    int64_t start = partition_lag.high_watermark;  // latest policy: nothing to consume
    if (partition_lag.committed_offset >= 0) {
      start = partition_lag.committed_offset;
      current.committed[partition_lag.partition] = partition_lag.committed_offset;
    } else if (auto low = low_watermarks.find(partition_lag.partition);
               low != low_watermarks.end()) {
      start = low->second;
    }
    partition_lag.lag = std::max<int64_t>(0, partition_lag.high_watermark - start);
    if (partition_lag.lag > 0) {
      start_offsets[partition_lag.partition] = start;
      current.backlogged.insert(partition_lag.partition);
    }
    current.high_watermarks[partition_lag.partition] = partition_lag.high_watermark;
    if (method != LagSecondsMethod::kFetch) {
      memory_of(partition_lag.partition).high_watermarks.record(partition_lag.high_watermark, now);
    }
    snapshot.consumer_lag += partition_lag.lag;
    snapshot.partition_lags.push_back(partition_lag);
  }
  snapshot.queue_depth = snapshot.consumer_lag;
  // Past the partition count, consumers of one group sit idle.
  if (!partitions.empty()) snapshot.max_useful_consumers = static_cast<int>(partitions.size());
  snapshot.progress_position = committed_offset_total(snapshot.partition_lags);
  snapshot.partitions_with_backlog = partitions_with_backlog(
      current.backlogged, previous ? previous->backlogged : std::set<int32_t>{}, partitions);

  if (method == LagSecondsMethod::kFetchWithInterpolateFallback) {
    LagSecondsReading reading = lag_seconds_fetched_or_interpolated(now, start_offsets, deadline);
    snapshot.lag_seconds = reading.seconds;
    snapshot.lag_seconds_method = std::move(reading.method);
  } else {
    snapshot.lag_seconds = method == LagSecondsMethod::kFetch
                               ? lag_seconds_fetched(now, start_offsets, deadline)
                               : lag_seconds_interpolated(now, start_offsets);
  }

  if (members_in_flight->wait_for(time_left(deadline)) == std::future_status::ready) {
    auto members = members_in_flight->get();
    members_in_flight.reset();
    if (members.ok() && members->no_classic_group && !current.committed.empty()) {
      // Commits but no classic group: a KIP-848 consumer group, whose members librdkafka 2.0.2's
      // DescribeGroups does not see. Unknown, not 0.
      if (!std::exchange(reported_unlisted_members, true)) {
        spdlog::warn(
            "kafka source={} group {} has committed offsets but is no classic consumer "
            "group (a KIP-848 group.protocol=consumer group?): its members are unknown",
            description, spec.consumer_group);
      }
    } else if (members.ok()) {
      snapshot.consumers = members->count;
    } else {
      spdlog::debug("kafka source={} member count unavailable: {}", description,
                    members.error().message);
    }
  }

  if (previous && now > previous->time) {
    const double elapsed = seconds_between(previous->time, now);
    int64_t appended = 0;
    for (const auto& [partition, high] : current.high_watermarks) {
      auto before = previous->high_watermarks.find(partition);
      if (before != previous->high_watermarks.end()) {
        appended += std::max<int64_t>(0, high - before->second);
      }
    }
    int64_t consumed = 0;
    for (const auto& [partition, offset] : current.committed) {
      auto before = previous->committed.find(partition);
      if (before != previous->committed.end()) {
        consumed += std::max<int64_t>(0, offset - before->second);
      }
    }
    snapshot.ingress_rate = static_cast<double>(appended) / elapsed;
    snapshot.egress_rate = static_cast<double>(consumed) / elapsed;
  }
  previous = std::move(current);
  return snapshot;
}

std::optional<double> KafkaSource::State::lag_seconds_interpolated(
    WallTime now, const std::map<int32_t, int64_t>& start_offsets) {
  double oldest = 0;
  for (const auto& [partition, start] : start_offsets) {
    const auto appended_at = memory_of(partition).high_watermarks.time_of_offset(start);
    if (!appended_at) return std::nullopt;
    oldest = std::max(oldest, seconds_between(*appended_at, now));
  }
  return oldest;
}

bool KafkaSource::State::read_head_records(const std::map<int32_t, int64_t>& start_offsets,
                                           SteadyDeadline deadline, bool retry_unanswered) {
  std::map<int32_t, int64_t> to_read;
  for (const auto& [partition, start] : start_offsets) {
    const PartitionMemory& remembered = memory_of(partition);
    if (remembered.head_start != start || (retry_unanswered && !remembered.head)) {
      to_read[partition] = start;
    }
  }
  if (to_read.empty()) return true;
  auto heads = client->read_head_records(spec.topic, to_read, deadline);
  if (!heads) {
    spdlog::debug("kafka source={} head records unavailable: {}", description,
                  heads.error().message);
    return false;
  }
  for (const auto& [partition, start] : to_read) {
    PartitionMemory& remembered = memory_of(partition);
    auto head = heads->find(partition);
    remembered.head_start = start;
    remembered.head = head == heads->end() ? std::nullopt : std::optional(head->second);
  }
  return true;
}

std::optional<double> KafkaSource::State::lag_seconds_fetched(
    WallTime now, const std::map<int32_t, int64_t>& start_offsets, SteadyDeadline deadline) {
  if (!read_head_records(start_offsets, deadline, /*retry_unanswered=*/true)) return std::nullopt;
  double oldest = 0;
  for (const auto& [partition, start] : start_offsets) {
    const PartitionMemory& remembered = memory_of(partition);
    if (!remembered.head) return std::nullopt;
    oldest = std::max(oldest, seconds_between(remembered.head->timestamp, now));
  }
  return oldest;
}

KafkaSource::State::LagSecondsReading KafkaSource::State::lag_seconds_fetched_or_interpolated(
    WallTime now, const std::map<int32_t, int64_t>& start_offsets, SteadyDeadline deadline) {
  // A failed read leaves every partition's memory as it was: those whose start moved fall back
  // this poll and are read again at the next.
  read_head_records(start_offsets, deadline, /*retry_unanswered=*/false);
  bool fetched = false;
  bool interpolated = false;
  bool unknown = false;
  double oldest = 0;
  for (const auto& [partition, start] : start_offsets) {
    const PartitionMemory& remembered = memory_of(partition);
    if (remembered.head && remembered.head_start == start) {
      fetched = true;
      oldest = std::max(oldest, seconds_between(remembered.head->timestamp, now));
      continue;
    }
    interpolated = true;
    const auto appended_at = remembered.high_watermarks.time_of_offset(start);
    if (appended_at) {
      oldest = std::max(oldest, seconds_between(*appended_at, now));
    } else {
      unknown = true;
    }
  }
  LagSecondsReading reading;
  if (!unknown) reading.seconds = oldest;
  reading.method = interpolated ? (fetched ? "fetch+interpolate" : "interpolate") : "fetch";
  return reading;
}

Result<std::unique_ptr<KafkaSource>> KafkaSource::create(const KafkaSourceSpec& spec,
                                                         const SourceCredentials& credentials,
                                                         SourceContext& context) {
  auto settings = KafkaConnectionSettings::from(spec.bootstrap_servers, credentials);
  if (!settings) return settings.error();
  auto client = context.kafka_clients().acquire(*settings);
  if (!client) return client.error();
  auto state = std::make_unique<State>(context, spec, std::move(client).value());
  spdlog::debug("kafka source={} created lag_seconds_method={}", state->description,
                to_string(state->method));
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(state)));
}

KafkaSource::KafkaSource(std::unique_ptr<State> state) : state_(std::move(state)) {}

KafkaSource::~KafkaSource() = default;

Result<QueueSnapshot> KafkaSource::poll(WallTime now) { return state_->poll(now); }

std::string KafkaSource::describe() const { return state_->description; }

LagSecondsMethod KafkaSource::lag_seconds_method() const { return state_->method; }

const KafkaClient& KafkaSource::client() const { return *state_->client; }

KafkaSourceKind::KafkaSourceKind(KafkaOptions kafka_options)
    : KafkaSourceKind(std::move(kafka_options), system_clock_) {}

KafkaSourceKind::KafkaSourceKind(KafkaOptions kafka_options, Clock& clock)
    : kafka_options_(std::move(kafka_options)),
      clock_(clock),
      kafka_clients_(std::make_unique<KafkaClientPool>(kafka_options_, clock_)) {}

KafkaSourceKind::~KafkaSourceKind() = default;

Result<CheckedSourceSpec> KafkaSourceKind::check(const nlohmann::json& kind_spec) const {
  auto spec = KafkaSourceSpec::parse(kind_spec);
  if (!spec) return spec.error();
  CheckedSourceSpec checked;
  checked.labels = {{"topic", spec->topic}};
  auto ref = kind_spec.find("authSecretRef");
  if (ref != kind_spec.end() && !ref->is_null()) {
    if (!ref->is_object() || !ref->contains("name") || !(*ref)["name"].is_string() ||
        (*ref)["name"].get<std::string>().empty()) {
      return Error{"InvalidSpec", "spec.source.kafka.authSecretRef.name: required"};
    }
    checked.credentials =
        SecretReference{(*ref)["name"].get<std::string>(), "spec.source.kafka.authSecretRef", {}};
    std::stringstream servers(spec->bootstrap_servers);
    for (std::string server; std::getline(servers, server, ',');) {
      checked.credentials->destinations.push_back({"spec.source.kafka.bootstrapServers", server});
    }
  }
  return checked;
}

Result<std::unique_ptr<QueueSource>> KafkaSourceKind::create(const nlohmann::json& kind_spec,
                                                             const SourceCredentials& credentials) {
  return create_kafka_source(kind_spec, credentials, *this);
}

Result<std::unique_ptr<QueueSource>> create_kafka_source(const nlohmann::json& kafka_spec,
                                                         const SourceCredentials& credentials,
                                                         SourceContext& context) {
  auto spec = KafkaSourceSpec::parse(kafka_spec);
  if (!spec) return spec.error();
  auto source = KafkaSource::create(*spec, credentials, context);
  if (!source) return source.error();
  return std::unique_ptr<QueueSource>(std::move(source).value());
}

}  // namespace lagpilot
