#include "kube/config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lagpilot::kube {
namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string trim(std::string text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

// Finds the entry named `name` in a kubeconfig list such as clusters: [{name, cluster: {...}}].
std::optional<YAML::Node> find_named(const YAML::Node& list, const std::string& name,
                                     const char* inner) {
  if (!list || !list.IsSequence()) return std::nullopt;
  for (const auto& entry : list) {
    if (entry.IsMap() && entry["name"] && entry["name"].as<std::string>("") == name) {
      if (!entry[inner] || !entry[inner].IsMap()) return YAML::Node(YAML::NodeType::Map);
      return entry[inner];
    }
  }
  return std::nullopt;
}

std::string scalar(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap() || !node[key] || !node[key].IsScalar()) return "";
  return node[key].as<std::string>();
}

// Reads `<key>-data` (base64) or `<key>` (a path relative to the kubeconfig's folder).
Result<std::string> inline_or_file(const YAML::Node& node, const std::string& key,
                                   const std::string& where, const std::filesystem::path& base) {
  std::string data = scalar(node, (key + "-data").c_str());
  if (!data.empty()) {
    bool ok = false;
    std::string decoded = base64_decode(data, &ok);
    if (!ok) return Error{"InvalidConfig", where + "." + key + "-data: not valid base64"};
    return decoded;
  }
  std::string file = scalar(node, key.c_str());
  if (file.empty()) return std::string();
  std::filesystem::path path(file);
  if (path.is_relative()) path = base / path;
  auto content = read_file(path.string());
  if (!content) {
    return Error{"InvalidConfig", where + "." + key + ": cannot read file " + path.string()};
  }
  return *content;
}

}  // namespace

std::string base64_decode(const std::string& encoded, bool* ok) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  bool valid = true;
  for (char c : encoded) {
    if (c == '=' || std::isspace(static_cast<unsigned char>(c))) continue;
    auto index = kAlphabet.find(c);
    if (index == std::string_view::npos) {
      valid = false;
      break;
    }
    buffer = (buffer << 6) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (ok) *ok = valid;
  return valid ? out : std::string();
}

std::string base64_encode(const std::string& raw) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(raw[i]) << 16) |
                 (static_cast<unsigned char>(raw[i + 1]) << 8) |
                 static_cast<unsigned char>(raw[i + 2]);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63],
            kAlphabet[n & 63]};
  }
  if (i + 1 == raw.size()) {
    unsigned n = static_cast<unsigned char>(raw[i]) << 16;
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == raw.size()) {
    unsigned n =
        (static_cast<unsigned char>(raw[i]) << 16) | (static_cast<unsigned char>(raw[i + 1]) << 8);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

Result<KubeConfig> load_kubeconfig(const std::string& path, const std::string& context_name) {
  auto content = read_file(path);
  if (!content) return Error{"InvalidConfig", "kubeconfig " + path + ": cannot read file"};
  YAML::Node root;
  try {
    root = YAML::Load(*content);
  } catch (const YAML::Exception& e) {
    return Error{"InvalidConfig", "kubeconfig " + path + ": not valid YAML (line " +
                                      std::to_string(e.mark.line + 1) + "): " + e.msg};
  }
  if (!root.IsMap()) return Error{"InvalidConfig", "kubeconfig " + path + ": not a YAML mapping"};
  const std::string where = "kubeconfig " + path;
  try {
    std::string context = context_name.empty() ? scalar(root, "current-context") : context_name;
    if (context.empty()) return Error{"InvalidConfig", where + ": current-context is not set"};
    auto found_context = find_named(root["contexts"], context, "context");
    if (!found_context)
      return Error{"InvalidConfig", where + ": contexts: no context named \"" + context + "\""};
    YAML::Node ctx = *found_context;
    std::string cluster_name = scalar(ctx, "cluster");
    std::string user_name = scalar(ctx, "user");
    auto found_cluster = find_named(root["clusters"], cluster_name, "cluster");
    if (!found_cluster) {
      return Error{"InvalidConfig", where + ": clusters: no cluster named \"" + cluster_name +
                                        "\" (used by context \"" + context + "\")"};
    }
    YAML::Node cluster = *found_cluster;
    KubeConfig config;
    config.origin = where + " (context " + context + ")";
    config.server = scalar(cluster, "server");
    if (config.server.empty()) {
      return Error{"InvalidConfig",
                   where + ": clusters[" + cluster_name + "].cluster.server is not set"};
    }
    if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
      return Error{"InvalidConfig", where + ": clusters[" + cluster_name + "].cluster.server: \"" +
                                        config.server + "\" is not an http(s) URL"};
    }
    while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
    auto base = std::filesystem::path(path).parent_path();
    std::string cluster_where = where + ": clusters[" + cluster_name + "].cluster";
    auto ca = inline_or_file(cluster, "certificate-authority", cluster_where, base);
    if (!ca) return ca.error();
    config.ca_pem = *ca;
    std::string skip = scalar(cluster, "insecure-skip-tls-verify");
    config.insecure_skip_tls_verify = skip == "true";
    std::string ns = scalar(ctx, "namespace");
    if (!ns.empty()) config.default_namespace = ns;

    if (!user_name.empty()) {
      auto found_user = find_named(root["users"], user_name, "user");
      if (!found_user) {
        return Error{"InvalidConfig", where + ": users: no user named \"" + user_name + "\""};
      }
      YAML::Node user = *found_user;
      std::string user_where = where + ": users[" + user_name + "].user";
      auto cert = inline_or_file(user, "client-certificate", user_where, base);
      if (!cert) return cert.error();
      auto key = inline_or_file(user, "client-key", user_where, base);
      if (!key) return key.error();
      if (cert->empty() != key->empty()) {
        return Error{"InvalidConfig",
                     user_where + ": client-certificate and client-key must be set together"};
      }
      config.client_cert_pem = *cert;
      config.client_key_pem = *key;
      config.token = trim(scalar(user, "token"));
      std::string token_file = scalar(user, "tokenFile");
      if (!token_file.empty()) {
        std::filesystem::path token_path(token_file);
        if (token_path.is_relative()) token_path = base / token_path;
        if (!read_file(token_path.string())) {
          return Error{"InvalidConfig",
                       user_where + ".tokenFile: cannot read file " + token_path.string()};
        }
        config.token_file = token_path.string();
      }
      if (user["exec"] || user["auth-provider"]) {
        if (config.token.empty() && config.token_file.empty() && config.client_cert_pem.empty()) {
          return Error{"InvalidConfig",
                       user_where +
                           ": exec and auth-provider plugins are not supported; use a "
                           "token, tokenFile or client certificate"};
        }
      }
    }
    return config;
  } catch (const YAML::Exception& e) {
    return Error{"InvalidConfig", where + ": unexpected structure (line " +
                                      std::to_string(e.mark.line + 1) + "): " + e.msg};
  }
}

