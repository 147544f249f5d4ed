#pragma once
// Errors cross module boundaries as values: Result<T> holds either a T or an Error (or a
// richer error type E, such as kube::ApiError).
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace lagpilot {

struct Error {
  std::string code;     // short machine-readable reason, e.g. "NotFound", "BrokerUnreachable"
  std::string message;  // one line for humans, naming the field, file or server involved
};

template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E error) : value_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(value_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(value_); }
  const T& value() const& { return std::get<T>(value_); }
  T&& value() && { return std::get<T>(std::move(value_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const E& error() const { return std::get<E>(value_); }

 private:
  std::variant<T, E> value_;
};

// For operations that return nothing but may fail.
struct Ok {};
using Status = Result<Ok>;
inline Status ok_status() { return Ok{}; }

}  // namespace lagpilot
