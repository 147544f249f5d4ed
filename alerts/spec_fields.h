#pragma once
// Reading spec.alerts[] and spec.slos[] items field by field, with errors that name the field.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "alerts/condition.h"
#include "util/result.h"

namespace lagpilot::alerts::spec_fields {

Error invalid(const std::string& path, const std::string& message);

// Rule and SLO names: ^[A-Za-z][A-Za-z0-9_-]*$, at most 63 characters.
bool is_valid_name(const std::string& name);

// The field `key` of `object` (an object), or nullptr when absent or null.
const nlohmann::json* find(const nlohmann::json& object, const char* key);

Result<std::string> required_string(const nlohmann::json& object, const char* key,
                                    const std::string& path);
Result<Op> required_op(const nlohmann::json& object, const char* key, const std::string& path);
Result<double> required_number(const nlohmann::json& object, const char* key,
                               const std::string& path);
// A whole number of seconds in [min, max]; `fallback` when absent.
Result<std::int64_t> optional_integer(const nlohmann::json& object, const char* key,
                                      const std::string& path, std::int64_t fallback,
                                      std::int64_t min, std::int64_t max);

}  // namespace lagpilot::alerts::spec_fields
