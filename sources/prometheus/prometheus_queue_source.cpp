#include "sources/prometheus/prometheus_queue_source.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "util/hash.h"
#include "util/json_integer.h"

namespace lagpilot {
namespace {

constexpr const char* kSpecPath = "spec.source.prometheus";
constexpr std::size_t kMaxQueryLength = 4096;
// A lagSecondsQuery such as time() - oldest_timestamp can come out slightly negative when the
// exporter's clock is ahead of Prometheus': up to this much counts as 0.
constexpr double kLagSecondsSkew = 1.0;
// Below this, the lag query is not sent: the poll would overrun its timeout.
constexpr std::chrono::milliseconds kLeastQueryTime{100};
// More consumers than this is no consumer count (a query summing something else).
constexpr double kMostConsumers = 1'000'000;

Error invalid(const std::string& field, const std::string& problem) {
  return Error{"InvalidSpec", std::string(kSpecPath) + "." + field + ": " + problem};
}

std::string number_text(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

Result<std::string> string_field(const nlohmann::json& spec, const std::string& field,
                                 bool required) {
  auto found = spec.find(field);
  if (found == spec.end() || found->is_null()) {
    if (required) return invalid(field, "required");
    return std::string{};
  }
  if (!found->is_string()) return invalid(field, "must be a string");
  return found->get<std::string>();
}

bool blank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// The client's error as this source reports it: no answer, or an answer that is no result.
Error source_error(const Error& client_error, const std::string& field) {
  if (client_error.code == kPrometheusUnreachable) {
    // As the client wrote it: the outage gate repeats the first failure's message to every source
    // of the server, so it must not name one source's field.
    return Error{"SourceUnreachable", client_error.message};
  }
  // "prometheus <url>: <problem>" -> "prometheus <url>: spec.source.prometheus.<field>: <problem>"
  std::string message = client_error.message;
  const auto colon = message.find(": ");
  const std::string where = std::string(kSpecPath) + "." + field + ": ";
  if (colon == std::string::npos) {
    message = where + message;
  } else {
    message.insert(colon + 2, where);
  }
  return Error{"SourceQueryFailed", std::move(message)};
}

}  // namespace

Result<PrometheusQueueSpec> PrometheusQueueSpec::parse(const nlohmann::json& prometheus_spec) {
  if (!prometheus_spec.is_object()) {
    return Error{"InvalidSpec", std::string(kSpecPath) + ": must be an object"};
  }
  PrometheusQueueSpec spec;
  auto url = string_field(prometheus_spec, "serverUrl", true);
  if (!url) return url.error();
  if (blank(*url)) return invalid("serverUrl", "required");
  auto checked_url = check_prometheus_server_url(*url, std::string(kSpecPath) + ".serverUrl");
  if (!checked_url) return checked_url.error();
  spec.server_url = *checked_url;

  auto depth = string_field(prometheus_spec, "depthQuery", true);
  if (!depth) return depth.error();
  if (blank(*depth)) return invalid("depthQuery", "required");
  if (depth->size() > kMaxQueryLength) return invalid("depthQuery", "longer than 4096 characters");
  spec.depth_query = *depth;

  auto lag = string_field(prometheus_spec, "lagSecondsQuery", false);
  if (!lag) return lag.error();
  if (prometheus_spec.contains("lagSecondsQuery") &&
      !prometheus_spec["lagSecondsQuery"].is_null() && blank(*lag)) {
    return invalid("lagSecondsQuery", "must not be empty (omit it to leave lagSeconds unknown)");
  }
  if (lag->size() > kMaxQueryLength) {
    return invalid("lagSecondsQuery", "longer than 4096 characters");
  }
  spec.lag_seconds_query = *lag;

  auto consumers = string_field(prometheus_spec, "consumersQuery", false);
  if (!consumers) return consumers.error();
  if (prometheus_spec.contains("consumersQuery") && !prometheus_spec["consumersQuery"].is_null() &&
      blank(*consumers)) {
    return invalid("consumersQuery", "must not be empty (omit it to leave consumers unknown)");
  }
  if (consumers->size() > kMaxQueryLength) {
    return invalid("consumersQuery", "longer than 4096 characters");
  }
  spec.consumers_query = *consumers;

  if (auto found = prometheus_spec.find("timeoutSeconds");
      found != prometheus_spec.end() && !found->is_null()) {
    const auto seconds = json_int64(*found);
    if (!seconds && seconds.error() == JsonIntegerProblem::kNotAnInteger) {
      return invalid("timeoutSeconds", "must be an integer");
    }
    if (!seconds || *seconds < 1 || *seconds > 60) {
      return invalid("timeoutSeconds", std::string(seconds ? "" : "out of range: ") +
                                           "must be 1-60, not " + found->dump());
    }
    spec.timeout = std::chrono::seconds(*seconds);
  }

  if (auto found = prometheus_spec.find("authSecretRef");
      found != prometheus_spec.end() && !found->is_null()) {
    if (!found->is_object()) return invalid("authSecretRef", "must be an object");
    auto name = found->find("name");
    if (name == found->end() || !name->is_string() || name->get<std::string>().empty()) {
      return invalid("authSecretRef.name", "required");
    }
    spec.auth_secret_name = name->get<std::string>();
  }
  return spec;
}

std::string prometheus_query_label(const std::string& query) {
  std::string collapsed;
  for (char c : query) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed += ' ';
    } else {
      collapsed += c;
    }
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  if (collapsed.size() <= kQueryLabelLength) return collapsed;
  char hash[16];
  std::snprintf(hash, sizeof(hash), "#%08x", fnv1a32(query));
  const std::string suffix = std::string("...") + hash;
  return collapsed.substr(0, kQueryLabelLength - suffix.size()) + suffix;
}

PrometheusQueueSource::PrometheusQueueSource(PrometheusQueueSpec spec,
                                             std::shared_ptr<PrometheusQueryClient> client,
                                             Clock& clock, std::shared_ptr<std::atomic<int>> live)
    : spec_(std::move(spec)),
      client_(std::move(client)),
      clock_(clock),
      description_("prometheus " + spec_.server_url +
                   " depthQuery=" + prometheus_one_line(spec_.depth_query, 200)),
      live_(std::move(live)) {
  if (!spec_.lag_seconds_query.empty()) {
    description_ += " lagSecondsQuery=" + prometheus_one_line(spec_.lag_seconds_query, 200);
  }
  if (!spec_.consumers_query.empty()) {
    description_ += " consumersQuery=" + prometheus_one_line(spec_.consumers_query, 200);
  }
  if (live_) ++*live_;
}

PrometheusQueueSource::~PrometheusQueueSource() {
  if (live_) --*live_;
}

std::string PrometheusQueueSource::describe() const { return description_; }

Result<QueueSnapshot> PrometheusQueueSource::poll(WallTime now) {
  const MonotonicTime started = clock_.monotonic_now();
  // What the queries before it left of timeoutSeconds; an error when too little is left.
  auto time_left = [&](const char* field) -> Result<std::chrono::milliseconds> {
    const auto left = spec_.timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                          clock_.monotonic_now() - started);
    if (left < kLeastQueryTime) {
      return Error{"SourceUnreachable", "prometheus " + spec_.server_url +
                                            ": the queries before it took the whole "
                                            "timeoutSeconds; " +
                                            field + " not sent"};
    }
    return left;
  };
  Result<QueueSnapshot> result = [&]() -> Result<QueueSnapshot> {
    auto depth = this->depth(now, spec_.timeout);
    if (!depth) return depth.error();
    QueueSnapshot snapshot;
    snapshot.time = now;
    snapshot.queue_depth = static_cast<int64_t>(std::llround(*depth));
    snapshot.consumer_lag = snapshot.queue_depth;
    if (!spec_.lag_seconds_query.empty()) {
      auto left = time_left("lagSecondsQuery");
      if (!left) return left.error();
      auto lag = lag_seconds(now, *left);
      if (!lag) return lag.error();
      snapshot.lag_seconds_method = "query";
      snapshot.lag_seconds = *lag;
      // No sample for the age of the oldest message of an empty queue: there is none, 0 s behind.
      if (!snapshot.lag_seconds && snapshot.queue_depth == 0) snapshot.lag_seconds = 0.0;
    }
    if (!spec_.consumers_query.empty()) {
      auto left = time_left("consumersQuery");
      if (!left) return left.error();
      auto consumers = this->consumers(now, *left);
      if (!consumers) return consumers.error();
      snapshot.consumers = *consumers;
    }
    return snapshot;
  }();
  log_transition(result);
  return result;
}

