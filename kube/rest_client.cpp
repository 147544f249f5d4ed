#include "kube/rest_client.h"

#include <random>
#include <sstream>

namespace lagpilot::kube {
namespace {

const char* content_type_for(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
    case PatchType::kApply:
      return "application/apply-patch+yaml";
  }
  return "application/merge-patch+json";
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += key + "=" + url_encode(value);
  }
  return out;
}

class JsonWatchStream final : public WatchStream {
 public:
  explicit JsonWatchStream(std::unique_ptr<LineStream> lines, std::string what)
      : lines_(std::move(lines)), what_(std::move(what)) {}

  ApiResult<std::optional<WatchEvent>> next() override {
    while (true) {
      auto line = lines_->next_line();
      if (!line) return line.error();
      if (!line->has_value()) return std::optional<WatchEvent>();
      const std::string& text = **line;
      if (text.find_first_not_of(" \r\n\t") == std::string::npos) continue;
      auto parsed = Json::parse(text, nullptr, false);
      if (!parsed.is_object() || !parsed.contains("type")) {
        return ApiError(ApiReason::kTransport, 0, what_ + ": malformed watch event");
      }
      std::string type = parsed["type"].get<std::string>();
      Json object = parsed.value("object", Json::object());
      if (type == "ADDED")
        return std::optional<WatchEvent>({WatchEventType::kAdded, std::move(object)});
      if (type == "MODIFIED")
        return std::optional<WatchEvent>({WatchEventType::kModified, std::move(object)});
      if (type == "DELETED")
        return std::optional<WatchEvent>({WatchEventType::kDeleted, std::move(object)});
      if (type == "BOOKMARK")
        return std::optional<WatchEvent>({WatchEventType::kBookmark, std::move(object)});
      if (type == "ERROR") {
        int code = object.value("code", 500);
        return decode_api_error(code, object.dump(), "", what_);
      }
    }
  }

  void cancel() override { lines_->cancel(); }

 private:
  std::unique_ptr<LineStream> lines_;
  std::string what_;
};

}  // namespace

std::string url_encode(const std::string& text) {
  std::ostringstream out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out << c;
    } else {
      out << '%' << std::uppercase << std::hex << (c >> 4) << (c & 15) << std::dec;
    }
  }
  return out.str();
}

std::string resource_path(const Gvr& gvr, const std::string& ns, const std::string& name,
                          const std::string& subresource) {
  std::string path =
      gvr.group.empty() ? "/api/" + gvr.version : "/apis/" + gvr.group + "/" + gvr.version;
  if (gvr.namespaced && !ns.empty()) path += "/namespaces/" + ns;
  path += "/" + gvr.resource;
  if (!name.empty()) path += "/" + name;
  if (!subresource.empty()) path += "/" + subresource;
  return path;
}

RestKubeClient::RestKubeClient(std::unique_ptr<HttpTransport> transport, Clock& clock,
                               ClientOptions options)
    : transport_(std::move(transport)), clock_(clock), options_(std::move(options)) {}

std::unique_ptr<RestKubeClient> RestKubeClient::from_config(const KubeConfig& config, Clock& clock,
                                                            ClientOptions options) {
  auto tokens = std::make_shared<TokenSource>(config, clock);
  return std::make_unique<RestKubeClient>(make_cpprest_transport(config, tokens), clock,
                                          std::move(options));
}

