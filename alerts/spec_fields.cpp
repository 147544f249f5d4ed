#include "alerts/spec_fields.h"

#include <cctype>
#include <cmath>

namespace lagpilot::alerts::spec_fields {

using Json = nlohmann::json;

Error invalid(const std::string& path, const std::string& message) {
  return Error{"InvalidSpec", path + ": " + message};
}

const Json* find(const Json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> required_string(const Json& object, const char* key, const std::string& path) {
  const Json* value = find(object, key);
  const std::string field = path + "." + key;
  if (!value) return invalid(field, "required");
  if (!value->is_string()) return invalid(field, "must be a string");
  std::string text = value->get<std::string>();
  if (text.empty()) return invalid(field, "must not be empty");
  return text;
}

Result<std::string> required_name(const Json& item, const std::string& path) {
  auto name = required_string(item, "name", path);
  if (!name) return name;
  bool valid = name->size() <= 63 && std::isalpha(static_cast<unsigned char>(name->front()));
  for (char c : *name) {
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  if (!valid) {
    return invalid(path + ".name", "\"" + *name +
                                       "\" must be 1-63 letters, digits, '_' or '-', starting "
                                       "with a letter");
  }
  return name;
}

Result<Op> required_op(const Json& object, const char* key, const std::string& path) {
  auto text = required_string(object, key, path);
  if (!text) return text.error();
  auto op = parse_op(*text);
  if (!op) {
    return invalid(path + "." + key,
                   "unknown operator \"" + *text + "\" (known: > >= < <= == !=; quote it in YAML)");
  }
  return *op;
}

Result<double> required_number(const Json& object, const char* key, const std::string& path) {
  const Json* value = find(object, key);
  const std::string field = path + "." + key;
  if (!value) return invalid(field, "required");
  if (!value->is_number()) return invalid(field, "must be a number");
  double number = value->get<double>();
  if (!std::isfinite(number)) return invalid(field, "must be a finite number");
  return number;
}

Result<std::int64_t> optional_integer(const Json& object, const char* key, const std::string& path,
                                      std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const Json* value = find(object, key);
  if (!value) return fallback;
  const std::string field = path + "." + key;
  if (!value->is_number()) return invalid(field, "must be an integer");
  double number = value->get<double>();
  if (!std::isfinite(number) || std::floor(number) != number) {
    return invalid(field, "must be an integer");
  }
  if (number < static_cast<double>(min) || number > static_cast<double>(max)) {
    return invalid(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                              ", got " + format_number(number));
  }
  return static_cast<std::int64_t>(number);
}

}  // namespace lagpilot::alerts::spec_fields
