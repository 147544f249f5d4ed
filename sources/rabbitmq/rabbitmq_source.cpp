#include "sources/rabbitmq/rabbitmq_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "sources/rabbitmq/amqp_client.h"
#include "sources/rabbitmq/management_client.h"
#include "util/json_integer.h"

namespace lagpilot {

namespace {

constexpr const char* kSpecPath = "spec.source.rabbitmq.";

Error invalid(const std::string& field, const std::string& problem) {
  return Error{"InvalidSpec", kSpecPath + field + ": " + problem};
}

bool has_space(const std::string& text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// An http(s) base URL without credentials, query or fragment; returned without trailing '/'.
Result<std::string> check_management_url(std::string url) {
  const char* field = "managementUrl";
  if (url.size() > 2048) return invalid(field, "longer than 2048 characters");
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return invalid(field, "must start with http:// or https://");
  }
  if (has_space(url)) return invalid(field, "must not contain whitespace");
  if (url.find_first_of("?#") != std::string::npos) {
    return invalid(field, "must be a base URL without query or fragment");
  }
  const std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos) {
    return invalid(field, "must not embed credentials (user:password@); use authSecretRef");
  }
  if (authority.empty() || authority[0] == ':') return invalid(field, "has no host");
  while (url.back() == '/') url.pop_back();
  return url;
}

std::string value_of(const SourceCredentials& credentials, const std::string& key) {
  auto found = credentials.find(key);
  return found == credentials.end() ? std::string{} : found->second;
}

double seconds_between(WallTime from, WallTime to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

Result<RabbitMqSourceSpec> RabbitMqSourceSpec::parse(const nlohmann::json& rabbitmq_spec) {
  if (!rabbitmq_spec.is_object()) {
    return Error{"InvalidSpec", "spec.source.rabbitmq: must be an object"};
  }
  auto string_field = [&](const std::string& field, bool required) -> Result<std::string> {
    auto found = rabbitmq_spec.find(field);
    if (found == rabbitmq_spec.end() || found->is_null()) {
      if (required) return invalid(field, "required");
      return std::string{};
    }
    if (!found->is_string()) return invalid(field, "must be a string");
    std::string value = found->get<std::string>();
    if (required && value.find_first_not_of(" \t") == std::string::npos) {
      return invalid(field, "required");
    }
    return value;
  };

  RabbitMqSourceSpec spec;
  auto host = string_field("host", true);
  if (!host) return host.error();
  if (host->find("://") != std::string::npos || host->find_first_of("/@") != std::string::npos) {
    return invalid("host", "must be a host name or address, not a URL");
  }
  if (host->size() > 253 || has_space(*host)) {
    return invalid("host", "\"" + *host + "\" is not a host name");
  }
  spec.host = *host;

  auto queue = string_field("queue", true);
  if (!queue) return queue.error();
  if (queue->size() > 255) return invalid("queue", "longer than 255 bytes (AMQP's limit)");
  spec.queue = *queue;

  auto vhost = string_field("vhost", false);
  if (!vhost) return vhost.error();
  if (auto found = rabbitmq_spec.find("vhost"); found != rabbitmq_spec.end() && !found->is_null()) {
    if (vhost->empty()) return invalid("vhost", "must not be empty (the default vhost is \"/\")");
    if (vhost->size() > 255) return invalid("vhost", "longer than 255 bytes");
    spec.vhost = *vhost;
  }

  if (auto found = rabbitmq_spec.find("tls"); found != rabbitmq_spec.end() && !found->is_null()) {
    if (!found->is_boolean()) return invalid("tls", "must be true or false");
    spec.tls = found->get<bool>();
  }
  spec.port = spec.tls ? 5671 : 5672;
  if (auto found = rabbitmq_spec.find("port"); found != rabbitmq_spec.end() && !found->is_null()) {
    const auto port = json_int64(*found);
    if (!port && port.error() == JsonIntegerProblem::kNotAnInteger) {
      return invalid("port", "must be an integer");
    }
    if (!port || *port < 1 || *port > 65535) {
      return invalid("port", std::string(port ? "" : "out of range: ") + "must be 1-65535, not " +
                                 found->dump());
    }
    spec.port = static_cast<int>(*port);
  }

  auto management = string_field("managementUrl", false);
  if (!management) return management.error();
  if (!management->empty()) {
    auto url = check_management_url(*management);
    if (!url) return url.error();
    spec.management_url = *url;
  }

  auto mode = string_field("depthMode", false);
  if (!mode) return mode.error();
  if (*mode == "readyAndUnacked") {
    if (spec.management_url.empty()) {
      return invalid("depthMode",
                     "readyAndUnacked needs managementUrl (AMQP does not report unacknowledged "
                     "messages; the management API does)");
    }
    spec.depth_mode = DepthMode::kReadyAndUnacked;
  } else if (!mode->empty() && *mode != "ready") {
    return invalid("depthMode", "must be ready or readyAndUnacked, not \"" + *mode + "\"");
  }

  if (auto ref = rabbitmq_spec.find("authSecretRef");
      ref != rabbitmq_spec.end() && !ref->is_null()) {
    if (!ref->is_object()) return invalid("authSecretRef", "must be an object");
    auto name = ref->find("name");
    if (name == ref->end() || !name->is_string() || name->get<std::string>().empty()) {
      return invalid("authSecretRef.name", "required");
    }
    spec.auth_secret_name = name->get<std::string>();
  }
  return spec;
}

// What a source remembers between polls.
struct RabbitMqSource::State {
  State(RabbitMqSourceKind& kind, RabbitMqSourceSpec source_spec,
        std::shared_ptr<AmqpClient> amqp_client,
        std::shared_ptr<ManagementClient> management_client)
      : spec(std::move(source_spec)),
        options(kind.options_),
        clock(kind.clock_),
        amqp(std::move(amqp_client)),
        management(std::move(management_client)),
        registration(kind.live_sources_),
        description("rabbitmq queue=" + spec.queue + " vhost=" + spec.vhost +
                    " server=" + (spec.tls ? "amqps://" : "amqp://") + spec.host + ":" +
                    std::to_string(spec.port) +
                    (spec.management_url.empty() ? "" : " management=" + spec.management_url)) {}

  RabbitMqSourceSpec spec;
  RabbitMqOptions options;
  const Clock& clock;
  std::shared_ptr<AmqpClient> amqp;
  std::shared_ptr<ManagementClient> management;  // null without managementUrl
  LiveSourceCount::Registration registration;
  std::string description;

  std::mutex mutex;  // one poll at a time
  bool failing = false;
  bool management_failing = false;
  // progress_position: the acknowledgements counted so far, and the server's counter at the last
  // reading (the counter restarts at 0 when the node restarts or the queue is re-declared).
  std::optional<double> progress;
  std::optional<double> last_finished_total;

  Result<QueueSnapshot> poll(WallTime now);
  Result<QueueSnapshot> read(WallTime now, MonotonicTime deadline);
  std::optional<double> progress_from(std::optional<double> finished_total);
  Duration time_left(MonotonicTime deadline) const {
    return std::max(Duration::zero(), Duration(deadline - clock.monotonic_now()));
  }
};

Result<QueueSnapshot> RabbitMqSource::State::poll(WallTime now) {
  std::lock_guard lock(mutex);
  auto result = read(now, clock.monotonic_now() + options.poll_timeout);
  if (!result.ok()) {
    if (!failing) {
      spdlog::warn("rabbitmq source={} poll failed code={} error={}", description,
                   result.error().code, result.error().message);
    }
    failing = true;
  } else if (failing) {
    spdlog::info("rabbitmq source={} poll recovered depth={}", description, result->queue_depth);
    failing = false;
  }
  return result;
}

std::optional<double> RabbitMqSource::State::progress_from(std::optional<double> finished_total) {
  if (!finished_total) return std::nullopt;  // no statistics this poll: unknown, not "unmoved"
  if (!last_finished_total) {
    progress = *finished_total;
  } else if (*finished_total >= *last_finished_total) {
    *progress += *finished_total - *last_finished_total;
  } else {
    // The server's counter restarted (node restart, queue re-declared): not a rewind - what it
    // counts now was finished since the restart.
    *progress += *finished_total;
  }
  last_finished_total = finished_total;
  return progress;
}

Result<QueueSnapshot> RabbitMqSource::State::read(WallTime now, MonotonicTime deadline) {
  auto counts = amqp->queue_counts(spec.queue, deadline);
  if (!counts) return counts.error();

  std::optional<ManagementQueueStats> stats;
  if (management) {
    auto read_stats = management->queue_stats(spec.vhost, spec.queue, time_left(deadline));
    if (read_stats.ok()) {
      stats = std::move(read_stats).value();
      if (std::exchange(management_failing, false)) {
        spdlog::info("rabbitmq source={} management API recovered", description);
      }
    } else if (spec.depth_mode == DepthMode::kReadyAndUnacked) {
      return read_stats.error();  // the depth would be incomplete
    } else if (!std::exchange(management_failing, true)) {
      spdlog::warn("rabbitmq source={} management API failed (rates, lagSeconds unknown): {}",
                   description, read_stats.error().message);
    }
  }

  QueueSnapshot snapshot;
  snapshot.time = now;
  snapshot.consumers = counts->consumers;
  int64_t depth = counts->ready;
  if (spec.depth_mode == DepthMode::kReadyAndUnacked) {
    if (!stats->messages_unacknowledged) {
      return Error{"SourceError", "rabbitmq management " + spec.management_url + ": queue " +
                                      spec.queue +
                                      " has no messages_unacknowledged yet (statistics of a new "
                                      "queue appear within about 5 s)"};
    }
    depth += *stats->messages_unacknowledged;
  }
  snapshot.queue_depth = depth;
  snapshot.consumer_lag = depth;

  if (stats) {
    if (stats->single_active_consumer) snapshot.max_useful_consumers = 1;
    snapshot.ingress_rate = stats->publish_rate;
    snapshot.egress_rate = stats->deliver_get_rate;
    snapshot.progress_position = progress_from(stats->finished_total);
  }

  if (depth == 0) {
    snapshot.lag_seconds = 0.0;
    snapshot.lag_seconds_method = "empty";
  } else if (counts->ready > 0 && stats && stats->head_message_timestamp) {
    snapshot.lag_seconds = std::max(0.0, seconds_between(*stats->head_message_timestamp, now));
    snapshot.lag_seconds_method = "head-timestamp";
  } else if (snapshot.egress_rate && *snapshot.egress_rate > 0) {
    snapshot.lag_seconds = static_cast<double>(depth) / *snapshot.egress_rate;
    snapshot.lag_seconds_method = "depth-over-egress";
  }
  return snapshot;
}

RabbitMqSource::RabbitMqSource(std::unique_ptr<State> state) : state_(std::move(state)) {}

RabbitMqSource::~RabbitMqSource() = default;

Result<QueueSnapshot> RabbitMqSource::poll(WallTime now) { return state_->poll(now); }

std::string RabbitMqSource::describe() const { return state_->description; }

const AmqpClient& RabbitMqSource::amqp_client() const { return *state_->amqp; }

RabbitMqSourceKind::RabbitMqSourceKind(RabbitMqOptions options)
    : RabbitMqSourceKind(options, system_clock_) {}

RabbitMqSourceKind::RabbitMqSourceKind(RabbitMqOptions options, Clock& clock)
    : options_(options),
      clock_(clock),
      amqp_clients_(std::make_unique<AmqpClientPool>(clock_)),
      management_clients_(std::make_unique<ManagementClientPool>()) {}

RabbitMqSourceKind::~RabbitMqSourceKind() = default;

std::size_t RabbitMqSourceKind::amqp_connections() const { return amqp_clients_->size(); }

Result<CheckedSourceSpec> RabbitMqSourceKind::check(const nlohmann::json& kind_spec) const {
  auto spec = RabbitMqSourceSpec::parse(kind_spec);
  if (!spec) return spec.error();
  CheckedSourceSpec checked;
  checked.labels = {{"queue", spec->queue}};
  if (!spec->auth_secret_name.empty()) {
    checked.credentials =
        SecretReference{spec->auth_secret_name,
                        "spec.source.rabbitmq.authSecretRef",
                        {{"spec.source.rabbitmq.host", host_port(spec->host, spec->port)}}};
    if (!spec->management_url.empty()) {
      checked.credentials->destinations.push_back(
          {"spec.source.rabbitmq.managementUrl", spec->management_url});
    }
  }
  return checked;
}

Result<std::unique_ptr<QueueSource>> RabbitMqSourceKind::create(
    const nlohmann::json& kind_spec, const SourceCredentials& credentials) {
  auto spec = RabbitMqSourceSpec::parse(kind_spec);
  if (!spec) return spec.error();

  AmqpConnectionSettings amqp;
  amqp.host = spec->host;
  amqp.port = spec->port;
  amqp.vhost = spec->vhost;
  amqp.tls = spec->tls;
  if (!spec->auth_secret_name.empty()) {
    const std::string where =
        "spec.source.rabbitmq.authSecretRef: Secret " + spec->auth_secret_name + ": ";
    const std::string username = value_of(credentials, "username");
    const std::string password = value_of(credentials, "password");
    const std::string ca = value_of(credentials, "ca.crt");
    if (username.empty() != password.empty()) {
      return Error{"InvalidCredentials", where + "username and password go together; " +
                                             (username.empty() ? "username" : "password") +
                                             " is missing"};
    }
    if (username.empty() && ca.empty()) {
      return Error{"InvalidCredentials",
                   where + "has none of the keys username/password or ca.crt"};
    }
    if (!username.empty()) {
      amqp.username = username;
      amqp.password = password;
    }
    amqp.ca_pem = ca;
  }

  std::shared_ptr<ManagementClient> management;
  if (!spec->management_url.empty()) {
    try {
      management = management_clients_->acquire(
          ManagementSettings{spec->management_url, amqp.username, amqp.password, amqp.ca_pem});
    } catch (const std::exception& e) {
      return Error{"InvalidSpec", std::string("spec.source.rabbitmq.managementUrl: ") + e.what()};
    }
  }
  auto state = std::make_unique<RabbitMqSource::State>(*this, *spec, amqp_clients_->acquire(amqp),
                                                       std::move(management));
  spdlog::debug("rabbitmq source={} created", state->description);
  return std::unique_ptr<QueueSource>(new RabbitMqSource(std::move(state)));
}

}  // namespace lagpilot
