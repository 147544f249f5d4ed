#include "controllers/target_ownership.h"

#include <algorithm>
#include <cctype>

namespace lagpilot::controllers {

using nlohmann::json;

std::string target_key(const std::string& ns, const std::string& kind, const std::string& name) {
  return ns + "/" + kind + "/" + name;
}

std::string scaled_target_key(const json& autoscaler, const std::string& default_kind) {
  const json ref = autoscaler.value("/spec/scaleTargetRef"_json_pointer, json::object());
  if (!ref.is_object()) return "";
  std::string name = ref.value("name", "");
  if (name.empty()) return "";
  std::string kind = ref.value("kind", "");
  if (kind.empty()) kind = default_kind;
  return target_key(autoscaler.value("/metadata/namespace"_json_pointer, ""), kind, name);
}

bool claims_target(const json& monitor) {
  if (monitor.contains("/metadata/deletionTimestamp"_json_pointer)) return false;
  auto spec = api::parse_queue_monitor_spec(monitor.value("spec", json()));
  return spec.ok() && spec->scaling.mode == scaler::Mode::kActive;
}

bool older_monitor(const json& a, const json& b) {
  const auto created = [](const json& m) {
    return m.value("/metadata/creationTimestamp"_json_pointer, "");
  };
  const auto name = [](const json& m) { return m.value("/metadata/name"_json_pointer, ""); };
  // RFC 3339 UTC timestamps of one format compare as strings.
  if (created(a) != created(b)) return created(a) < created(b);
  return name(a) < name(b);
}

Result<std::optional<int>> paused_replicas(const json& monitor) {
  const json annotations = monitor.value("/metadata/annotations"_json_pointer, json::object());
  if (!annotations.is_object() || !annotations.contains(kPausedReplicasAnnotation))
    return std::optional<int>();
  const json& value = annotations[kPausedReplicasAnnotation];
  const std::string text = value.is_string() ? value.get<std::string>() : "";
  const bool digits =
      !text.empty() && text.size() <= 6 &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
  const int replicas = digits ? std::stoi(text) : -1;
  if (replicas < 0 || replicas > 100000) {
    return Error{"InvalidSpec", std::string("metadata.annotations[") + kPausedReplicasAnnotation +
                                    "]: must be a whole number of replicas (0-100000), got \"" +
                                    text + "\""};
  }
  return std::optional<int>(replicas);
}

std::vector<std::string> AutoscalerIndex::update(const std::string& kind, const json* before,
                                                 const json* after,
                                                 const std::string& default_kind) {
  const auto entry = [&](const json& object) {
    return kind + " " + object.value("/metadata/name"_json_pointer, "");
  };
  std::vector<std::string> changed;
  if (before && after && entry(*before) == entry(*after) &&
      scaled_target_key(*before, default_kind) == scaled_target_key(*after, default_kind)) {
    return changed;  // status churn: the same autoscaler of the same target
  }
  std::lock_guard lock(mutex_);
  if (before) {
    std::string target = scaled_target_key(*before, default_kind);
    auto it = by_target_.find(target);
    if (it != by_target_.end() && it->second.erase(entry(*before)) > 0) {
      changed.push_back(target);
      if (it->second.empty()) by_target_.erase(it);
    }
  }
  if (after) {
    std::string target = scaled_target_key(*after, default_kind);
    if (!target.empty() && by_target_[target].insert(entry(*after)).second &&
        std::find(changed.begin(), changed.end(), target) == changed.end()) {
      changed.push_back(target);
    }
  }
  return changed;
}

std::vector<std::string> AutoscalerIndex::autoscalers_of(const std::string& target) const {
  std::lock_guard lock(mutex_);
  auto it = by_target_.find(target);
  if (it == by_target_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void keep_scale_target_ref(json& autoscaler) {
  json kept = {{"apiVersion", autoscaler.value("apiVersion", "")},
               {"kind", autoscaler.value("kind", "")},
               {"metadata", json::object()}};
  const json metadata = autoscaler.value("metadata", json::object());
  for (const char* field : {"name", "namespace", "uid", "resourceVersion"}) {
    if (metadata.contains(field)) kept["metadata"][field] = metadata[field];
  }
  if (autoscaler.contains("/spec/scaleTargetRef"_json_pointer))
    kept["spec"] = {{"scaleTargetRef", autoscaler["/spec/scaleTargetRef"_json_pointer]}};
  autoscaler = std::move(kept);
}

}  // namespace lagpilot::controllers
