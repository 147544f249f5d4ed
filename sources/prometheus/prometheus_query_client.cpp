// The one translation unit of the Prometheus sources that includes cpprestsdk.
#include "sources/prometheus/prometheus_query_client.h"

#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <future>

namespace lagpilot {
namespace {

namespace http = web::http;
namespace client = web::http::client;

constexpr std::size_t kMaxServerUrlLength = 2048;
// cpprest's own timeout is an idle timer per read; instant_query() bounds the whole request with
// the caller's timeout, so this only has to be above the largest timeoutSeconds (60).
constexpr std::chrono::seconds kIdleTimeout{61};

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

std::optional<WallTime> parse_sample_time(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  const double seconds = value.get<double>();
  if (!std::isfinite(seconds)) return std::nullopt;
  return WallTime{
      std::chrono::duration_cast<WallTime::duration>(std::chrono::duration<double>(seconds))};
}

std::string format_epoch_seconds(WallTime t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  return buffer;
}

std::string duration_text(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + "s";
  return std::to_string(timeout.count()) + "ms";
}

std::string seconds_text(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000);
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", timeout.count() / 1000.0);
  return buffer;
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

struct RawResponse {
  int status = 0;
  std::string body;
  std::string failure;  // transport error text when status == 0
};

}  // namespace

Result<std::string> check_prometheus_server_url(std::string url, const std::string& field_path) {
  auto invalid = [&](const std::string& problem) {
    return Error{"InvalidSpec", field_path + ": " + problem};
  };
  if (url.size() > kMaxServerUrlLength) return invalid("longer than 2048 characters");
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return invalid("must start with http:// or https://");
  }
  if (url.find_first_of("?#") != std::string::npos) {
    return invalid("must be a base URL without query or fragment");
  }
  std::string authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string::npos) {
    // Credentials in the URL would end up in logs and status: they belong in authSecretRef.
    return invalid("must not embed credentials (user:password@); use authSecretRef");
  }
  if (authority.empty() || authority[0] == ':') return invalid("has no host");
  if (std::any_of(url.begin(), url.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return invalid("must not contain whitespace");
  }
  while (url.back() == '/') url.pop_back();
  try {
    web::uri parsed(url);
    if (parsed.host().empty()) return invalid("has no host");
  } catch (const std::exception& e) {
    return invalid(std::string("is not a valid URL: ") + e.what());
  }
  return url;
}

Result<PrometheusCredentials> prometheus_credentials(
    const std::string& field_path, const std::string& secret_name,
    const std::map<std::string, std::string>& secret_values) {
  PrometheusCredentials credentials;
  if (secret_name.empty()) return credentials;
  credentials.secret_name = secret_name;
  auto value_of = [&](const std::string& key) {
    auto found = secret_values.find(key);
    return found == secret_values.end() ? std::string{} : found->second;
  };
  const std::string where = field_path + ": Secret " + secret_name + ": ";
  const std::string token = value_of("token");
  const std::string username = value_of("username");
  const std::string password = value_of("password");
  credentials.ca_pem = value_of("ca.crt");
  if (!token.empty() && (!username.empty() || !password.empty())) {
    return Error{"InvalidCredentials",
                 where + "has both token and username/password; keep one of them"};
  }
  if (username.empty() != password.empty()) {
    return Error{"InvalidCredentials", where + "username and password go together; " +
                                           (username.empty() ? "username" : "password") +
                                           " is missing"};
  }
  if (token.empty() && username.empty() && credentials.ca_pem.empty()) {
    return Error{"InvalidCredentials",
                 where + "has none of the keys token, username/password or ca.crt"};
  }
  if (!token.empty()) {
    if (token.find_first_of("\r\n") != std::string::npos) {
      return Error{"InvalidCredentials", where + "token must be a single line"};
    }
    credentials.authorization = "Bearer " + token;
  } else if (!username.empty()) {
    const std::string pair = username + ":" + password;
    credentials.authorization =
        "Basic " +
        utility::conversions::to_base64(std::vector<unsigned char>(pair.begin(), pair.end()));
  }
  return credentials;
}

std::string prometheus_labels_text(const nlohmann::json& labels) {
  if (!labels.is_object() || labels.empty()) return "{}";
  std::string out = "{";
  for (const auto& [key, value] : labels.items()) {
    if (out.size() > 1) out += ", ";
    out += key + "=\"" + (value.is_string() ? value.get<std::string>() : value.dump()) + "\"";
  }
  return out + "}";
}

std::string prometheus_one_line(std::string text, std::size_t limit) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