Result<PrometheusQueueSource::OneSample> PrometheusQueueSource::one_sample(
    const std::string& field, const std::string& query, WallTime now,
    std::chrono::milliseconds timeout, const std::string& aggregate_hint, const std::string& noun) {
  const std::string where =
      "prometheus " + spec_.server_url + ": " + kSpecPath + "." + field + ": ";
  auto answer = client_->instant_query(query, now, timeout);
  if (!answer) return source_error(answer.error(), field);
  const auto& samples = answer->samples;
  if (samples.empty()) return OneSample{std::nullopt, where + "returned no sample"};
  if (samples.size() > 1) {
    return Error{"SourceQueryFailed", where + "returned " + std::to_string(samples.size()) +
                                          " series, expected one: aggregate them, e.g. " +
                                          aggregate_hint + "; first series " +
                                          prometheus_labels_text(samples[0].labels) + ", " +
                                          prometheus_labels_text(samples[1].labels)};
  }
  const PrometheusSample& sample = samples[0];
  if (now - sample.time > kMaxAnswerAge) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - sample.time).count();
    return OneSample{std::nullopt, where + "the answer is stale: its sample is " +
                                       std::to_string(age) + " s older than the poll (more than " +
                                       std::to_string(kMaxAnswerAge.count()) + " s)"};
  }
  if (std::isnan(sample.value)) return OneSample{std::nullopt, where + "returned NaN"};
  if (std::isinf(sample.value)) {
    return Error{"SourceQueryFailed",
                 where + "returned " + (sample.value > 0 ? "+Inf" : "-Inf") + ", not " + noun};
  }
  return OneSample{sample.value, where + "returned " + number_text(sample.value)};
}

