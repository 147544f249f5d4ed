#pragma once
// The HTTP POST under webhook delivery; injectable so the notifier can be tested without
// sockets. The real one (cpprestsdk) lives in cpprest_http_sender.cpp.
#include <chrono>
#include <memory>
#include <stop_token>
#include <string>

#include "util/result.h"

namespace lagpilot::notify {

struct WebhookRequest {
  std::string url;  // secret: implementations must keep it out of errors and logs
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{10'000};  // the whole request, connect to last byte
  std::string authorization;  // Authorization header; secret, never logged; empty: none
  std::string ca_pem;         // trusted besides the system roots; empty: system roots only
};

class HttpSender {
 public:
  virtual ~HttpSender() = default;
  // POSTs the body; returns the HTTP status (any status, 2xx or not), or an Error for a transport
  // failure ("WebhookUnreachable") or timeout ("WebhookTimeout"). Returns within about
  // request.timeout, and promptly once `stop` is requested. Thread-safe.
  virtual Result<int> post(const WebhookRequest& request, std::stop_token stop) = 0;
};

// cpprestsdk: TLS verified against the system roots (and the request's ca_pem), connections
// reused per URL and CA.
std::shared_ptr<HttpSender> make_cpprest_http_sender();

}  // namespace lagpilot::notify
