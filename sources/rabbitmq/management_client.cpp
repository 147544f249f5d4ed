// The RabbitMQ management API client: the only translation unit of the RabbitMQ source that
// includes cpprestsdk.
#include "sources/rabbitmq/management_client.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cmath>
#include <future>
#include <nlohmann/json.hpp>
#include <vector>

namespace lagpilot {

namespace http = web::http;
namespace client = web::http::client;

namespace {

std::string one_line(std::string text, std::size_t limit = 200) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

std::optional<double> number_at(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || !found->is_number()) return std::nullopt;
  return found->get<double>();
}

std::optional<double> rate_at(const nlohmann::json& stats, const char* details_key) {
  auto details = stats.find(details_key);
  if (details == stats.end() || !details->is_object()) return std::nullopt;
  auto rate = number_at(*details, "rate");
  if (rate && (!std::isfinite(*rate) || *rate < 0)) return std::nullopt;
  return rate;
}

struct RawResponse {
  int status = 0;
  std::string body;
  std::string failure;  // transport error when status == 0
};

}  // namespace

Result<ManagementQueueStats> parse_management_queue(const std::string& body) {
  const nlohmann::json queue = nlohmann::json::parse(body, nullptr, false);
  if (!queue.is_object() || !queue.contains("name")) {
    return Error{"SourceError",
                 "the answer is not a queue of the management API: " + one_line(body, 120)};
  }
  ManagementQueueStats stats;
  if (auto ready = number_at(queue, "messages_ready")) {
    stats.messages_ready = static_cast<int64_t>(*ready);
  }
  if (auto unacked = number_at(queue, "messages_unacknowledged")) {
    stats.messages_unacknowledged = static_cast<int64_t>(*unacked);
  }
  if (auto consumers = number_at(queue, "consumers"))
    stats.consumers = static_cast<int>(*consumers);
  if (auto arguments = queue.find("arguments");
      arguments != queue.end() && arguments->is_object()) {
    auto sac = arguments->find("x-single-active-consumer");
    stats.single_active_consumer = sac != arguments->end() && sac->is_boolean() && sac->get<bool>();
  }
  if (auto head = number_at(queue, "head_message_timestamp"); head && *head > 0) {
    stats.head_message_timestamp = WallTime{} + std::chrono::duration_cast<WallTime::duration>(
                                                    std::chrono::duration<double>(*head));
  }
  if (auto message_stats = queue.find("message_stats");
      message_stats != queue.end() && message_stats->is_object()) {
    // RabbitMQ leaves out the counters of events that never happened since its statistics of
    // the queue began: with message_stats present, a missing rate is a true 0.
    stats.publish_rate = rate_at(*message_stats, "publish_details").value_or(0.0);
    stats.deliver_get_rate = rate_at(*message_stats, "deliver_get_details").value_or(0.0);
    double finished = 0;
    for (const char* counter : {"ack", "deliver_no_ack", "get_no_ack"}) {
      finished += number_at(*message_stats, counter).value_or(0);
    }
    stats.finished_total = finished;
  }
  return stats;
}

