// The only translation unit that includes cpprestsdk (its headers cost ~4 s to parse).
#include <cpprest/containerstream.h>
#include <cpprest/http_client.h>
#include <cpprest/producerconsumerstream.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/asio/ssl.hpp>

#include "kube/http_transport.h"

namespace lagpilot::kube {
namespace {

namespace http = web::http;
namespace client = web::http::client;

std::string describe(const HttpRequest& request, const std::string& server) {
  return request.method + " " + server + request.target;
}

// The certificates every connection verifies the API server with, parsed once. cpprest sets up
// OpenSSL afresh for each pooled connection and watch and loads the system's whole CA bundle
// into it (about 150 certificates, half a MiB each time); each connection's context is handed
// this one store instead, so only the transient load remains. With a CA in the kubeconfig only
// that CA is trusted (as kubectl does), otherwise the system's roots.
class SharedCertStore {
 public:
  // A null store when `ca_pem` holds no certificate: connections then load the CA themselves
  // (and fail with OpenSSL's error, as before).
  explicit SharedCertStore(const std::string& ca_pem) : store_(X509_STORE_new()) {
    if (store_ == nullptr) return;
    bool loaded = ca_pem.empty() ? X509_STORE_set_default_paths(store_) == 1 : add_pem(ca_pem);
    if (!loaded) {
      X509_STORE_free(store_);
      store_ = nullptr;
    }
  }
  ~SharedCertStore() { X509_STORE_free(store_); }
  SharedCertStore(const SharedCertStore&) = delete;
  SharedCertStore& operator=(const SharedCertStore&) = delete;

  // Makes `ctx` verify with this store; false when there is none.
  bool install(boost::asio::ssl::context& ctx) const {
    if (store_ == nullptr) return false;
    SSL_CTX_set1_cert_store(ctx.native_handle(), store_);  // takes a reference
    return true;
  }

 private:
  bool add_pem(const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) return false;
    STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (infos == nullptr) return false;
    int added = 0;
    for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
      X509_INFO* info = sk_X509_INFO_value(infos, i);
      if (info->x509 != nullptr && X509_STORE_add_cert(store_, info->x509) == 1) ++added;
      if (info->crl != nullptr) X509_STORE_add_crl(store_, info->crl);
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return added > 0;
  }

  X509_STORE* store_;
};

class CpprestLineStream final : public LineStream {
 public:
  CpprestLineStream(http::http_response response, pplx::cancellation_token_source cancel,
                    std::string what)
      : response_(std::move(response)),
        body_(response_.body()),
        cancel_(std::move(cancel)),
        what_(std::move(what)) {}

  ~CpprestLineStream() override { cancel(); }

  ApiResult<std::optional<std::string>> next_line() override {
    if (cancel_.get_token().is_canceled()) {
      return ApiError(ApiReason::kCancelled, 0, what_ + ": cancelled");
    }
    try {
      concurrency::streams::container_buffer<std::string> line;
      auto task = body_.read_line(line);
      std::size_t count = task.get();
      if (count == 0 && body_.is_eof()) {
        return std::optional<std::string>();
      }
      return std::optional<std::string>(std::move(line.collection()));
    } catch (const std::exception& e) {
      if (cancel_.get_token().is_canceled()) {
        return ApiError(ApiReason::kCancelled, 0, what_ + ": cancelled");
      }
      return ApiError(ApiReason::kTransport, 0, what_ + ": stream broke: " + e.what());
    }
  }

  void cancel() override {
    cancel_.cancel();
    try {
      body_.close().wait();
    } catch (...) {
      // Closing a stream that already failed throws; nothing to do.
    }
  }

 private:
  http::http_response response_;
  concurrency::streams::istream body_;
  pplx::cancellation_token_source cancel_;
  std::string what_;
};

class CpprestTransport final : public HttpTransport {
 public:
  CpprestTransport(const KubeConfig& config, std::shared_ptr<TokenSource> tokens)
      : config_(config),
        tokens_(std::move(tokens)),
        cert_store_(std::make_shared<const SharedCertStore>(config_.ca_pem)) {}

  ApiResult<HttpResponse> send(const HttpRequest& request) override {
    try {
      auto http_client = client_for(request.timeout);
      auto message = build(request);
      http::http_response response = http_client->request(message).get();
      HttpResponse out;
      out.status = response.status_code();
      out.body = response.extract_utf8string(true).get();
      for (const auto& [name, value] : response.headers()) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        out.headers[lower] = value;
      }
      return out;
    } catch (const http::http_exception& e) {
      return classify(e, request);
    } catch (const std::exception& e) {
      return ApiError(ApiReason::kTransport, 0,
                      describe(request, config_.server) + ": " + e.what());
    }
  }

