#pragma once
// Where the API server is and how to authenticate to it: from a kubeconfig file or from the
// in-cluster service-account mount.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "util/clock.h"
#include "util/result.h"

namespace lagpilot::kube {

struct KubeConfig {
  std::string server;           // https://host:port, no trailing slash
  std::string ca_pem;           // CA bundle to verify the server with; empty = system roots
  std::string client_cert_pem;  // mutual TLS, optional
  std::string client_key_pem;
  std::string token;       // static bearer token, optional
  std::string token_file;  // bearer token re-read as it rotates (in-cluster), optional
  bool insecure_skip_tls_verify = false;
  std::string default_namespace = "default";
  std::string origin;  // "kubeconfig /path (context x)" or "in-cluster", for messages
  // Sent with every request: the API server's audit log tells replicas apart by it.
  std::string user_agent = "lagpilot/0.1";
};

// Reads a kubeconfig file. `context_name` empty = current-context. Errors name the file and field.
Result<KubeConfig> load_kubeconfig(const std::string& path, const std::string& context_name = "");

// Reads the in-cluster configuration: KUBERNETES_SERVICE_HOST/_PORT from `env` and the token,
// ca.crt and namespace from `service_account_dir` (default
// /var/run/secrets/kubernetes.io/serviceaccount).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
Result<KubeConfig> load_in_cluster(
    const EnvLookup& env,
    const std::string& service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The usual search: explicit path, else $KUBECONFIG, else in-cluster when its variables are set,
// else ~/.kube/config.
Result<KubeConfig> load_default_config(const EnvLookup& env, const std::string& explicit_path = "");

EnvLookup process_environment();

// Supplies the bearer token for each request; re-reads token_file at most once a minute so that
// rotated, bound service-account tokens are picked up.
class TokenSource {
 public:
  TokenSource(const KubeConfig& config, const Clock& clock);
  std::string token();

 private:
  std::string static_token_;
  std::string token_file_;
  const Clock& clock_;
  std::mutex mutex_;
  std::string cached_;
  std::optional<WallTime> read_at_;
};

std::string base64_decode(const std::string& encoded, bool* ok = nullptr);
std::string base64_encode(const std::string& raw);

}  // namespace lagpilot::kube
