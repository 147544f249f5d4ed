#pragma once
// Integers of a spec, read from JSON exactly. nlohmann reads an integer of 2^63 or more as unsigned
// and one past 2^64 as a double: get<int64_t>() would wrap the first to a negative number and
// saturate the second, and the error would show a number nobody wrote. Parsers ask json_int64()
// and report such a value as out of range, as written (value.dump()).
#include <cmath>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace lagpilot {

// Why a JSON value is no int64_t.
enum class JsonIntegerProblem {
  kNotAnInteger,  // not a number, or a number with a fraction
  kOutOfRange,    // an integer below INT64_MIN or above INT64_MAX
};

// `value` as an int64_t. A double without a fraction beyond 64 bits is out of range (it is how
// nlohmann reads 100000000000000000000); any other double is not an integer.
inline Result<std::int64_t, JsonIntegerProblem> json_int64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return JsonIntegerProblem::kOutOfRange;
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    constexpr double kTwoTo63 = 9223372036854775808.0;
    const double number = value.get<double>();
    if (std::isfinite(number) && std::floor(number) == number &&
        (number >= kTwoTo63 || number <= -kTwoTo63)) {
      return JsonIntegerProblem::kOutOfRange;
    }
  }
  return JsonIntegerProblem::kNotAnInteger;
}

}  // namespace lagpilot