Result<KubeConfig> load_in_cluster(const EnvLookup& env, const std::string& service_account_dir) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return Error{
        "InvalidConfig",
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"};
  }
  KubeConfig config;
  config.origin = "in-cluster";
  std::string h = *host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  config.server = "https://" + h + ":" + *port;
  config.token_file = service_account_dir + "/token";
  if (!read_file(config.token_file)) {
    return Error{"InvalidConfig", "in-cluster config: cannot read token file " + config.token_file};
  }
  auto ca = read_file(service_account_dir + "/ca.crt");
  if (!ca) {
    return Error{"InvalidConfig",
                 "in-cluster config: cannot read CA file " + service_account_dir + "/ca.crt"};
  }
  config.ca_pem = *ca;
  if (auto ns = read_file(service_account_dir + "/namespace")) {
    std::string trimmed = trim(*ns);
    if (!trimmed.empty()) config.default_namespace = trimmed;
  }
  return config;
}

Result<KubeConfig> load_default_config(const EnvLookup& env, const std::string& explicit_path) {
  if (!explicit_path.empty()) return load_kubeconfig(explicit_path);
  if (auto path = env("KUBECONFIG"); path && !path->empty()) {
    // Like kubectl, a list of files: take the first that exists.
    std::stringstream list(*path);
    std::string item;
    while (std::getline(list, item, ':')) {
      if (!item.empty() && std::filesystem::exists(item)) return load_kubeconfig(item);
    }
    return Error{"InvalidConfig", "KUBECONFIG=" + *path + ": no such file"};
  }
  if (auto host = env("KUBERNETES_SERVICE_HOST"); host && !host->empty()) {
    return load_in_cluster(env);
  }
  if (auto home = env("HOME"); home && !home->empty()) {
    std::string path = *home + "/.kube/config";
    if (std::filesystem::exists(path)) return load_kubeconfig(path);
  }
  return Error{
      "InvalidConfig",
      "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, or run in a cluster"};
}

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

TokenSource::TokenSource(const KubeConfig& config, const Clock& clock)
    : static_token_(config.token), token_file_(config.token_file), clock_(clock) {}

std::string TokenSource::token() {
  if (token_file_.empty()) return static_token_;
  std::lock_guard lock(mutex_);
  auto now = clock_.now();
  if (!read_at_ || now - *read_at_ >= std::chrono::minutes(1)) {
    if (auto content = read_file(token_file_)) {
      cached_ = trim(*content);
      read_at_ = now;
    }
  }
  return cached_.empty() ? static_token_ : cached_;
}

}  // namespace lagpilot::kube
