#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/http_transport.h"
#include "util/clock.h"

namespace lagpilot::kube {

struct RetryPolicy {
  int max_attempts = 4;  // first try included
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5'000};
};

struct ClientOptions {
  std::chrono::milliseconds request_timeout{15'000};
  RetryPolicy retry;
  // Called after every HTTP exchange: verb, HTTP status (0 = no answer), seconds taken.
  std::function<void(const std::string& verb, int status, double seconds)> on_request;
  // Wraps every HTTP exchange but watches (tracing: one client span each): called before it with
  // the verb and the path and query; what it returns is called after with the HTTP status (0 = no
  // answer), on the same thread.
  std::function<std::function<void(int status)>(const std::string& verb, const std::string& target)>
      around_request;
};

// KubeClient over HTTP(S). Retries what may succeed later: 429 (honouring Retry-After), 5xx and
// transport failures for reads; for writes only 429 and answers that carry Retry-After, since a
// write that reached the server must not be repeated blindly.
class RestKubeClient final : public KubeClient {
 public:
  RestKubeClient(std::unique_ptr<HttpTransport> transport, Clock& clock,
                 ClientOptions options = {});

  // The usual construction: cpprest transport from a config.
  static std::unique_ptr<RestKubeClient> from_config(const KubeConfig& config, Clock& clock,
                                                     ClientOptions options = {});

  ApiResult<Json> get(const Gvr& gvr, const std::string& ns, const std::string& name) override;
  ApiResult<Json> list(const Gvr& gvr, const std::string& ns, const ListOptions& options) override;
  ApiResult<Json> create(const Gvr& gvr, const std::string& ns, const Json& object) override;
  ApiResult<Json> update(const Gvr& gvr, const std::string& ns, const Json& object) override;
  ApiResult<Json> patch(const Gvr& gvr, const std::string& ns, const std::string& name,
                        PatchType type, const Json& patch, const std::string& subresource) override;
  ApiStatus remove(const Gvr& gvr, const std::string& ns, const std::string& name) override;
  ApiStatus remove_if_unchanged(const Gvr& gvr, const std::string& ns, const std::string& name,
                                const std::string& resource_version) override;
  ApiResult<Json> update_status(const Gvr& gvr, const std::string& ns, const Json& object) override;
  ApiResult<Json> get_scale(const Gvr& gvr, const std::string& ns,
                            const std::string& name) override;
  ApiResult<Json> patch_scale(const Gvr& gvr, const std::string& ns, const std::string& name,
                              int replicas) override;
  ApiResult<std::unique_ptr<WatchStream>> watch(const Gvr& gvr, const std::string& ns,
                                                const WatchOptions& options) override;
  ApiResult<Gvr> resolve_kind(const std::string& api_version, const std::string& kind) override;

  // Raw request for paths outside the resource model (/readyz, /version).
  ApiResult<Json> get_path(const std::string& path);

 private:
  ApiResult<Json> execute(HttpRequest request, bool idempotent);

  std::unique_ptr<HttpTransport> transport_;
  Clock& clock_;
  ClientOptions options_;
  std::mutex discovery_mutex_;
  std::map<std::string, Gvr> discovered_;  // "apiVersion/kind" -> resource
};

// Builds a resource path: /apis/group/version/namespaces/ns/resource/name/subresource.
std::string resource_path(const Gvr& gvr, const std::string& ns, const std::string& name = "",
                          const std::string& subresource = "");
std::string url_encode(const std::string& text);

}  // namespace lagpilot::kube
