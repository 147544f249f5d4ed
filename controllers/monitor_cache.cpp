#include "controllers/monitor_cache.h"

namespace lagpilot::controllers {
namespace {

// Where the compacted status text lives in a cached object: not "status", so that nothing that
// expects an object there finds a string.
constexpr const char* kStatusText = "lagpilot.io/statusText";

}  // namespace

void compact_cached_monitor(kube::Json& monitor) {
  if (!monitor.is_object()) return;
  if (monitor.contains("metadata") && monitor["metadata"].is_object()) {
    kube::Json& metadata = monitor["metadata"];
    metadata.erase("managedFields");
    if (metadata.contains("annotations") && metadata["annotations"].is_object()) {
      metadata["annotations"].erase("kubectl.kubernetes.io/last-applied-configuration");
      if (metadata["annotations"].empty()) metadata.erase("annotations");
    }
  }
  auto status = monitor.find("status");
  if (status == monitor.end()) return;
  std::string text = status->is_object() ? status->dump() : std::string();
  monitor.erase(status);
  if (!text.empty() && text != "{}") {
    text.shrink_to_fit();
    monitor[kStatusText] = std::move(text);
  }
}

kube::Json cached_status(const kube::Json& monitor) {
  if (!monitor.is_object()) return kube::Json::object();
  if (auto text = monitor.find(kStatusText); text != monitor.end() && text->is_string()) {
    auto parsed = kube::Json::parse(text->get_ref<const std::string&>(), nullptr, false);
    if (parsed.is_object()) return parsed;
  }
  if (auto status = monitor.find("status"); status != monitor.end() && status->is_object())
    return *status;
  return kube::Json::object();
}

}  // namespace lagpilot::controllers