struct ManagementClient::Impl {
  Impl(ManagementSettings s, std::shared_ptr<OutageGate> g)
      : settings(std::move(s)), gate(std::move(g)) {
    client::http_client_config config;
    config.set_timeout(std::chrono::seconds(30));  // queue_stats bounds each request itself
    config.set_validate_certificates(true);
    if (!settings.ca_pem.empty()) {
      config.set_ssl_context_callback([ca = settings.ca_pem](boost::asio::ssl::context& ctx) {
        boost::system::error_code ignored;  // a bad bundle shows up as a handshake failure
        ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()), ignored);
      });
    }
    const std::string pair = settings.username + ":" + settings.password;
    authorization = "Basic " + utility::conversions::to_base64(
                                   std::vector<unsigned char>(pair.begin(), pair.end()));
    http = std::make_unique<client::http_client>(settings.url, config);
  }

  ManagementSettings settings;
  std::shared_ptr<OutageGate> gate;
  std::string authorization;  // never logged
  std::unique_ptr<client::http_client> http;

  Error error(const std::string& code, const std::string& problem) const {
    return Error{code, "rabbitmq management " + settings.url + ": " + problem};
  }

  // Fails only when the server did not answer.
  Result<RawResponse> send(const std::string& path, Duration timeout) {
    http::http_request request(http::methods::GET);
    request.set_request_uri(path);
    request.headers().add("Accept", "application/json");
    request.headers().add("Authorization", authorization);
    pplx::cancellation_token_source cancel;
    auto promise = std::make_shared<std::promise<RawResponse>>();
    auto future = promise->get_future();
    http->request(request, cancel.get_token())
        .then([promise](pplx::task<http::http_response> response_task) {
          try {
            http::http_response response = response_task.get();
            const int status = response.status_code();
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
    // Network I/O: a real-time wait of the time the poll has left.
    if (future.wait_for(timeout) != std::future_status::ready) {
      cancel.cancel();
      return error("SourceUnreachable", "no answer within the poll timeout");
    }
    RawResponse raw = future.get();
    if (raw.status == 0) {
      std::string problem = "request failed: " + one_line(raw.failure);
      if (settings.url.rfind("https://", 0) == 0 &&
          (raw.failure.find("SSL") != std::string::npos ||
           raw.failure.find("handshake") != std::string::npos ||
           raw.failure.find("certificate") != std::string::npos)) {
        problem +=
            " (TLS: is the server certificate signed by a system CA or by ca.crt in "
            "authSecretRef, and issued for this host?)";
      }
      return error("SourceUnreachable", problem);
    }
    return raw;
  }

  Result<ManagementQueueStats> interpret(const RawResponse& raw, const std::string& vhost,
                                         const std::string& queue) const {
    if (raw.status == 404) {
      return error("QueueNotFound",
                   "queue " + queue + " not found in vhost " + vhost + " (HTTP 404)");
    }
    if (raw.status == 401 || raw.status == 403) {
      return error("AuthenticationFailed",
                   "HTTP " + std::to_string(raw.status) +
                       " (check username and password in authSecretRef; the user needs the "
                       "monitoring or management tag and access to vhost " +
                       vhost + ")");
    }
    if (raw.status != 200) {
      return error("SourceError",
                   "HTTP " + std::to_string(raw.status) + ": " + one_line(raw.body, 160));
    }
    auto parsed = parse_management_queue(raw.body);
    if (!parsed) return error("SourceError", parsed.error().message);
    return parsed;
  }
};

ManagementClient::ManagementClient(ManagementSettings settings, std::shared_ptr<OutageGate> gate)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(gate))) {}

ManagementClient::~ManagementClient() = default;

const ManagementSettings& ManagementClient::settings() const { return impl_->settings; }

Result<ManagementQueueStats> ManagementClient::queue_stats(const std::string& vhost,
                                                           const std::string& queue,
                                                           Duration timeout) {
  const std::string path = "/api/queues/" + web::uri::encode_data_string(vhost) + "/" +
                           web::uri::encode_data_string(queue);
  auto sent = impl_->gate->call(
      impl_->settings.url, "SourceUnreachable",
      [&]() -> Result<RawResponse> {
        try {
          return impl_->send(path, timeout);
        } catch (const std::exception& e) {
          return impl_->error("SourceUnreachable", std::string("request failed: ") + e.what());
        }
      },
      [](const Result<RawResponse>& result) { return result.ok(); });
  if (!sent) return sent.error();
  return impl_->interpret(*sent, vhost, queue);
}

std::shared_ptr<ManagementClient> ManagementClientPool::acquire(
    const ManagementSettings& settings) {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  std::erase_if(gates_, [](const auto& entry) { return entry.second.expired(); });
  if (auto existing = clients_[settings].lock()) return existing;
  auto gate = gates_[settings.url].lock();
  if (!gate) {
    gate = std::make_shared<OutageGate>();
    gates_[settings.url] = gate;
  }
  auto created = std::make_shared<ManagementClient>(settings, gate);
  clients_[settings] = created;
  return created;
}

}  // namespace lagpilot
