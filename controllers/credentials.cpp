#include "controllers/credentials.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

#include "kube/config.h"

namespace lagpilot::controllers {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::optional<int> parse_port(const std::string& text) {
  int port = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (error != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535)
    return std::nullopt;
  return port;
}

std::optional<int> default_port(const std::string& scheme) {
  static const std::map<std::string, int> kPorts = {
      {"http", 80},   {"https", 443},  {"nats", 4222},  {"tls", 4222},
      {"amqp", 5672}, {"amqps", 5671}, {"redis", 6379}, {"rediss", 6379}};
  auto found = kPorts.find(scheme);
  if (found == kPorts.end()) return std::nullopt;
  return found->second;
}

// "host", "host:port", "[v6]" or "[v6]:port" (the port may be "*" when `wildcard_port`).
struct HostPort {
  std::string host;
  std::string port;  // "" when absent
};
Result<HostPort> split_host_port(const std::string& text) {
  HostPort out;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return Error{"InvalidAddress", "unclosed '['"};
    out.host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Error{"InvalidAddress", "expected ':' after ']'"};
      out.port = rest.substr(1);
      if (out.port.empty()) return Error{"InvalidAddress", "empty port"};
    }
  } else {
    const auto colon = text.find(':');
    if (colon != std::string::npos && text.find(':', colon + 1) != std::string::npos) {
      out.host = text;  // a bare IPv6 address
    } else if (colon != std::string::npos) {
      out.host = text.substr(0, colon);
      out.port = text.substr(colon + 1);
      if (out.port.empty()) return Error{"InvalidAddress", "empty port"};
    } else {
      out.host = text;
    }
  }
  if (out.host.empty()) return Error{"InvalidAddress", "no host"};
  out.host = lower(out.host);
  // The FQDN form "name." is the name ("*." stays, for the pattern check to refuse).
  if (out.host.size() > 1 && out.host.back() == '.' && out.host != "*.") out.host.pop_back();
  return out;
}

bool host_matches(const std::string& pattern, const std::string& host) {
  if (pattern == "*") return true;
  if (pattern.rfind("*.", 0) == 0) {
    const std::string suffix = pattern.substr(1);  // ".example.svc"
    return host.size() > suffix.size() &&
           host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return pattern == host;
}

}  // namespace

Result<DestinationPattern> parse_destination_pattern(const std::string& text) {
  auto invalid = [&](const std::string& problem) -> Error {
    return Error{"InvalidPattern", "\"" + text + "\": " + problem};
  };
  DestinationPattern pattern;
  pattern.text = text;
  std::string rest = text;
  if (rest.find("://") != std::string::npos)
    return invalid("a host pattern ([kind/]host[:port]), not a URL");
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    pattern.kind = rest.substr(0, slash);
    rest = rest.substr(slash + 1);
    if (pattern.kind.empty() || !std::all_of(pattern.kind.begin(), pattern.kind.end(),
                                             [](unsigned char c) { return std::isalnum(c); }))
      return invalid("the kind before '/' must be a source kind such as kafka or prometheus");
  }
  auto split = split_host_port(rest);
  if (!split) return invalid(split.error().message);
  pattern.host = split->host;
  if (pattern.host.find('*') != std::string::npos && pattern.host != "*" &&
      (pattern.host.rfind("*.", 0) != 0 || pattern.host.find('*', 1) != std::string::npos ||
       pattern.host.size() < 3)) {
    return invalid("'*' only as the whole host or as its first label (*.example.svc)");
  }
  if (!split->port.empty() && split->port != "*") {
    pattern.port = parse_port(split->port);
    if (!pattern.port) return invalid("the port must be a number from 1 to 65535");
  }
  return pattern;
}