class PrometheusQueryClient::Impl {
 public:
  Impl(std::string server_url, PrometheusCredentials credentials, std::shared_ptr<OutageGate> gate)
      : server_url_(std::move(server_url)),
        credentials_(std::move(credentials)),
        gate_(std::move(gate)) {
    client::http_client_config config;
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(kIdleTimeout));
    config.set_validate_certificates(true);
    if (!credentials_.ca_pem.empty()) {
      config.set_ssl_context_callback([ca = credentials_.ca_pem](boost::asio::ssl::context& ctx) {
        boost::system::error_code ignored;  // a bad bundle shows up as a handshake failure
        ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()), ignored);
      });
    }
    client_ = std::make_unique<client::http_client>(server_url_, config);
  }

  const std::string& server_url() const { return server_url_; }

  Result<PrometheusAnswer> instant_query(const std::string& promql, WallTime at,
                                         std::chrono::milliseconds timeout) {
    Result<RawResponse> sent = send_gated(promql, at, timeout);
    if (!sent) return sent.error();
    return parse(*sent);
  }

 private:
  Error unreachable(const std::string& problem) const {
    return Error{kPrometheusUnreachable, "prometheus " + server_url_ + ": " + problem};
  }
  Error failed(const std::string& problem) const {
    return Error{kPrometheusQueryFailed, "prometheus " + server_url_ + ": " + problem};
  }

  // Fails only when the server did not answer (refused, timed out, no TLS handshake); an answer
  // that is an error is a RawResponse.
  Result<RawResponse> send(const std::string& promql, WallTime at,
                           std::chrono::milliseconds timeout) {
    http::http_request request(http::methods::POST);
    request.set_request_uri("/api/v1/query");
    web::uri_builder form;
    form.append_query("query", promql);
    form.append_query("time", format_epoch_seconds(at));
    form.append_query("timeout", duration_text(timeout));
    // A byte-vector stream: set_body(std::string) goes through cpprest's char-to-byte stream cast,
    // which UBSan's vptr check reports.
    const std::string form_body = form.query();
    std::vector<unsigned char> bytes(form_body.begin(), form_body.end());
    const auto length = bytes.size();
    request.set_body(concurrency::streams::bytestream::open_istream(std::move(bytes)), length,
                     "application/x-www-form-urlencoded");
    request.headers().add("Accept", "application/json");
    request.headers().add("User-Agent", "lagpilot/0.1");
    if (!credentials_.authorization.empty()) {
      request.headers().add("Authorization", credentials_.authorization);
    }

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
    if (future.wait_for(timeout) != std::future_status::ready) {
      cancel.cancel();
      return unreachable("no answer within " + seconds_text(timeout) + " s (timeoutSeconds)");
    }
    RawResponse raw = future.get();
    if (raw.status == 0) {
      std::string problem = "request failed: " + prometheus_one_line(raw.failure);
      if (server_url_.rfind("https://", 0) == 0 &&
          (raw.failure.find("SSL") != std::string::npos ||
           raw.failure.find("handshake") != std::string::npos ||
           raw.failure.find("certificate") != std::string::npos)) {
        problem +=
            " (TLS: is the server certificate signed by a system CA or by ca.crt in "
            "authSecretRef, and issued for this host?)";
      }
      return unreachable(problem);
    }
    return raw;
  }

  // Through the server's outage gate: while the server does not answer, one query at a time waits
  // for it and the other sources' queries fail at once.
  Result<RawResponse> send_gated(const std::string& promql, WallTime at,
                                 std::chrono::milliseconds timeout) {
    const auto send_caught = [&]() -> Result<RawResponse> {
      try {
        return send(promql, at, timeout);
      } catch (const std::exception& e) {
        return unreachable(std::string("request failed: ") + prometheus_one_line(e.what()));
      }
    };
    if (!gate_) return send_caught();
    return gate_->call(server_url_, kPrometheusUnreachable, send_caught,
                       [](const Result<RawResponse>& sent) { return sent.ok(); });
  }

  Result<PrometheusAnswer> parse(const RawResponse& raw) const {
    nlohmann::json body = nlohmann::json::parse(raw.body, nullptr, false);
    const bool api_json = body.is_object() && body.contains("status");
    if (raw.status != 200) {
      if (api_json && body.value("status", "") == "error") {
        return failed("query failed (HTTP " + std::to_string(raw.status) + " " +
                      body.value("errorType", "error") +
                      "): " + prometheus_one_line(body.value("error", "no error message")));
      }
      std::string problem = "HTTP " + std::to_string(raw.status);
      if (raw.status == 401 || raw.status == 403) {
        problem += credentials_.secret_name.empty()
                       ? " (the server wants credentials: set authSecretRef)"
                       : " (check the credentials in Secret " + credentials_.secret_name + ")";
      }
      if (!raw.body.empty()) problem += ": " + prometheus_one_line(raw.body, 200);
      return failed(problem);
    }
    if (!api_json) {
      return failed("answered HTTP 200 with a body that is not Prometheus API JSON: " +
                    prometheus_one_line(raw.body, 120));
    }
    if (body.value("status", "") != "success") {
      return failed("query failed (" + body.value("errorType", "error") +
                    "): " + prometheus_one_line(body.value("error", "no error message")));
    }
    if (auto warnings = body.find("warnings"); warnings != body.end() && !warnings->empty()) {
      spdlog::debug("prometheus {} warnings={}", server_url_,
                    prometheus_one_line(warnings->dump()));
    }
    const nlohmann::json data = body.value("data", nlohmann::json::object());
    const std::string type = data.value("resultType", "");
    const nlohmann::json result = data.value("result", nlohmann::json());
    PrometheusAnswer answer;
    auto sample_of = [&](const nlohmann::json& pair,
                         nlohmann::json labels) -> Result<PrometheusSample> {
      if (!pair.is_array() || pair.size() != 2) return failed("malformed " + type + " sample");
      auto value = parse_sample_value(pair[1]);
      if (!value) return failed("sample value is not a number");
      auto time = parse_sample_time(pair[0]);
      if (!time) return failed("malformed " + type + " sample timestamp");
      return PrometheusSample{std::move(labels), *value, *time};
    };
    if (type == "vector") {
      if (!result.is_array()) return failed("malformed vector result");
      for (const auto& series : result) {
        if (!series.is_object()) return failed("malformed vector result");
        auto sample = sample_of(series.value("value", nlohmann::json()),
                                series.value("metric", nlohmann::json::object()));
        if (!sample) return sample.error();
        answer.samples.push_back(std::move(*sample));
      }
    } else if (type == "scalar") {
      auto sample = sample_of(result, nlohmann::json::object());
      if (!sample) return sample.error();
      answer.samples.push_back(std::move(*sample));
      answer.scalar = true;
    } else if (type == "matrix") {
      return failed(
          "query returned a range vector (matrix); it must return an instant vector or a scalar "
          "(a [range] selector needs a function such as rate() around it)");
    } else if (type == "string") {
      return failed("query returned a string, not a number");
    } else {
      return failed("unknown resultType \"" + prometheus_one_line(type, 40) + "\"");
    }
    return answer;
  }

  std::string server_url_;
  PrometheusCredentials credentials_;  // never logged
  std::shared_ptr<OutageGate> gate_;   // shared by the clients of one server; may be null
  std::unique_ptr<client::http_client> client_;
};