Result<double> PrometheusQueueSource::depth(WallTime now, std::chrono::milliseconds timeout) {
  auto sample =
      one_sample("depthQuery", spec_.depth_query, now, timeout, "sum(...) or max(...)", "a depth");
  if (!sample) return sample.error();
  if (!sample->value) {
    std::string message = sample->what + ": the depth is unknown";
    if (message.find("returned no sample") != std::string::npos) {
      message += " (is the exporter scraped, and does the selector match a series?)";
    }
    return Error{"SourceNoData", std::move(message)};
  }
  if (*sample->value < 0) {
    return Error{"SourceQueryFailed", sample->what + ": a depth cannot be negative"};
  }
  if (*sample->value >= 9.2e18) {
    return Error{"SourceQueryFailed", sample->what + ", too large for a depth"};
  }
  return *sample->value;
}

Result<std::optional<double>> PrometheusQueueSource::lag_seconds(
    WallTime now, std::chrono::milliseconds timeout) {
  auto sample = one_sample("lagSecondsQuery", spec_.lag_seconds_query, now, timeout, "max(...)",
                           "an age in seconds");
  if (!sample) return sample.error();
  // No sample, NaN or stale: lagSeconds is unknown, the depth still counts.
  if (!sample->value) return std::optional<double>();
  if (*sample->value < -kLagSecondsSkew) {
    return Error{"SourceQueryFailed", sample->what + ": an age in seconds cannot be negative"};
  }
  return std::optional<double>(std::max(*sample->value, 0.0));
}

Result<std::optional<int>> PrometheusQueueSource::consumers(WallTime now,
                                                            std::chrono::milliseconds timeout) {
  auto sample = one_sample("consumersQuery", spec_.consumers_query, now, timeout,
                           "sum(...) or count(...)", "a consumer count");
  if (!sample) return sample.error();
  // No sample, NaN or stale: unknown (count() of nothing is no sample, not 0: see the CRD).
  if (!sample->value) return std::optional<int>();
  if (*sample->value < 0) {
    return Error{"SourceQueryFailed", sample->what + ": a consumer count cannot be negative"};
  }
  if (*sample->value > kMostConsumers) {
    return Error{"SourceQueryFailed", sample->what + ", more consumers than " +
                                          std::to_string(kMostConsumers) + ": not a count"};
  }
  return std::optional<int>(static_cast<int>(std::llround(*sample->value)));
}

// Logs when the outcome changes (an error code, or success), not every poll.
void PrometheusQueueSource::log_transition(const Result<QueueSnapshot>& result) {
  std::string outcome = result.ok() ? "" : result.error().code;
  {
    std::lock_guard lock(mutex_);
    if (outcome == last_outcome_) return;
    last_outcome_ = outcome;
  }
  if (result.ok()) {
    spdlog::info("prometheus source={} polling: depth={}", description_, result->queue_depth);
  } else {
    spdlog::warn("prometheus source={} {}: {}", description_, result.error().code,
                 result.error().message);
  }
}

PrometheusQueueKind::PrometheusQueueKind(Clock* clock,
                                         std::shared_ptr<PrometheusClientPool> clients)
    : clock_(clock ? *clock : system_clock_),
      clients_(clients ? std::move(clients) : std::make_shared<PrometheusClientPool>()),
      live_sources_(std::make_shared<std::atomic<int>>(0)) {}

PrometheusQueueKind::~PrometheusQueueKind() = default;

Result<CheckedSourceSpec> PrometheusQueueKind::check(const nlohmann::json& kind_spec) const {
  auto spec = PrometheusQueueSpec::parse(kind_spec);
  if (!spec) return spec.error();
  CheckedSourceSpec checked;
  checked.labels["query"] = prometheus_query_label(spec->depth_query);
  if (!spec->auth_secret_name.empty()) {
    checked.credentials =
        SecretReference{spec->auth_secret_name,
                        std::string(kSpecPath) + ".authSecretRef",
                        {{std::string(kSpecPath) + ".serverUrl", spec->server_url}}};
  }
  return checked;
}

Result<std::unique_ptr<QueueSource>> PrometheusQueueKind::create(
    const nlohmann::json& kind_spec, const SourceCredentials& credentials) {
  auto spec = PrometheusQueueSpec::parse(kind_spec);
  if (!spec) return spec.error();
  auto resolved = prometheus_credentials(std::string(kSpecPath) + ".authSecretRef",
                                         spec->auth_secret_name, credentials);
  if (!resolved) return resolved.error();
  auto client = clients_->client_for(spec->server_url, *resolved);
  if (!client) return client.error();
  return std::unique_ptr<QueueSource>(std::make_unique<PrometheusQueueSource>(
      std::move(*spec), std::move(*client), clock_, live_sources_));
}

}  // namespace lagpilot
