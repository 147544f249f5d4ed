#include "sources/nats/nats_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <utility>

namespace lagpilot {
namespace {

constexpr const char* kSpecPath = "spec.source.natsJetStream";

Error invalid(const std::string& field, const std::string& problem) {
  return Error{"InvalidSpec", std::string(kSpecPath) + "." + field + ": " + problem};
}

// JetStream's rule for stream and durable consumer names: no whitespace, '.', '*', '>' or path
// separators (they become parts of API subjects and file names).
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::iscntrl(static_cast<unsigned char>(c)) || c == '.' || c == '*' || c == '>' ||
           c == '/' || c == '\\';
  });
}

// "nats://host[:port]" or "tls://host[:port]"; credentials belong in authSecretRef, not the URL.
std::optional<std::string> server_problem(const std::string& server) {
  const auto scheme_end = server.find("://");
  if (scheme_end == std::string::npos) return "must start with nats:// or tls://";
  const std::string scheme = server.substr(0, scheme_end);
  if (scheme != "nats" && scheme != "tls") return "must start with nats:// or tls://";
  const std::string rest = server.substr(scheme_end + 3);
  if (rest.find('@') != std::string::npos) {
    return "must not carry credentials (use authSecretRef)";
  }
  if (rest.empty() || rest.find_first_of("/?# \t") != std::string::npos) {
    return "must be scheme://host[:port]";
  }
  std::string host = rest;
  std::string port;
  if (rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return "unclosed [ in the host";
    host = rest.substr(0, close + 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "must be scheme://host[:port]";
      port = rest.substr(close + 2);
      if (port.empty()) return "empty port";
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return "empty port";
  }
  if (host.empty() || host == "[]") return "empty host";
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return "port must be a number";
    }
    const int number = std::stoi(port);
    if (number < 1 || number > 65535) return "port must be 1-65535";
  }
  return std::nullopt;
}

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

Result<NatsSourceSpec> NatsSourceSpec::parse(const nlohmann::json& spec) {
  if (!spec.is_object())
    return Error{"InvalidSpec", std::string(kSpecPath) + ": must be an object"};
  NatsSourceSpec parsed;

  auto servers = spec.find("servers");
  if (servers == spec.end() || servers->is_null()) return invalid("servers", "required");
  if (!servers->is_array()) return invalid("servers", "must be a list of nats://host:port");
  if (servers->empty()) return invalid("servers", "required: at least one server");
  for (std::size_t i = 0; i < servers->size(); ++i) {
    const auto& server = (*servers)[i];
    const std::string field = "servers[" + std::to_string(i) + "]";
    if (!server.is_string()) return invalid(field, "must be a string");
    const std::string url = server.get<std::string>();
    if (auto problem = server_problem(url)) return invalid(field, "\"" + url + "\" " + *problem);
    parsed.servers.push_back(url);
  }

  auto name_field = [&](const std::string& field, std::string& out) -> Result<Ok> {
    auto found = spec.find(field);
    if (found == spec.end() || found->is_null()) return invalid(field, "required");
    if (!found->is_string()) return invalid(field, "must be a string");
    out = found->get<std::string>();
    if (out.empty()) return invalid(field, "required");
    if (!valid_name(out)) {
      return invalid(field, "\"" + out +
                                "\" is not a valid JetStream name (1-255 characters, no "
                                "whitespace, '.', '*', '>', '/' or '\\')");
    }
    return Ok{};
  };
  if (auto stream = name_field("stream", parsed.stream); !stream) return stream.error();
  if (auto consumer = name_field("consumer", parsed.consumer); !consumer) return consumer.error();

  if (auto tls = spec.find("tls"); tls != spec.end() && !tls->is_null()) {
    if (!tls->is_boolean()) return invalid("tls", "must be true or false");
    parsed.tls = tls->get<bool>();
  }
  return parsed;
}

