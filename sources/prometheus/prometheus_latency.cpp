// PrometheusLatencySource: spec.latency.prometheus over the shared query client
// (prometheus_query_client.h).
#include "sources/prometheus/prometheus_latency.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <mutex>

#include "util/json_integer.h"

namespace lagpilot {
namespace {

constexpr const char* kSpecPath = "spec.latency.prometheus.";
constexpr std::size_t kMaxQueryLength = 4096;

Error invalid(const std::string& field, const std::string& problem) {
  return Error{"InvalidSpec", kSpecPath + field + ": " + problem};
}

bool valid_metric_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Result<PrometheusLatencySpec> parse_prometheus_latency_spec(const nlohmann::json& latency_spec) {
  if (!latency_spec.is_object()) return Error{"InvalidSpec", "spec.latency: must be an object"};
  const nlohmann::json* prom = &latency_spec;
  if (auto found = latency_spec.find("prometheus"); found != latency_spec.end()) {
    prom = &*found;
  } else if (!latency_spec.contains("serverUrl")) {
    return Error{"InvalidSpec", "spec.latency.prometheus: required"};
  }
  if (!prom->is_object()) return Error{"InvalidSpec", "spec.latency.prometheus: must be an object"};

  auto string_field = [&](const std::string& field, bool required) -> Result<std::string> {
    auto found = prom->find(field);
    if (found == prom->end() || found->is_null()) {
      if (required) return invalid(field, "required");
      return std::string{};
    }
    if (!found->is_string()) return invalid(field, "must be a string");
    std::string value = found->get<std::string>();
    if (required && value.find_first_not_of(" \t\r\n") == std::string::npos) {
      return invalid(field, "required");
    }
    return value;
  };

  PrometheusLatencySpec spec;
  auto url = string_field("serverUrl", true);
  if (!url) return url.error();
  auto checked_url = check_prometheus_server_url(*url, "spec.latency.prometheus.serverUrl");
  if (!checked_url) return checked_url.error();
  spec.server_url = *checked_url;

  auto query = string_field("query", true);
  if (!query) return query.error();
  if (query->size() > kMaxQueryLength) return invalid("query", "longer than 4096 characters");
  spec.query = *query;

  auto name = string_field("name", false);
  if (!name) return name.error();
  if (!name->empty()) {
    if (!valid_metric_name(*name)) {
      return invalid("name", "\"" + *name +
                                 "\" must be letters, digits and '_', start with a letter, at "
                                 "most 63 characters");
    }
    spec.name = *name;
  }

  if (auto found = prom->find("timeoutSeconds"); found != prom->end() && !found->is_null()) {
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

  if (auto found = prom->find("authSecretRef"); found != prom->end() && !found->is_null()) {
    if (!found->is_object()) return invalid("authSecretRef", "must be an object");
    auto secret_name = found->find("name");
    if (secret_name == found->end() || !secret_name->is_string() ||
        secret_name->get<std::string>().empty()) {
      return invalid("authSecretRef.name", "required");
    }
    spec.auth_secret_name = secret_name->get<std::string>();
  }
  return spec;
}

class PrometheusLatencySource::Impl {
 public:
  Impl(PrometheusLatencySpec spec, std::shared_ptr<PrometheusQueryClient> client)
      : spec_(std::move(spec)),
        client_(std::move(client)),
        description_("prometheus " + spec_.server_url + " name=" + spec_.name +
                     " query=" + prometheus_one_line(spec_.query, 200)) {}

  const PrometheusLatencySpec& spec() const { return spec_; }
  const std::string& description() const { return description_; }
  const PrometheusQueryClient& client() const { return *client_; }

  Result<double> query(WallTime now) {
    Result<double> result = evaluate(now);
    log_transition(result);
    return result;
  }

 private:
  Error failed(const std::string& problem) const {
    return Error{"LatencyQueryFailed", "prometheus " + spec_.server_url + ": " + problem};
  }
  Error no_data(const std::string& problem) const {
    return Error{"LatencyNoData", "prometheus " + spec_.server_url + ": " + problem};
  }

  Result<double> evaluate(WallTime now) {
    auto answer = client_->instant_query(spec_.query, now, spec_.timeout);
    if (!answer) return Error{"LatencyQueryFailed", answer.error().message};
    const auto& samples = answer->samples;
    if (samples.empty()) return no_data("query returned no series");
    if (samples.size() > 1) {
      return failed("query returned " + std::to_string(samples.size()) +
                    " series, expected one (aggregate it, e.g. sum(...) by (le) inside "
                    "histogram_quantile, or max(...)); first series " +
                    prometheus_labels_text(samples[0].labels) + ", " +
                    prometheus_labels_text(samples[1].labels));
    }
    const double value = samples[0].value;
    if (std::isnan(value)) {
      return no_data("query returned NaN (no observations in the query's range?)");
    }
    if (std::isinf(value)) {
      return failed(std::string("query returned ") + (value > 0 ? "+Inf" : "-Inf") +
                    " (for histogram_quantile: the quantile lies above the largest finite "
                    "bucket; add a larger bucket)");
    }
    return value;
  }

  // Logs when the outcome changes (failure code or recovery), not every poll.
  void log_transition(const Result<double>& result) {
    std::string code = result.ok() ? "" : result.error().code;
    {
      std::lock_guard lock(mutex_);
      if (code == last_code_) return;
      last_code_ = code;
    }
    if (result.ok()) {
      spdlog::info("latency source={} recovered value={}", description_, *result);
    } else if (result.error().code == "LatencyNoData") {
      spdlog::info("latency source={} no data: {}", description_, result.error().message);
    } else {
      spdlog::warn("latency source={} query failed: {}", description_, result.error().message);
    }
  }

  PrometheusLatencySpec spec_;
  std::shared_ptr<PrometheusQueryClient> client_;  // shared by the sources of one server
  std::string description_;
  std::mutex mutex_;
  std::string last_code_;
};

namespace {

Result<PrometheusCredentials> latency_credentials(
    const PrometheusLatencySpec& spec, const std::map<std::string, std::string>& secret_values) {
  return prometheus_credentials("spec.latency.prometheus.authSecretRef", spec.auth_secret_name,
                                secret_values);
}

}  // namespace

Result<std::unique_ptr<PrometheusLatencySource>> PrometheusLatencySource::create(
    const nlohmann::json& latency_spec, const std::map<std::string, std::string>& secret_values,
    std::shared_ptr<OutageGate> gate) {
  auto spec = parse_prometheus_latency_spec(latency_spec);
  if (!spec) return spec.error();
  auto credentials = latency_credentials(*spec, secret_values);
  if (!credentials) return credentials.error();
  auto client =
      PrometheusQueryClient::create(spec->server_url, std::move(*credentials), std::move(gate));
  if (!client) return client.error();
  return create_with_client(std::move(*spec), std::move(*client));
}

std::unique_ptr<PrometheusLatencySource> PrometheusLatencySource::create_with_client(
    PrometheusLatencySpec spec, std::shared_ptr<PrometheusQueryClient> client) {
  auto impl = std::make_unique<Impl>(std::move(spec), std::move(client));
  return std::unique_ptr<PrometheusLatencySource>(new PrometheusLatencySource(std::move(impl)));
}

PrometheusLatencySource::PrometheusLatencySource(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

PrometheusLatencySource::~PrometheusLatencySource() = default;

Result<double> PrometheusLatencySource::query(WallTime now) { return impl_->query(now); }

std::string PrometheusLatencySource::describe() const { return impl_->description(); }

const PrometheusLatencySpec& PrometheusLatencySource::spec() const { return impl_->spec(); }

Result<CheckedLatencySpec> PrometheusLatencyKind::check(const nlohmann::json& kind_spec) const {
  auto spec = parse_prometheus_latency_spec(kind_spec);
  if (!spec) return spec.error();
  CheckedLatencySpec checked;
  checked.metric_name = spec->name;
  if (!spec->auth_secret_name.empty()) {
    checked.credentials =
        SecretReference{spec->auth_secret_name,
                        "spec.latency.prometheus.authSecretRef",
                        {{"spec.latency.prometheus.serverUrl", spec->server_url}}};
  }
  return checked;
}

Result<std::unique_ptr<LatencySource>> PrometheusLatencyKind::create(
    const nlohmann::json& kind_spec, const SourceCredentials& credentials) {
  auto spec = parse_prometheus_latency_spec(kind_spec);
  if (!spec) return spec.error();
  auto resolved = latency_credentials(*spec, credentials);
  if (!resolved) return resolved.error();
  auto client = clients_->client_for(spec->server_url, *resolved);
  if (!client) return client.error();
  return std::unique_ptr<LatencySource>(
      PrometheusLatencySource::create_with_client(std::move(*spec), std::move(*client)));
}

}  // namespace lagpilot
