// The Prometheus HTTP API client behind PrometheusLatencySource. The only translation unit of the
// latency reader that includes cpprestsdk.
#include "sources/prometheus/prometheus_latency.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <mutex>
#include <vector>

namespace lagpilot {
namespace {

namespace http = web::http;
namespace client = web::http::client;

constexpr const char* kSpecPath = "spec.latency.prometheus.";
constexpr std::size_t kMaxQueryLength = 4096;
constexpr std::size_t kMaxServerUrlLength = 2048;

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

// Checks an http(s) base URL; returns it without trailing slashes.
Result<std::string> check_server_url(std::string url) {
  if (url.size() > kMaxServerUrlLength) return invalid("serverUrl", "longer than 2048 characters");
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return invalid("serverUrl", "must start with http:// or https://");
  }
  if (url.find_first_of("?#") != std::string::npos) {
    return invalid("serverUrl", "must be a base URL without query or fragment");
  }
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos) {
    // Credentials in the URL would end up in logs and status: they belong in authSecretRef.
    return invalid("serverUrl", "must not embed credentials (user:password@); use authSecretRef");
  }
  if (authority.empty() || authority[0] == ':') return invalid("serverUrl", "has no host");
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return invalid("serverUrl", "must not contain whitespace");
  }
  while (url.back() == '/') url.pop_back();
  try {
    web::uri parsed(url);
    if (parsed.host().empty()) return invalid("serverUrl", "has no host");
  } catch (const std::exception& e) {
    return invalid("serverUrl", std::string("is not a valid URL: ") + e.what());
  }
  return url;
}

std::string one_line(std::string text, std::size_t limit = 300) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

std::optional<double> parse_sample_value(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double parsed = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return parsed;
}

std::string labels_text(const nlohmann::json& metric) {
  if (!metric.is_object() || metric.empty()) return "{}";
  std::string out = "{";
  for (const auto& [key, value] : metric.items()) {
    if (out.size() > 1) out += ", ";
    out += key + "=\"" + (value.is_string() ? value.get<std::string>() : value.dump()) + "\"";
  }
  return out + "}";
}

std::string format_epoch_seconds(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buffer;
}

