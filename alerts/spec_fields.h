#pragma once
// Reading spec.alerts[] and spec.slos[] items field by field, with errors that name the field.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alerts/condition.h"
#include "util/result.h"

namespace lagpilot::alerts::spec_fields {

Error invalid(const std::string& path, const std::string& message);

// The item's `name`: required, ^[A-Za-z][A-Za-z0-9_-]*$, at most 63 characters (rules and SLOs).
Result<std::string> required_name(const nlohmann::json& item, const std::string& path);

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

// A spec list of named items (spec.alerts, spec.slos): null means none, anything but a list is one
// error. Each item is `parse(item, index)` (a Result with a .name); a bad item or a name used
// before is reported ("duplicate <what> \"x\" (also <path>[i])") and skipped, the rest are kept.
template <typename Item, typename Parse>
void parse_named_list(const nlohmann::json& list, const std::string& path, const std::string& what,
                      Parse parse, std::vector<Item>& items, std::vector<Error>& errors) {
  if (list.is_null()) return;
  if (!list.is_array()) {
    errors.push_back(invalid(path, "must be a list"));
    return;
  }
  std::map<std::string, std::size_t> first_index_by_name;
  for (std::size_t index = 0; index < list.size(); ++index) {
    auto item = parse(list[index], index);
    if (!item) {
      errors.push_back(item.error());
      continue;
    }
    auto [it, inserted] = first_index_by_name.emplace(item->name, index);
    if (!inserted) {
      errors.push_back(invalid(path + "[" + std::to_string(index) + "].name",
                               "duplicate " + what + " \"" + item->name + "\" (also " + path + "[" +
                                   std::to_string(it->second) + "])"));
      continue;
    }
    items.push_back(std::move(*item));
  }
}

}  // namespace lagpilot::alerts::spec_fields
