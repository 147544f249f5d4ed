#pragma once
// The HTTP layer under the Kubernetes client. One real implementation (cpprestsdk) lives in
// cpprest_transport.cpp so no other file parses cpprest's headers.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "kube/api_error.h"
#include "kube/config.h"

namespace lagpilot::kube {

struct HttpRequest {
  HttpRequest(std::string method_, std::string target_, std::string body_ = "",
              std::string content_type_ = "application/json")
      : method(std::move(method_)),
        target(std::move(target_)),
        body(std::move(body_)),
        content_type(std::move(content_type_)) {}
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string target;  // path and query, e.g. /api/v1/namespaces?limit=500
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{30'000};
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
};

// A response body read line by line as it arrives (a watch stream).
class LineStream {
 public:
  virtual ~LineStream() = default;
  // The next line; nullopt at the end of the stream. An error when the connection broke or the
  // idle timeout passed.
  virtual ApiResult<std::optional<std::string>> next_line() = 0;
  // Unblocks a pending next_line() from another thread; it then returns kCancelled.
  virtual void cancel() = 0;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Errors here are transport-level only (kTransport, kTimeout, kCancelled); HTTP error statuses
  // come back as responses.
  virtual ApiResult<HttpResponse> send(const HttpRequest& request) = 0;
  // Sends the request and returns once the headers arrived. A non-2xx status is returned as an
  // ApiError decoded from the body. `idle_timeout` bounds each wait for the next line.
  virtual ApiResult<std::unique_ptr<LineStream>> open_stream(
      const HttpRequest& request, std::chrono::milliseconds idle_timeout) = 0;
};

// The cpprestsdk transport: TLS verified against the config's CA (or system roots), client
// certificates, bearer tokens from the TokenSource.
std::unique_ptr<HttpTransport> make_cpprest_transport(const KubeConfig& config,
                                                      std::shared_ptr<TokenSource> tokens);

}  // namespace lagpilot::kube
