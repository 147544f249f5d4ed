#include "controllers/conditions.h"

namespace lagpilot::controllers {

bool set_condition(nlohmann::json& conditions, const Condition& condition,
                   std::int64_t observed_generation, WallTime now) {
  if (!conditions.is_array()) conditions = nlohmann::json::array();
  for (auto& existing : conditions) {
    if (existing.value("type", "") != condition.type) continue;
    bool changed = false;
    if (existing.value("status", "") != condition.status) {
      existing["status"] = condition.status;
      existing["lastTransitionTime"] = format_rfc3339(now);
      changed = true;
    }
    auto update = [&](const char* key, const nlohmann::json& value) {
      if (!existing.contains(key) || existing[key] != value) {
        existing[key] = value;
        changed = true;
      }
    };
    update("reason", condition.reason);
    update("message", condition.message);
    update("observedGeneration", observed_generation);
    if (!existing.contains("lastTransitionTime"))
      existing["lastTransitionTime"] = format_rfc3339(now);
    return changed;
  }
  conditions.push_back({{"type", condition.type},
                        {"status", condition.status},
                        {"reason", condition.reason},
                        {"message", condition.message},
                        {"observedGeneration", observed_generation},
                        {"lastTransitionTime", format_rfc3339(now)}});
  return true;
}

bool remove_condition(nlohmann::json& conditions, const std::string& type) {
  if (!conditions.is_array()) return false;
  for (auto it = conditions.begin(); it != conditions.end(); ++it) {
    if (it->value("type", "") == type) {
      conditions.erase(it);
      return true;
    }
  }
  return false;
}

const nlohmann::json* find_condition(const nlohmann::json& conditions, const std::string& type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& existing : conditions) {
    if (existing.value("type", "") == type) return &existing;
  }
  return nullptr;
}

}  // namespace lagpilot::controllers
