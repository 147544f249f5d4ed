#pragma once
// metav1.Condition lists as the Kubernetes API conventions describe them: one entry per type;
// lastTransitionTime moves only when status flips.
#include <string>

#include <nlohmann/json.hpp>

#include "util/clock.h"

namespace lagpilot::controllers {

struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // CamelCase
  std::string message;
};

// Updates or adds `condition` in `conditions` (a JSON array). Returns true if anything changed.
bool set_condition(nlohmann::json& conditions, const Condition& condition,
                   std::int64_t observed_generation, WallTime now);

// Removes the condition of `type`, if present. Returns true if it was there.
bool remove_condition(nlohmann::json& conditions, const std::string& type);

// The condition of `type`, or nullptr.
const nlohmann::json* find_condition(const nlohmann::json& conditions, const std::string& type);

}  // namespace lagpilot::controllers