  ApiResult<std::unique_ptr<LineStream>> open_stream(
      const HttpRequest& request, std::chrono::milliseconds idle_timeout) override {
    try {
      // Each stream gets its own client: a watch holds its connection for minutes.
      auto http_client =
          std::make_shared<client::http_client>(config_.server, make_config(idle_timeout));
      pplx::cancellation_token_source cancel;
      http::http_response response = http_client->request(build(request), cancel.get_token()).get();
      std::string what = describe(request, config_.server);
      if (response.status_code() < 200 || response.status_code() >= 300) {
        std::string body = response.extract_utf8string(true).get();
        std::string retry_after;
        if (response.headers().has("Retry-After")) retry_after = response.headers()["Retry-After"];
        return decode_api_error(response.status_code(), body, retry_after, what);
      }
      return std::unique_ptr<LineStream>(std::make_unique<StreamHoldingClient>(
          std::move(http_client), std::move(response), std::move(cancel), std::move(what)));
    } catch (const http::http_exception& e) {
      return classify(e, request);
    } catch (const std::exception& e) {
      return ApiError(ApiReason::kTransport, 0,
                      describe(request, config_.server) + ": " + e.what());
    }
  }

 private:
  // Keeps the http_client alive as long as its stream.
  class StreamHoldingClient final : public LineStream {
   public:
    StreamHoldingClient(std::shared_ptr<client::http_client> owner, http::http_response response,
                        pplx::cancellation_token_source cancel, std::string what)
        : owner_(std::move(owner)),
          stream_(std::move(response), std::move(cancel), std::move(what)) {}
    ApiResult<std::optional<std::string>> next_line() override { return stream_.next_line(); }
    void cancel() override { stream_.cancel(); }

   private:
    std::shared_ptr<client::http_client> owner_;
    CpprestLineStream stream_;
  };

  ApiError classify(const http::http_exception& e, const HttpRequest& request) {
    std::string what = describe(request, config_.server);
    auto code = e.error_code();
    if (code == std::errc::timed_out) {
      return ApiError(
          ApiReason::kTimeout, 0,
          what + ": no answer within " + std::to_string(request.timeout.count()) + " ms");
    }
    if (code == std::errc::operation_canceled)
      return ApiError(ApiReason::kCancelled, 0, what + ": cancelled");
    return ApiError(ApiReason::kTransport, 0, what + ": " + e.what());
  }

  client::http_client_config make_config(std::chrono::milliseconds timeout) {
    client::http_client_config cfg;
    cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    cfg.set_validate_certificates(!config_.insecure_skip_tls_verify);
    std::string ca = config_.ca_pem;
    std::string cert = config_.client_cert_pem;
    std::string key = config_.client_key_pem;
    cfg.set_ssl_context_callback([ca, cert, key,
                                  store = cert_store_](boost::asio::ssl::context& ctx) {
      if (!store->install(ctx) && !ca.empty())
        ctx.add_certificate_authority(boost::asio::buffer(ca.data(), ca.size()));
      if (!cert.empty()) {
        ctx.use_certificate_chain(boost::asio::buffer(cert.data(), cert.size()));
        ctx.use_private_key(boost::asio::buffer(key.data(), key.size()),
                            boost::asio::ssl::context::pem);
      }
    });
    return cfg;
  }

  std::shared_ptr<client::http_client> client_for(std::chrono::milliseconds timeout) {
    std::lock_guard lock(mutex_);
    auto& slot = clients_[timeout.count()];
    if (!slot) slot = std::make_shared<client::http_client>(config_.server, make_config(timeout));
    return slot;
  }

  http::http_request build(const HttpRequest& request) {
    http::http_request message{http::method(request.method)};
    message.set_request_uri(request.target);
    message.headers().add("Accept", "application/json");
    message.headers().add("User-Agent", config_.user_agent);
    std::string token = tokens_->token();
    if (!token.empty()) message.headers().add("Authorization", "Bearer " + token);
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
        request.method == "PATCH") {
      message.set_body(request.body, request.content_type);
    }
    return message;
  }

  KubeConfig config_;
  std::shared_ptr<TokenSource> tokens_;
  std::shared_ptr<const SharedCertStore> cert_store_;  // outlives the clients that hold it
  std::mutex mutex_;
  std::map<long, std::shared_ptr<client::http_client>> clients_;  // by timeout; share connections
};

}  // namespace

std::unique_ptr<HttpTransport> make_cpprest_transport(const KubeConfig& config,
                                                      std::shared_ptr<TokenSource> tokens) {
  return std::make_unique<CpprestTransport>(config, std::move(tokens));
}

}  // namespace lagpilot::kube
