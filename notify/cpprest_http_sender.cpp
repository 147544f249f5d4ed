// The only translation unit of lagpilot_notify that includes cpprestsdk.
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>

#include <boost/asio/ssl.hpp>
#include <future>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "notify/http_sender.h"

namespace lagpilot::notify {
namespace {

namespace http = web::http;
namespace client = web::http::client;

constexpr std::size_t kMaxCachedClients = 256;

// The URL may carry a token: keep it out of error text.
std::string scrub(std::string text, const std::string& url) {
  if (url.empty()) return text;
  for (auto pos = text.find(url); pos != std::string::npos; pos = text.find(url, pos)) {
    text.replace(pos, url.size(), "<webhook url>");
  }
  return text;
}

struct Outcome {
  int status = 0;
  std::string failure;
};

class CpprestHttpSender final : public HttpSender {
 public:
  Result<int> post(const WebhookRequest& request, std::stop_token stop) override {
    std::shared_ptr<client::http_client> http_client;
    try {
      http_client = client_for(request.url, request.timeout, request.ca_pem);
    } catch (const std::exception&) {
      return Error{"WebhookUnreachable", "the webhook URL is not a valid URL"};
    }
    http::http_request message(http::methods::POST);
    // A byte-vector stream: set_body(std::string) goes through cpprest's char-to-byte stream cast,
    // which UBSan's vptr check reports.
    std::vector<unsigned char> bytes(request.body.begin(), request.body.end());
    const auto length = bytes.size();
    message.set_body(concurrency::streams::bytestream::open_istream(std::move(bytes)), length,
                     request.content_type);
    message.headers().add("User-Agent", "lagpilot/0.1");
    if (!request.authorization.empty()) {
      message.headers().add("Authorization", request.authorization);
    }

    pplx::cancellation_token_source cancel;
    std::stop_callback on_stop(stop, [&cancel] { cancel.cancel(); });
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    try {
      http_client->request(message, cancel.get_token())
          .then([promise](pplx::task<http::http_response> response_task) {
            try {
              http::http_response response = response_task.get();
              const int status = response.status_code();
              // Read the body so the connection can be reused; its content does not matter.
              response.content_ready().then(
                  [promise, status](pplx::task<http::http_response> ready) {
                    try {
                      ready.get();
                    } catch (...) {
                      // The status already arrived; a broken body does not change the outcome.
                    }
                    promise->set_value(Outcome{status, ""});
                  });
            } catch (const std::exception& e) {
              promise->set_value(Outcome{0, e.what()});
            }
          });
    } catch (const std::exception& e) {
      return Error{"WebhookUnreachable", scrub(e.what(), request.url)};
    }
    // A whole-request deadline: network I/O, so real time rather than the injected clock.
    if (future.wait_for(request.timeout) != std::future_status::ready) {
      cancel.cancel();
      return Error{"WebhookTimeout",
                   "no answer within " + std::to_string(request.timeout.count()) + " ms"};
    }
    Outcome outcome = future.get();
    if (outcome.status == 0) {
      if (stop.stop_requested()) return Error{"WebhookCancelled", "shutting down"};
      return Error{"WebhookUnreachable", scrub(outcome.failure, request.url)};
    }
    return outcome.status;
  }

 private:
  std::shared_ptr<client::http_client> client_for(const std::string& url,
                                                  std::chrono::milliseconds timeout,
                                                  const std::string& ca_pem) {
    std::lock_guard lock(mutex_);
    auto key = std::make_tuple(url, timeout.count(), ca_pem);
    auto found = clients_.find(key);
    if (found != clients_.end()) return found->second;
    if (clients_.size() >= kMaxCachedClients) clients_.clear();  // URLs rotate with Secrets
    client::http_client_config config;
    config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    config.set_validate_certificates(true);
    if (!ca_pem.empty()) {
      config.set_ssl_context_callback([ca_pem](boost::asio::ssl::context& ctx) {
        boost::system::error_code ignored;  // a bad bundle shows up as a handshake failure
        ctx.add_certificate_authority(boost::asio::buffer(ca_pem.data(), ca_pem.size()), ignored);
      });
    }
    auto created =
        std::make_shared<client::http_client>(utility::conversions::to_string_t(url), config);
    clients_.emplace(key, created);
    return created;
  }

  std::mutex mutex_;
  std::map<std::tuple<std::string, long, std::string>, std::shared_ptr<client::http_client>>
      clients_;
};

}  // namespace

std::shared_ptr<HttpSender> make_cpprest_http_sender() {
  return std::make_shared<CpprestHttpSender>();
}

}  // namespace lagpilot::notify