Result<Endpoint> parse_endpoint(const std::string& address) {
  std::string rest = address;
  std::string scheme;
  if (auto sep = rest.find("://"); sep != std::string::npos) {
    scheme = lower(rest.substr(0, sep));
    rest = rest.substr(sep + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  }
  auto split = split_host_port(rest);
  if (!split) return Error{"InvalidAddress", "\"" + address + "\": " + split.error().message};
  Endpoint endpoint{split->host, std::nullopt};
  if (!split->port.empty()) {
    endpoint.port = parse_port(split->port);
    if (!endpoint.port) return Error{"InvalidAddress", "\"" + address + "\": bad port"};
  } else if (!scheme.empty()) {
    endpoint.port = default_port(scheme);
  }
  return endpoint;
}

Result<CredentialPolicy> CredentialPolicy::from_patterns(const std::vector<std::string>& patterns) {
  CredentialPolicy policy;
  for (const auto& text : patterns) {
    auto pattern = parse_destination_pattern(text);
    if (!pattern) return pattern.error();
    policy.allowed_destinations.push_back(std::move(pattern).value());
  }
  return policy;
}

bool CredentialPolicy::allows(const std::string& kind, const std::string& address) const {
  if (allowed_destinations.empty()) return true;
  auto endpoint = parse_endpoint(address);
  if (!endpoint) return false;  // what cannot be read cannot be allowed
  return std::any_of(allowed_destinations.begin(), allowed_destinations.end(),
                     [&](const DestinationPattern& pattern) {
                       return (pattern.kind.empty() || pattern.kind == kind) &&
                              host_matches(pattern.host, endpoint->host) &&
                              (!pattern.port || pattern.port == endpoint->port);
                     });
}

Status check_pattern_kinds(const CredentialPolicy& policy,
                           const std::vector<std::string>& source_kinds,
                           const std::vector<std::string>& latency_kinds) {
  for (const auto& pattern : policy.allowed_destinations) {
    if (pattern.kind.empty()) continue;
    auto in = [&](const std::vector<std::string>& kinds) {
      return std::find(kinds.begin(), kinds.end(), pattern.kind) != kinds.end();
    };
    if (in(source_kinds) || in(latency_kinds)) continue;
    std::set<std::string> kinds(source_kinds.begin(), source_kinds.end());
    kinds.insert(latency_kinds.begin(), latency_kinds.end());
    std::string known;
    for (const auto& kind : kinds) known += (known.empty() ? "" : ", ") + kind;
    return Error{"InvalidPattern", "\"" + pattern.text + "\": unknown kind " + pattern.kind +
                                       " (one of " + known + ")"};
  }
  return ok_status();
}

Result<SecretValues> SecretReader::read(const std::string& ns, const SecretReference& ref,
                                        const std::string& kind) const {
  const std::string secret_name = "Secret " + ns + "/" + ref.name;
  for (const auto& destination : ref.destinations) {
    if (!policy_.allows(kind, destination.address)) {
      return Error{"DestinationNotAllowed", destination.field + ": " + destination.address +
                                                " is not an allowed credential destination "
                                                "(--allowed-credential-destinations); " +
                                                secret_name + " (" + ref.field + ") not used"};
    }
  }
  auto secret = client_.get(kube::resources::kSecrets, ns, ref.name);
  if (!secret) {
    bool missing = secret.error().reason == kube::ApiReason::kNotFound;
    return Error{
        missing ? "SecretNotFound" : "SecretUnreadable",
        ref.field + ": " + secret_name + ": " + (missing ? "not found" : secret.error().message)};
  }
  const kube::Json labels = secret->value("/metadata/labels"_json_pointer, kube::Json::object());
  const auto allow = labels.is_object() ? labels.find(kSecretAllowLabel) : labels.end();
  if (allow == labels.end() || !allow->is_string() || *allow != kSecretAllowValue) {
    return Error{"SecretNotAllowed", ref.field + ": " + secret_name + " is not labelled " +
                                         kSecretAllowLabel + ": \"" + kSecretAllowValue +
                                         "\" (its owner allows lagpilot to use it with "
                                         "that label; docs/security.md): not used"};
  }
  SecretValues out;
  const kube::Json data = secret->value("data", kube::Json::object());
  for (const auto& [key, value] : data.items()) {
    if (value.is_string()) out.values[key] = kube::base64_decode(value.get<std::string>());
  }
  out.resource_version = secret->value("/metadata/resourceVersion"_json_pointer, "");
  return out;
}

bool is_credential_refusal(const Error& error) {
  return error.code == "DestinationNotAllowed" || error.code == "SecretNotAllowed";
}

}  // namespace lagpilot::controllers