struct RawResponse {
  int status = 0;
  std::string body;
  std::string failure;  // transport error text when status == 0
};

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
  auto checked_url = check_server_url(*url);
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
    if (!found->is_number_integer() && !found->is_number_unsigned()) {
      return invalid("timeoutSeconds", "must be an integer");
    }
    auto seconds = found->get<int64_t>();
    if (seconds < 1 || seconds > 60) {
      return invalid("timeoutSeconds", "must be 1-60, not " + std::to_string(seconds));
    }
    spec.timeout = std::chrono::seconds(seconds);
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
  Impl(PrometheusLatencySpec spec, std::string authorization, std::string ca_pem,
       std::shared_ptr<OutageGate> gate)
      : spec_(std::move(spec)),
        authorization_(std::move(authorization)),
        gate_(std::move(gate)),
        description_("prometheus " + spec_.server_url + " name=" + spec_.name +
                     " query=" + one_line(spec_.query, 200)) {
    client::http_client_config config;
    // cpprest's timeout is an idle timer per read; query() also bounds the whole request.
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(spec_.timeout) +
                       std::chrono::seconds(1));
    config.set_validate_certificates(true);
    if (!ca_pem.empty()) {
      config.set_ssl_context_callback([ca = std::move(ca_pem)](boost::asio::ssl::context& ctx) {
        boost::system::error_code ignored;  // a bad bundle shows up as a handshake failure
        ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()), ignored);
      });
    }
    client_ = std::make_unique<client::http_client>(spec_.server_url, config);
  }

  const PrometheusLatencySpec& spec() const { return spec_; }
  const std::string& description() const { return description_; }

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

  // Fails only when the server did not answer (refused, timed out, no TLS handshake); an answer
  // that is an error is a RawResponse.
  Result<RawResponse> send(WallTime now) {
    http::http_request request(http::methods::POST);
    request.set_request_uri("/api/v1/query");
    web::uri_builder form;
    form.append_query("query", spec_.query);
    form.append_query("time", format_epoch_seconds(now));
    form.append_query("timeout", std::to_string(spec_.timeout.count()) + "s");
    // A byte-vector stream: set_body(std::string) goes through cpprest's char-to-byte stream cast,
    // which UBSan's vptr check reports.
    const std::string form_body = form.query();
    std::vector<unsigned char> bytes(form_body.begin(), form_body.end());
    const auto length = bytes.size();
    request.set_body(concurrency::streams::bytestream::open_istream(std::move(bytes)), length,
                     "application/x-www-form-urlencoded");
    request.headers().add("Accept", "application/json");
    request.headers().add("User-Agent", "lagpilot/0.1");
    if (!authorization_.empty()) request.headers().add("Authorization", authorization_);

    pplx::cancellation_token_source cancel;
    auto promise = std::make_shared<std::promise<RawResponse>>();
    auto future = promise->get_future();
    client_->request(request, cancel.get_token())
        .then([promise](pplx::task<http::http_response> response_task) {
          try {
            http::http_response response = response_task.get();
            int status = response.status_code();
            response.extract_utf8string(true).then([promise, status](pplx::task<std::string> body) {
              try {
                promise->set_value(RawResponse{status, body.get(), ""});
              } catch (const std::exception& e) {
                promise->set_value(
                    RawResponse{0, "", std::string("reading the body: ") + e.what()});
              }
            });
          } catch (const std::exception& e) {
            promise->set_value(RawResponse{0, "", e.what()});
          }
        });
    // A whole-request deadline (network I/O, so real time rather than the injected clock).
    if (future.wait_for(spec_.timeout) != std::future_status::ready) {
      cancel.cancel();
      return failed("no answer within " + std::to_string(spec_.timeout.count()) +
                    " s (timeoutSeconds)");
    }
    RawResponse raw = future.get();
    if (raw.status == 0) {
      std::string problem = "request failed: " + one_line(raw.failure);
      if (spec_.server_url.rfind("https://", 0) == 0 &&
          (raw.failure.find("SSL") != std::string::npos ||
           raw.failure.find("handshake") != std::string::npos ||
           raw.failure.find("certificate") != std::string::npos)) {
        problem +=
            " (TLS: is the server certificate signed by a system CA or by ca.crt in "
            "authSecretRef, and issued for this host?)";
      }
      return failed(problem);
    }
    return raw;
  }

  // Through the server's outage gate (util/outage_gate.h): while the server does not answer,
  // one query at a time waits for it and the other monitors' queries fail at once.
  Result<RawResponse> send_gated(WallTime now) {
    const auto send_caught = [&]() -> Result<RawResponse> {
      try {
        return send(now);
      } catch (const std::exception& e) {
        return failed(std::string("request failed: ") + one_line(e.what()));
      }
    };
    if (!gate_) return send_caught();
    return gate_->call(spec_.server_url, "LatencyQueryFailed", send_caught,
                       [](const Result<RawResponse>& sent) { return sent.ok(); });
  }

  Result<double> evaluate(WallTime now) {
    Result<RawResponse> sent = send_gated(now);
    if (!sent) return sent.error();
    const RawResponse& raw = *sent;

    nlohmann::json body = nlohmann::json::parse(raw.body, nullptr, false);
    const bool api_json = body.is_object() && body.contains("status");
    if (raw.status != 200) {
      if (api_json && body.value("status", "") == "error") {
        return failed("query failed (HTTP " + std::to_string(raw.status) + " " +
                      body.value("errorType", "error") +
                      "): " + one_line(body.value("error", "no error message")));
      }
      std::string problem = "HTTP " + std::to_string(raw.status);
      if (raw.status == 401 || raw.status == 403) {
        problem += spec_.auth_secret_name.empty()
                       ? " (the server wants credentials: set authSecretRef)"
                       : " (check the credentials in Secret " + spec_.auth_secret_name + ")";
      }
      if (!raw.body.empty()) problem += ": " + one_line(raw.body, 200);
      return failed(problem);
    }
    if (!api_json) {
      return failed("answered HTTP 200 with a body that is not Prometheus API JSON: " +
                    one_line(raw.body, 120));
    }
    if (body.value("status", "") != "success") {
      return failed("query failed (" + body.value("errorType", "error") +
                    "): " + one_line(body.value("error", "no error message")));
    }
    if (auto warnings = body.find("warnings"); warnings != body.end() && !warnings->empty()) {
      spdlog::debug("latency source={} warnings={}", description_, one_line(warnings->dump()));
    }
    const nlohmann::json data = body.value("data", nlohmann::json::object());
    const std::string type = data.value("resultType", "");
    const nlohmann::json result = data.value("result", nlohmann::json());
    std::optional<double> value;
    if (type == "vector") {
      if (!result.is_array()) return failed("malformed vector result");
      if (result.empty()) return no_data("query returned no series");
      if (result.size() > 1) {
        std::string first = labels_text(result[0].value("metric", nlohmann::json::object()));
        std::string second = labels_text(result[1].value("metric", nlohmann::json::object()));
        return failed("query returned " + std::to_string(result.size()) +
                      " series, expected one (aggregate it, e.g. sum(...) by (le) inside "
                      "histogram_quantile, or max(...)); first series " +
                      first + ", " + second);
      }
      const nlohmann::json sample = result[0].value("value", nlohmann::json());
      if (!sample.is_array() || sample.size() != 2) return failed("malformed vector sample");
      value = parse_sample_value(sample[1]);
    } else if (type == "scalar") {
      if (!result.is_array() || result.size() != 2) return failed("malformed scalar result");
      value = parse_sample_value(result[1]);
    } else if (type == "matrix") {
      return failed(
          "query returned a range vector (matrix); it must return an instant vector or a scalar "
          "(a [range] selector needs a function such as rate() around it)");
    } else if (type == "string") {
      return failed("query returned a string, not a number");
    } else {
      return failed("unknown resultType \"" + one_line(type, 40) + "\"");
    }
    if (!value) return failed("sample value is not a number");
    if (std::isnan(*value)) {
      return no_data("query returned NaN (no observations in the query's range?)");
    }
    if (std::isinf(*value)) {
      return failed(std::string("query returned ") + (*value > 0 ? "+Inf" : "-Inf") +
                    " (for histogram_quantile: the quantile lies above the largest finite "
                    "bucket; add a larger bucket)");
    }
    return *value;
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
  std::string authorization_;         // Authorization header value; never logged
  std::shared_ptr<OutageGate> gate_;  // shared by the sources of one server; may be null
  std::string description_;
  std::unique_ptr<client::http_client> client_;
  std::mutex mutex_;
  std::string last_code_;
};

