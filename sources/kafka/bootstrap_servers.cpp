#include "sources/kafka/bootstrap_servers.h"

#include <cctype>
#include <sstream>

namespace lagpilot {
namespace {

constexpr const char* kField = "spec.source.kafka.bootstrapServers";

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") + 1 - first);
}

bool host_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// What is wrong with one entry, or "" when it is host:port.
std::string problem_of(const std::string& entry) {
  const std::string quoted = "\"" + entry + "\"";
  if (const auto scheme = entry.find("://"); scheme != std::string::npos) {
    return quoted + " must be host:port without a scheme (" + entry.substr(0, scheme + 3) +
           "): the auth Secret's security.protocol says how to connect";
  }
  std::string host;
  std::string rest;  // ":port" or ""
  if (entry.front() == '[') {
    const auto close = entry.find(']');
    if (close == std::string::npos) return quoted + " has no ']' after the IPv6 address";
    host = entry.substr(1, close - 1);
    if (host.empty() || host.find(':') == std::string::npos ||
        host.find_first_not_of(":.0123456789abcdefABCDEF") != std::string::npos) {
      return quoted + " has no IPv6 address in brackets";
    }
    rest = entry.substr(close + 1);
  } else {
    const auto colon = entry.find(':');
    if (colon != std::string::npos && entry.find(':', colon + 1) != std::string::npos) {
      return quoted + ": an IPv6 address must be in brackets, as in [::1]:9092";
    }
    host = entry.substr(0, colon);
    rest = colon == std::string::npos ? "" : entry.substr(colon);
    if (host.empty()) return quoted + " has no host (host:port)";
    for (char c : host) {
      if (!host_name_char(c)) return quoted + " is not host:port (a host name or IP address)";
    }
  }
  if (rest.empty()) return quoted + " has no port (host:port)";
  if (rest[0] != ':') return quoted + " is not host:port";
  const std::string port = rest.substr(1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return "port must be 1-65535 in " + quoted;
  }
  return "";
}

}  // namespace

Status check_bootstrap_servers(const std::string& bootstrap_servers) {
  std::stringstream list(bootstrap_servers);
  int index = 0;
  bool any = false;
  for (std::string item; std::getline(list, item, ','); ++index) {
    const std::string entry = trim(item);
    if (entry.empty()) continue;
    any = true;
    if (std::string problem = problem_of(entry); !problem.empty()) {
      return Error{"InvalidSpec",
                   std::string(kField) + "[" + std::to_string(index) + "]: " + problem};
    }
  }
  if (!any) return Error{"InvalidSpec", std::string(kField) + ": required"};
  return ok_status();
}

}  // namespace lagpilot
