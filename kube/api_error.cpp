#include "kube/api_error.h"

#include <nlohmann/json.hpp>

namespace lagpilot::kube {

const char* to_string(ApiReason reason) {
  switch (reason) {
    case ApiReason::kNotFound:
      return "NotFound";
    case ApiReason::kConflict:
      return "Conflict";
    case ApiReason::kAlreadyExists:
      return "AlreadyExists";
    case ApiReason::kInvalid:
      return "Invalid";
    case ApiReason::kForbidden:
      return "Forbidden";
    case ApiReason::kUnauthorized:
      return "Unauthorized";
    case ApiReason::kTooManyRequests:
      return "TooManyRequests";
    case ApiReason::kServerTimeout:
      return "ServerTimeout";
    case ApiReason::kInternalError:
      return "InternalError";
    case ApiReason::kServiceUnavailable:
      return "ServiceUnavailable";
    case ApiReason::kGone:
      return "Gone";
    case ApiReason::kBadRequest:
      return "BadRequest";
    case ApiReason::kMethodNotAllowed:
      return "MethodNotAllowed";
    case ApiReason::kTimeout:
      return "Timeout";
    case ApiReason::kTransport:
      return "Transport";
    case ApiReason::kCancelled:
      return "Cancelled";
    case ApiReason::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

ApiError::ApiError(ApiReason r, int status, std::string text) : reason(r), http_status(status) {
  code = to_string(r);
  message = std::move(text);
}

namespace {

ApiReason reason_from_status_reason(const std::string& reason) {
  if (reason == "NotFound") return ApiReason::kNotFound;
  if (reason == "Conflict") return ApiReason::kConflict;
  if (reason == "AlreadyExists") return ApiReason::kAlreadyExists;
  if (reason == "Invalid") return ApiReason::kInvalid;
  if (reason == "Forbidden") return ApiReason::kForbidden;
  if (reason == "Unauthorized") return ApiReason::kUnauthorized;
  if (reason == "TooManyRequests") return ApiReason::kTooManyRequests;
  if (reason == "ServerTimeout" || reason == "Timeout") return ApiReason::kServerTimeout;
  if (reason == "InternalError") return ApiReason::kInternalError;
  if (reason == "ServiceUnavailable") return ApiReason::kServiceUnavailable;
  if (reason == "Expired" || reason == "Gone") return ApiReason::kGone;
  if (reason == "BadRequest") return ApiReason::kBadRequest;
  if (reason == "MethodNotAllowed") return ApiReason::kMethodNotAllowed;
  return ApiReason::kUnknown;
}

ApiReason reason_from_http(int status) {
  switch (status) {
    case 400:
      return ApiReason::kBadRequest;
    case 401:
      return ApiReason::kUnauthorized;
    case 403:
      return ApiReason::kForbidden;
    case 404:
      return ApiReason::kNotFound;
    case 405:
      return ApiReason::kMethodNotAllowed;
    case 409:
      return ApiReason::kConflict;
    case 410:
      return ApiReason::kGone;
    case 422:
      return ApiReason::kInvalid;
    case 429:
      return ApiReason::kTooManyRequests;
    case 500:
      return ApiReason::kInternalError;
    case 503:
      return ApiReason::kServiceUnavailable;
    case 504:
      return ApiReason::kServerTimeout;
    default:
      return ApiReason::kUnknown;
  }
}

}  // namespace

ApiError decode_api_error(int http_status, const std::string& body,
                          const std::string& retry_after_header, const std::string& request) {
  ApiReason reason = reason_from_http(http_status);
  std::string message;
  std::vector<std::string> causes;
  std::optional<std::chrono::seconds> retry_after;
  auto status = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    ApiReason from_body = reason_from_status_reason(status.value("reason", ""));
    // 409 carries both Conflict and AlreadyExists; the body's reason tells them apart.
    if (from_body != ApiReason::kUnknown) reason = from_body;
    message = status.value("message", "");
    if (auto details = status.find("details"); details != status.end() && details->is_object()) {
      if (auto list = details->find("causes"); list != details->end() && list->is_array()) {
        for (const auto& cause : *list) {
          std::string field = cause.value("field", "");
          std::string text = cause.value("message", "");
          causes.push_back(field.empty() ? text : field + ": " + text);
        }
      }
      if (auto seconds = details->find("retryAfterSeconds");
          seconds != details->end() && seconds->is_number_integer()) {
        retry_after = std::chrono::seconds(seconds->get<int>());
      }
    }
  } else {
    message = body.substr(0, 300);
  }
  if (!retry_after_header.empty()) {
    try {
      retry_after = std::chrono::seconds(std::stoi(retry_after_header));
    } catch (...) {
      // An HTTP-date Retry-After is legal but the API server sends seconds; ignore others.
    }
  }
  if (reason == ApiReason::kUnknown && http_status >= 500) reason = ApiReason::kInternalError;
  std::string text = request + ": " + std::to_string(http_status) + " " + to_string(reason);
  if (!message.empty()) text += ": " + message;
  ApiError error(reason, http_status, text);
  error.causes = std::move(causes);
  error.retry_after = retry_after;
  return error;
}

bool is_retriable(const ApiError& error) {
  switch (error.reason) {
    case ApiReason::kTooManyRequests:
    case ApiReason::kServerTimeout:
    case ApiReason::kInternalError:
    case ApiReason::kServiceUnavailable:
    case ApiReason::kTimeout:
    case ApiReason::kTransport:
      return true;
    default:
      return false;
  }
}

}  // namespace lagpilot::kube