Result<std::shared_ptr<PrometheusQueryClient>> PrometheusQueryClient::create(
    const std::string& server_url, PrometheusCredentials credentials,
    std::shared_ptr<OutageGate> gate) {
  try {
    auto impl = std::make_unique<Impl>(server_url, std::move(credentials), std::move(gate));
    return std::shared_ptr<PrometheusQueryClient>(new PrometheusQueryClient(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{"InvalidSpec", "prometheus " + server_url + ": " + e.what()};
  }
}

PrometheusQueryClient::PrometheusQueryClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PrometheusQueryClient::~PrometheusQueryClient() = default;

Result<PrometheusAnswer> PrometheusQueryClient::instant_query(const std::string& promql,
                                                              WallTime at,
                                                              std::chrono::milliseconds timeout) {
  return impl_->instant_query(promql, at, timeout);
}

const std::string& PrometheusQueryClient::server_url() const { return impl_->server_url(); }

Result<std::shared_ptr<PrometheusQueryClient>> PrometheusClientPool::client_for(
    const std::string& server_url, const PrometheusCredentials& credentials) {
  const std::string key = sha256_hex(credentials.secret_name + '\n' + credentials.authorization +
                                     '\n' + credentials.ca_pem);
  std::shared_ptr<OutageGate> gate = gate_for(server_url);
  std::lock_guard lock(mutex_);
  // Forget the clients nobody holds any more (and servers without clients).
  for (auto& [url, clients] : clients_) {
    std::erase_if(clients, [](const auto& entry) { return entry.second.expired(); });
  }
  std::erase_if(clients_, [](const auto& entry) { return entry.second.empty(); });
  auto& by_credentials = clients_[server_url];
  auto& slot = by_credentials[key];
  if (auto client = slot.lock()) return client;
  auto created = PrometheusQueryClient::create(server_url, credentials, std::move(gate));
  if (!created) return created.error();
  slot = *created;
  return created;
}

std::shared_ptr<OutageGate> PrometheusClientPool::gate_for(const std::string& server_url) {
  std::lock_guard lock(mutex_);
  std::erase_if(gates_, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = gates_[server_url];
  auto gate = slot.lock();
  if (!gate) {
    gate = std::make_shared<OutageGate>();
    slot = gate;
  }
  return gate;
}

int PrometheusClientPool::live_clients() const {
  std::lock_guard lock(mutex_);
  int live = 0;
  for (const auto& [url, by_credentials] : clients_) {
    for (const auto& [key, client] : by_credentials) live += client.expired() ? 0 : 1;
  }
  return live;
}

}  // namespace lagpilot