// What a source remembers between polls.
struct NatsSource::State {
  State(NatsSourceKind& kind, NatsSourceSpec source_spec, std::shared_ptr<NatsClient> nats)
      : spec(std::move(source_spec)),
        options(kind.options()),
        clock(kind.clock()),
        client(std::move(nats)),
        registration(kind.live_source_count()),
        description("natsJetStream stream=" + spec.stream + " consumer=" + spec.consumer + " " +
                    client->settings().describe()) {}

  struct PreviousPoll {
    WallTime time;
    uint64_t stream_end = 0;  // delivered stream sequence + num_pending
    uint64_t ack_floor_stream_seq = 0;
  };
  // The message after the ack floor, as last read.
  struct Head {
    uint64_t ack_floor_stream_seq = 0;  // the floor it was read after
    std::optional<NatsStoredMessage> message;
  };

  NatsSourceSpec spec;
  NatsOptions options;
  const Clock& clock;
  std::shared_ptr<NatsClient> client;
  LiveSourceCount::Registration registration;
  std::string description;

  std::mutex mutex;  // one poll at a time
  std::optional<PreviousPoll> previous;
  std::optional<Head> head;
  int message_reads = 0;
  bool failing = false;

  Result<QueueSnapshot> poll(WallTime now);
  Result<QueueSnapshot> read(WallTime now, MonotonicTime deadline);
  std::optional<double> lag_seconds(WallTime now, const NatsConsumerState& consumer,
                                    MonotonicTime deadline);
};

Result<QueueSnapshot> NatsSource::State::poll(WallTime now) {
  std::lock_guard lock(mutex);
  auto result = read(now, clock.monotonic_now() + options.poll_timeout);
  if (!result.ok()) {
    if (!failing) {
      spdlog::warn("nats source={} poll failed code={} error={}", description, result.error().code,
                   result.error().message);
    }
    failing = true;
  } else if (failing) {
    spdlog::info("nats source={} poll recovered lag={}", description, result->consumer_lag);
    failing = false;
  }
  return result;
}

Result<QueueSnapshot> NatsSource::State::read(WallTime now, MonotonicTime deadline) {
  auto info = client->consumer_info(spec.stream, spec.consumer, deadline);
  if (!info) return info.error();
  const NatsConsumerState& consumer = *info;

  QueueSnapshot snapshot;
  snapshot.time = now;
  snapshot.consumer_lag =
      static_cast<int64_t>(consumer.num_pending) + std::max<int64_t>(0, consumer.num_ack_pending);
  snapshot.queue_depth = snapshot.consumer_lag;
  snapshot.lag_seconds_method = "ack-floor";
  snapshot.lag_seconds = lag_seconds(now, consumer, deadline);
  // Push consumers: the server says whether a subscriber is bound to the deliver subject. Without
  // a deliver group that is the one useful subscriber (more would each get every message); with
  // one, how many share it is not reported. Pull consumers: num_waiting counts pull requests
  // waiting for messages, which is 0 exactly when busy consumers have a backlog: not a count of
  // consumers, so unknown.
  if (consumer.push) {
    if (!consumer.push_bound) {
      snapshot.consumers = 0;
    } else if (consumer.deliver_group.empty()) {
      snapshot.consumers = 1;
    }
    if (consumer.deliver_group.empty()) snapshot.max_useful_consumers = 1;
  }
  snapshot.progress_position = static_cast<double>(consumer.ack_floor_consumer_seq);

  PreviousPoll current{now, consumer.delivered_stream_seq + consumer.num_pending,
                       consumer.ack_floor_stream_seq};
  if (previous && now > previous->time && current.stream_end >= previous->stream_end &&
      current.ack_floor_stream_seq >= previous->ack_floor_stream_seq) {
    const double elapsed = seconds_between(previous->time, now);
    snapshot.ingress_rate =
        static_cast<double>(current.stream_end - previous->stream_end) / elapsed;
    snapshot.egress_rate =
        static_cast<double>(current.ack_floor_stream_seq - previous->ack_floor_stream_seq) /
        elapsed;
  }
  previous = current;
  return snapshot;
}