ApiResult<Json> RestKubeClient::execute(HttpRequest request, bool idempotent) {
  request.timeout = options_.request_timeout;
  std::string what = request.method + " " + request.target;
  auto backoff = options_.retry.initial_backoff;
  std::mt19937 jitter(static_cast<unsigned>(std::hash<std::string>{}(what)));
  for (int attempt = 1;; ++attempt) {
    auto started = std::chrono::steady_clock::now();
    auto finished =
        options_.around_request ? options_.around_request(request.method, request.target) : nullptr;
    auto response = transport_->send(request);
    if (finished) finished(response ? response->status : 0);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (options_.on_request)
      options_.on_request(request.method, response ? response->status : 0, seconds);

    ApiError error;
    if (!response) {
      error = response.error();
    } else if (response->status >= 200 && response->status < 300) {
      if (response->body.empty()) return Json::object();
      auto parsed = Json::parse(response->body, nullptr, false);
      if (parsed.is_discarded()) {
        return ApiError(ApiReason::kUnknown, response->status, what + ": response is not JSON");
      }
      return parsed;
    } else {
      auto header = response->headers.find("retry-after");
      error = decode_api_error(response->status, response->body,
                               header == response->headers.end() ? "" : header->second, what);
    }

    bool retry = false;
    if (error.reason == ApiReason::kTooManyRequests) {
      retry = true;
    } else if (idempotent) {
      retry = is_retriable(error);
    } else {
      // A write that got a clear "try later" never took effect; other failures might have.
      retry = error.retry_after.has_value() && is_retriable(error);
    }
    if (!retry || attempt >= options_.retry.max_attempts) return error;

    Duration wait = backoff;
    if (error.retry_after) {
      wait = *error.retry_after;
    } else {
      std::uniform_real_distribution<double> spread(0.8, 1.2);
      wait = std::chrono::duration_cast<Duration>(backoff * spread(jitter));
      backoff = std::min(backoff * 2, options_.retry.max_backoff);
    }
    clock_.sleep_for(wait);
  }
}

ApiResult<Json> RestKubeClient::get(const Gvr& gvr, const std::string& ns,
                                    const std::string& name) {
  return execute({"GET", resource_path(gvr, ns, name)}, true);
}

ApiResult<Json> RestKubeClient::list(const Gvr& gvr, const std::string& ns,
                                     const ListOptions& options) {
  std::string target =
      resource_path(gvr, ns) +
      query_string({{"labelSelector", options.label_selector},
                    {"fieldSelector", options.field_selector},
                    {"limit", options.limit > 0 ? std::to_string(options.limit) : ""},
                    {"continue", options.continue_token},
                    {"resourceVersion", options.resource_version}});
  return execute({"GET", target}, true);
}

ApiResult<Json> RestKubeClient::create(const Gvr& gvr, const std::string& ns, const Json& object) {
  return execute({"POST", resource_path(gvr, ns), object.dump()}, false);
}

ApiResult<Json> RestKubeClient::update(const Gvr& gvr, const std::string& ns, const Json& object) {
  std::string name = object.value("/metadata/name"_json_pointer, "");
  return execute({"PUT", resource_path(gvr, ns, name), object.dump()}, false);
}

ApiResult<Json> RestKubeClient::update_status(const Gvr& gvr, const std::string& ns,
                                              const Json& object) {
  std::string name = object.value("/metadata/name"_json_pointer, "");
  return execute({"PUT", resource_path(gvr, ns, name, "status"), object.dump()}, false);
}

ApiResult<Json> RestKubeClient::patch(const Gvr& gvr, const std::string& ns,
                                      const std::string& name, PatchType type, const Json& patch,
                                      const std::string& subresource) {
  std::string target = resource_path(gvr, ns, name, subresource);
  if (type == PatchType::kApply) target += "?fieldManager=lagpilot&force=true";
  HttpRequest request{"PATCH", target, patch.dump(), content_type_for(type)};
  return execute(std::move(request), false);
}

ApiStatus RestKubeClient::remove(const Gvr& gvr, const std::string& ns, const std::string& name) {
  auto result = execute({"DELETE", resource_path(gvr, ns, name)}, true);
  if (!result) return result.error();
  return Ok{};
}

ApiStatus RestKubeClient::remove_if_unchanged(const Gvr& gvr, const std::string& ns,
                                              const std::string& name,
                                              const std::string& resource_version) {
  Json options = {{"apiVersion", "v1"},
                  {"kind", "DeleteOptions"},
                  {"preconditions", {{"resourceVersion", resource_version}}}};
  auto result = execute({"DELETE", resource_path(gvr, ns, name), options.dump()}, false);
  if (!result) return result.error();
  return Ok{};
}

ApiResult<Json> RestKubeClient::get_scale(const Gvr& gvr, const std::string& ns,
                                          const std::string& name) {
  return execute({"GET", resource_path(gvr, ns, name, "scale")}, true);
}

ApiResult<Json> RestKubeClient::patch_scale(const Gvr& gvr, const std::string& ns,
                                            const std::string& name, int replicas) {
  Json body = {{"spec", {{"replicas", replicas}}}};
  return patch(gvr, ns, name, PatchType::kMerge, body, "scale");
}

