#pragma once
// The API server's Status object, decoded into a typed error.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace lagpilot::kube {

enum class ApiReason {
  kNotFound,
  kConflict,
  kAlreadyExists,
  kInvalid,
  kForbidden,
  kUnauthorized,
  kTooManyRequests,
  kServerTimeout,
  kInternalError,
  kServiceUnavailable,
  kGone,  // 410: the resourceVersion is too old (watch or continue token expired)
  kBadRequest,
  kMethodNotAllowed,
  kTimeout,    // the client gave up waiting (no answer within the request's timeout)
  kTransport,  // connection refused, TLS failure, reset: no HTTP answer at all
  kCancelled,
  kUnknown,
};

const char* to_string(ApiReason reason);

struct ApiError : Error {
  ApiReason reason = ApiReason::kUnknown;
  int http_status = 0;
  std::optional<std::chrono::seconds> retry_after;  // from Retry-After or details.retryAfterSeconds
  std::vector<std::string> causes;                  // "field: message" for Invalid

  ApiError() = default;
  ApiError(ApiReason r, int status, std::string text);
};

template <typename T>
using ApiResult = Result<T, ApiError>;
using ApiStatus = Result<Ok, ApiError>;

// Builds the error from an HTTP status and a response body (a metav1.Status when the server
// sent one). `retry_after_header` is the raw Retry-After header value, if any.
ApiError decode_api_error(int http_status, const std::string& body,
                          const std::string& retry_after_header, const std::string& request);

// Errors where repeating the same request later may succeed.
bool is_retriable(const ApiError& error);

}  // namespace lagpilot::kube