std::optional<double> NatsSource::State::lag_seconds(WallTime now,
                                                     const NatsConsumerState& consumer,
                                                     MonotonicTime deadline) {
  if (consumer.num_pending == 0 && consumer.num_ack_pending <= 0) return 0.0;
  const uint64_t floor = consumer.ack_floor_stream_seq;
  // The message after the floor is read once per floor; a floor without one is read again.
  if (!head || head->ack_floor_stream_seq != floor || !head->message) {
    ++message_reads;
    auto read =
        client->first_message_from(spec.stream, floor + 1, consumer.filter_subject, deadline);
    if (!read) {
      spdlog::debug("nats source={} message after the ack floor unavailable: {}", description,
                    read.error().message);
      head.reset();
      return std::nullopt;
    }
    head = Head{floor, *read};
  }
  if (!head->message) return std::nullopt;  // expired or deleted, nothing after it either
  return std::max(0.0, seconds_between(head->message->time, now));
}

Result<std::unique_ptr<NatsSource>> NatsSource::create(const NatsSourceSpec& spec,
                                                       const SourceCredentials& credentials,
                                                       NatsSourceKind& kind) {
  auto settings = NatsConnectionSettings::from(spec.servers, spec.tls, credentials);
  if (!settings) return settings.error();
  auto client = kind.clients().acquire(*settings);
  return std::unique_ptr<NatsSource>(
      new NatsSource(std::make_unique<State>(kind, spec, std::move(client))));
}

NatsSource::NatsSource(std::unique_ptr<State> state) : state_(std::move(state)) {}

NatsSource::~NatsSource() = default;

Result<QueueSnapshot> NatsSource::poll(WallTime now) { return state_->poll(now); }

std::string NatsSource::describe() const { return state_->description; }

const NatsClient& NatsSource::client() const { return *state_->client; }

int NatsSource::message_reads() const {
  std::lock_guard lock(state_->mutex);
  return state_->message_reads;
}

NatsSourceKind::NatsSourceKind(NatsOptions options) : NatsSourceKind(options, system_clock_) {}

NatsSourceKind::NatsSourceKind(NatsOptions options, Clock& clock)
    : options_(options),
      clock_(clock),
      clients_(std::make_unique<NatsClientPool>(options_, clock_)) {}

NatsSourceKind::~NatsSourceKind() {
  const bool used = clients_->used();
  clients_.reset();  // the sources are gone (they must not outlive the kind): connections close
  if (used) close_nats_library(options_.library_close_timeout);
}

Result<CheckedSourceSpec> NatsSourceKind::check(const nlohmann::json& kind_spec) const {
  auto spec = NatsSourceSpec::parse(kind_spec);
  if (!spec) return spec.error();
  CheckedSourceSpec checked;
  checked.labels = {{"stream", spec->stream}, {"consumer", spec->consumer}};
  auto ref = kind_spec.find("authSecretRef");
  if (ref != kind_spec.end() && !ref->is_null()) {
    if (!ref->is_object() || !ref->contains("name") || !(*ref)["name"].is_string() ||
        (*ref)["name"].get<std::string>().empty()) {
      return invalid("authSecretRef.name", "required");
    }
    checked.credentials = SecretReference{
        (*ref)["name"].get<std::string>(), std::string(kSpecPath) + ".authSecretRef", {}};
    for (std::size_t i = 0; i < spec->servers.size(); ++i) {
      checked.credentials->destinations.push_back(
          {std::string(kSpecPath) + ".servers[" + std::to_string(i) + "]", spec->servers[i]});
    }
  }
  return checked;
}

Result<std::unique_ptr<QueueSource>> NatsSourceKind::create(const nlohmann::json& kind_spec,
                                                            const SourceCredentials& credentials) {
  auto spec = NatsSourceSpec::parse(kind_spec);
  if (!spec) return spec.error();
  auto source = NatsSource::create(*spec, credentials, *this);
  if (!source) return source.error();
  return std::unique_ptr<QueueSource>(std::move(source).value());
}

}  // namespace lagpilot