ApiResult<std::unique_ptr<WatchStream>> RestKubeClient::watch(const Gvr& gvr, const std::string& ns,
                                                              const WatchOptions& options) {
  std::string target = resource_path(gvr, ns) +
                       query_string({{"watch", "1"},
                                     {"resourceVersion", options.resource_version},
                                     {"labelSelector", options.label_selector},
                                     {"fieldSelector", options.field_selector},
                                     {"allowWatchBookmarks", options.allow_bookmarks ? "true" : ""},
                                     {"timeoutSeconds", std::to_string(options.timeout_seconds)}});
  HttpRequest request{"GET", target};
  request.timeout = options_.request_timeout;
  // Idle gaps between events may last until the server's timeout; allow a margin beyond it.
  auto idle = std::chrono::seconds(options.timeout_seconds + 30);
  auto started = std::chrono::steady_clock::now();
  auto stream = transport_->open_stream(request, idle);
  if (options_.on_request) {
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    options_.on_request("WATCH", stream ? 200 : stream.error().http_status, seconds);
  }
  if (!stream) return stream.error();
  return std::unique_ptr<WatchStream>(
      std::make_unique<JsonWatchStream>(std::move(*stream), "WATCH " + target));
}

ApiResult<Gvr> RestKubeClient::resolve_kind(const std::string& api_version,
                                            const std::string& kind) {
  std::string key = api_version + "/" + kind;
  {
    std::lock_guard lock(discovery_mutex_);
    if (auto it = discovered_.find(key); it != discovered_.end()) return it->second;
  }
  auto slash = api_version.find('/');
  std::string group = slash == std::string::npos ? "" : api_version.substr(0, slash);
  std::string version = slash == std::string::npos ? api_version : api_version.substr(slash + 1);
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  auto list = execute({"GET", path}, true);
  if (!list) return list.error();
  for (const auto& resource : list->value("resources", Json::array())) {
    std::string name = resource.value("name", "");
    if (resource.value("kind", "") == kind && name.find('/') == std::string::npos) {
      Gvr gvr{group, version, name, resource.value("namespaced", true)};
      std::lock_guard lock(discovery_mutex_);
      discovered_[key] = gvr;
      return gvr;
    }
  }
  return ApiError(ApiReason::kNotFound, 404,
                  "GET " + path + ": no resource of kind " + kind + " in " + api_version);
}

ApiResult<Json> RestKubeClient::get_path(const std::string& path) {
  return execute({"GET", path}, true);
}

ApiStatus KubeClient::remove_if_unchanged(const Gvr& gvr, const std::string&,
                                          const std::string& name, const std::string&) {
  return ApiError(
      ApiReason::kMethodNotAllowed, 0,
      "conditional delete of " + gvr.to_string() + " " + name + " not supported by this client");
}

ApiResult<Json> list_all(KubeClient& client, const Gvr& gvr, const std::string& ns,
                         ListOptions options) {
  Json items = Json::array();
  Json last;
  do {
    auto page = client.list(gvr, ns, options);
    if (!page) return page.error();
    for (auto& item : (*page)["items"]) items.push_back(std::move(item));
    options.continue_token = page->value("/metadata/continue"_json_pointer, "");
    last = std::move(*page);
  } while (!options.continue_token.empty());
  last["items"] = std::move(items);
  return last;
}

ApiResult<Json> update_with_retry(KubeClient& client, const Gvr& gvr, const std::string& ns,
                                  const std::string& name, const std::function<bool(Json&)>& mutate,
                                  bool status_subresource, int attempts) {
  for (int attempt = 1;; ++attempt) {
    auto current = client.get(gvr, ns, name);
    if (!current) return current.error();
    Json object = *current;
    if (!mutate(object)) return current;
    auto written =
        status_subresource ? client.update_status(gvr, ns, object) : client.update(gvr, ns, object);
    if (written || written.error().reason != ApiReason::kConflict || attempt >= attempts) {
      return written;
    }
  }
}

std::string object_key(const Json& object) {
  std::string ns = object.value("/metadata/namespace"_json_pointer, "");
  std::string name = object.value("/metadata/name"_json_pointer, "");
  return ns.empty() ? name : ns + "/" + name;
}

}  // namespace lagpilot::kube
