#include "controllers/own_status_writes.h"

#include <charconv>

#include "controllers/monitor_cache.h"

namespace lagpilot::controllers {

using nlohmann::json;

namespace {

std::optional<std::uint64_t> resource_version_of(const json& object) {
  const json::json_pointer field("/metadata/resourceVersion");
  if (!object.contains(field) || !object[field].is_string()) return std::nullopt;
  return resource_version_number(object[field].get_ref<const std::string&>());
}

// The status of a cached (compacted) object or of an answer from the server.
json status_of(const json& object) { return cached_status(object); }

}  // namespace

std::optional<std::uint64_t> resource_version_number(std::string_view resource_version) {
  std::uint64_t number = 0;
  const char* end = resource_version.data() + resource_version.size();
  auto [at, error] = std::from_chars(resource_version.data(), end, number);
  if (resource_version.empty() || error != std::errc() || at != end) return std::nullopt;
  return number;
}

void OwnStatusWrites::wrote(const json& answered_object) {
  auto version = resource_version_of(answered_object);
  json status = status_of(answered_object);
  std::lock_guard lock(mutex_);
  if (!version) {  // cannot be ordered against the cache: the cache stays the source
    status_.reset();
    return;
  }
  status_ = std::move(status);
  resource_version_ = *version;
}

json OwnStatusWrites::status_to_build_on(const json& cached_object) {
  std::lock_guard lock(mutex_);
  if (status_) {
    auto cached_version = resource_version_of(cached_object);
    if (cached_version && *cached_version < resource_version_) return *status_;
    status_.reset();  // the cache has our write, or a newer object, or an unordered version
  }
  return status_of(cached_object);
}

}  // namespace lagpilot::controllers
