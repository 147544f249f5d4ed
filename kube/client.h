#pragma once
// A dynamic Kubernetes client: any resource by group/version/resource, objects as JSON.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "kube/api_error.h"

namespace lagpilot::kube {

using Json = nlohmann::json;

struct Gvr {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, e.g. "deployments"
  bool namespaced = true;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  std::string to_string() const { return resource + (group.empty() ? "" : "." + group); }
};

namespace resources {
inline const Gvr kNamespaces{"", "v1", "namespaces", false};
inline const Gvr kPods{"", "v1", "pods", true};
inline const Gvr kSecrets{"", "v1", "secrets", true};
inline const Gvr kConfigMaps{"", "v1", "configmaps", true};
inline const Gvr kEvents{"", "v1", "events", true};
inline const Gvr kServiceAccounts{"", "v1", "serviceaccounts", true};
inline const Gvr kDeployments{"apps", "v1", "deployments", true};
inline const Gvr kStatefulSets{"apps", "v1", "statefulsets", true};
inline const Gvr kLeases{"coordination.k8s.io", "v1", "leases", true};
inline const Gvr kCustomResourceDefinitions{"apiextensions.k8s.io", "v1",
                                            "customresourcedefinitions", false};
inline const Gvr kQueueMonitors{"lagpilot.io", "v1alpha1", "queuemonitors", true};
}  // namespace resources

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int limit = 0;  // page size; 0 = server default (everything)
  std::string continue_token;
  std::string resource_version;  // "" = most recent; "0" = any (watch cache)
};

struct WatchOptions {
  std::string resource_version;
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  int timeout_seconds = 300;  // the server ends the watch after this; the caller re-watches
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type;
  Json object;
};

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event; nullopt when the server ended the watch normally. An ERROR event carrying a
  // 410 Status comes back as an ApiError with reason kGone.
  virtual ApiResult<std::optional<WatchEvent>> next() = 0;
  virtual void cancel() = 0;
};

enum class PatchType { kMerge, kJson, kStrategicMerge, kApply };

class KubeClient {
 public:
  virtual ~KubeClient() = default;
  virtual ApiResult<Json> get(const Gvr& gvr, const std::string& ns, const std::string& name) = 0;
  // One page; follow the returned metadata.continue with ListOptions::continue_token.
  virtual ApiResult<Json> list(const Gvr& gvr, const std::string& ns,
                               const ListOptions& options) = 0;
  virtual ApiResult<Json> create(const Gvr& gvr, const std::string& ns, const Json& object) = 0;
  // PUT; metadata.resourceVersion in `object` makes it conditional (409 Conflict when stale).
  virtual ApiResult<Json> update(const Gvr& gvr, const std::string& ns, const Json& object) = 0;
  virtual ApiResult<Json> patch(const Gvr& gvr, const std::string& ns, const std::string& name,
                                PatchType type, const Json& patch,
                                const std::string& subresource = "") = 0;
  virtual ApiStatus remove(const Gvr& gvr, const std::string& ns, const std::string& name) = 0;
  // DELETE with preconditions.resourceVersion: 409 Conflict when the object changed since it was
  // read at `resource_version`. Clients that cannot send it answer kMethodNotAllowed.
  virtual ApiStatus remove_if_unchanged(const Gvr& gvr, const std::string& ns,
                                        const std::string& name,
                                        const std::string& resource_version);
  // The status subresource (PUT .../status).
  virtual ApiResult<Json> update_status(const Gvr& gvr, const std::string& ns,
                                        const Json& object) = 0;
  // The scale subresource (autoscaling/v1 Scale).
  virtual ApiResult<Json> get_scale(const Gvr& gvr, const std::string& ns,
                                    const std::string& name) = 0;
  virtual ApiResult<Json> patch_scale(const Gvr& gvr, const std::string& ns,
                                      const std::string& name, int replicas) = 0;
  virtual ApiResult<std::unique_ptr<WatchStream>> watch(const Gvr& gvr, const std::string& ns,
                                                        const WatchOptions& options) = 0;
  // Finds the resource that serves `kind` in `api_version` through discovery (cached).
  virtual ApiResult<Gvr> resolve_kind(const std::string& api_version, const std::string& kind) = 0;
};

// Lists every page.
ApiResult<Json> list_all(KubeClient& client, const Gvr& gvr, const std::string& ns,
                         ListOptions options);

// get, mutate, update; on 409 Conflict re-reads and tries again (up to `attempts`). `mutate`
// returns false to skip the write (nothing to change).
ApiResult<Json> update_with_retry(KubeClient& client, const Gvr& gvr, const std::string& ns,
                                  const std::string& name, const std::function<bool(Json&)>& mutate,
                                  bool status_subresource = false, int attempts = 5);

// "namespace/name" (or "name" for cluster-scoped objects).
std::string object_key(const Json& object);

}  // namespace lagpilot::kube
