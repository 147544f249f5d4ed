#include "kube/events.h"

#include <cstdio>

namespace lagpilot::kube {

EventRecorder::EventRecorder(KubeClient& client, Clock& clock, std::string component,
                             std::size_t cache_size)
    : client_(client), clock_(clock), component_(std::move(component)), cache_size_(cache_size) {}

ApiStatus EventRecorder::record(const Json& involved, EventType type, const std::string& reason,
                                const std::string& message) {
  const Json& meta = involved.at("metadata");
  std::string ns = meta.value("namespace", "default");
  std::string name = meta.value("name", "");
  std::string uid = meta.value("uid", "");
  std::string type_text = type == EventType::kNormal ? "Normal" : "Warning";
  std::string kind = involved.value("kind", "");
  std::string key =
      kind + "/" + ns + "/" + name + "/" + uid + "|" + type_text + "|" + reason + "|" + message;
  std::string now = format_rfc3339(clock_.now());

  std::unique_lock lock(mutex_);
  auto found = seen_.find(key);
  if (found != seen_.end()) {
    Seen seen = found->second.first;
    recency_.splice(recency_.begin(), recency_, found->second.second);
    lock.unlock();
    Json patch = {{"count", seen.count + 1}, {"lastTimestamp", now}};
    auto patched =
        client_.patch(resources::kEvents, seen.ns, seen.event_name, PatchType::kMerge, patch);
    if (patched) {
      std::lock_guard relock(mutex_);
      if (auto again = seen_.find(key); again != seen_.end())
        again->second.first.count = seen.count + 1;
      return Ok{};
    }
    if (patched.error().reason != ApiReason::kNotFound) return patched.error();
    lock.lock();  // the Event expired on the server (TTL): create a fresh one below
    if (auto again = seen_.find(key); again != seen_.end()) {
      recency_.erase(again->second.second);
      seen_.erase(again);
    }
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%lx",
                static_cast<unsigned long>(clock_.now().time_since_epoch().count()) + sequence_++);
  std::string event_name = name + "." + suffix;
  lock.unlock();

  Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", event_name}, {"namespace", ns}}},
      {"involvedObject",
       {{"apiVersion", involved.value("apiVersion", "")},
        {"kind", kind},
        {"name", name},
        {"namespace", ns},
        {"uid", uid},
        {"resourceVersion", meta.value("resourceVersion", "")}}},
      {"reason", reason},
      {"message", message},
      {"type", type_text},
      {"count", 1},
      {"firstTimestamp", now},
      {"lastTimestamp", now},
      {"source", {{"component", component_}}},
      {"reportingComponent", component_},
  };
  auto created = client_.create(resources::kEvents, ns, event);
  if (!created) return created.error();

  lock.lock();
  recency_.push_front(key);
  seen_[key] = {Seen{event_name, ns, 1}, recency_.begin()};
  while (seen_.size() > cache_size_) {
    seen_.erase(recency_.back());
    recency_.pop_back();
  }
  return Ok{};
}

}  // namespace lagpilot::kube