Result<std::unique_ptr<PrometheusLatencySource>> PrometheusLatencySource::create(
    const nlohmann::json& latency_spec, const std::map<std::string, std::string>& secret_values,
    std::shared_ptr<OutageGate> gate) {
  auto spec = parse_prometheus_latency_spec(latency_spec);
  if (!spec) return spec.error();

  std::string authorization;
  std::string ca_pem;
  if (!spec->auth_secret_name.empty()) {
    auto value_of = [&](const std::string& key) {
      auto found = secret_values.find(key);
      return found == secret_values.end() ? std::string{} : found->second;
    };
    const std::string where =
        "spec.latency.prometheus.authSecretRef: Secret " + spec->auth_secret_name + ": ";
    const std::string token = value_of("token");
    const std::string username = value_of("username");
    const std::string password = value_of("password");
    ca_pem = value_of("ca.crt");
    if (!token.empty() && (!username.empty() || !password.empty())) {
      return Error{"InvalidCredentials",
                   where + "has both token and username/password; keep one of them"};
    }
    if (username.empty() != password.empty()) {
      return Error{"InvalidCredentials", where + "username and password go together; " +
                                             (username.empty() ? "username" : "password") +
                                             " is missing"};
    }
    if (token.empty() && username.empty() && ca_pem.empty()) {
      return Error{"InvalidCredentials",
                   where + "has none of the keys token, username/password or ca.crt"};
    }
    if (!token.empty()) {
      if (token.find_first_of("\r\n") != std::string::npos) {
        return Error{"InvalidCredentials", where + "token must be a single line"};
      }
      authorization = "Bearer " + token;
    } else if (!username.empty()) {
      const std::string pair = username + ":" + password;
      authorization = "Basic " + utility::conversions::to_base64(
                                     std::vector<unsigned char>(pair.begin(), pair.end()));
    }
  }
  try {
    auto impl = std::make_unique<Impl>(std::move(*spec), std::move(authorization),
                                       std::move(ca_pem), std::move(gate));
    return std::unique_ptr<PrometheusLatencySource>(new PrometheusLatencySource(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{"InvalidSpec", std::string("spec.latency.prometheus.serverUrl: ") + e.what()};
  }
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
        SecretReference{spec->auth_secret_name, "spec.latency.prometheus.authSecretRef"};
  }
  return checked;
}

Result<std::unique_ptr<LatencySource>> PrometheusLatencyKind::create(
    const nlohmann::json& kind_spec, const SourceCredentials& credentials) {
  auto spec = parse_prometheus_latency_spec(kind_spec);
  if (!spec) return spec.error();
  auto created =
      PrometheusLatencySource::create(kind_spec, credentials, gate_for(spec->server_url));
  if (!created) return created.error();
  return std::unique_ptr<LatencySource>(std::move(created).value());
}

std::shared_ptr<OutageGate> PrometheusLatencyKind::gate_for(const std::string& server_url) {
  std::lock_guard lock(gates_mutex_);
  std::erase_if(gates_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = gates_[server_url];
  auto gate = slot.lock();
  if (!gate) {
    gate = std::make_shared<OutageGate>();
    slot = gate;
  }
  return gate;
}

}  // namespace lagpilot
