#pragma once
// Who wrote what, for the operator's fail-over and sharding tests: each operator process gets its
// own ServiceAccount (service_account_kubeconfig), and the local control plane's audit log (one
// JSON event a line, controlplane's audit policy) tells which one wrote what and when the server
// received it. A test derives its record type from AuditEvent to add what counts as a write for it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controlplane/test_environment.h"
#include "kube/client.h"
#include "util/clock.h"

namespace lagpilot::testkit {

// One request as the API server's audit log recorded it.
struct AuditEvent {
  std::string verb;
  std::string user;
  std::string resource;
  std::string subresource;
  std::string name;
  std::string user_agent;
  int code = 0;
  WallTime received;

  bool is_scale_patch() const {
    return resource == "deployments" && subresource == "scale" && verb == "patch" &&
           code / 100 == 2;
  }
  std::string describe() const {
    return verb + " " + resource + (subresource.empty() ? "" : "/" + subresource) + " " + name +
           " by " + user + " -> " + std::to_string(code) + " at " + format_rfc3339_micro(received);
  }
};

// The records (completed requests) about objects in `ns`, in the order the server received them.
template <typename Record>
std::vector<Record> audit_records(const std::string& ns) {
  using nlohmann::json;
  std::ifstream in(controlplane::ControlPlaneEnvironment::plane()->audit_log_path());
  std::vector<Record> records;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(ns) == std::string::npos) continue;
    auto event = json::parse(line, nullptr, false);
    if (event.is_discarded() || event.value("stage", "") != "ResponseComplete") continue;
    const json ref = event.value("objectRef", json::object());
    if (ref.value("namespace", "") != ns) continue;
    Record record;
    record.verb = event.value("verb", "");
    record.user = event.value(json::json_pointer("/user/username"), "");
    record.resource = ref.value("resource", "");
    record.subresource = ref.value("subresource", "");
    record.name = ref.value("name", "");
    record.user_agent = event.value("userAgent", "");
    record.code = event.value(json::json_pointer("/responseStatus/code"), 0);
    auto received = parse_rfc3339(event.value("requestReceivedTimestamp", ""));
    if (!received) continue;
    record.received = *received;
    records.push_back(record);
  }
  std::stable_sort(records.begin(), records.end(),
                   [](const Record& a, const Record& b) { return a.received < b.received; });
  return records;
}

// A ServiceAccount `account` in `ns` bound to cluster-admin there, and a kubeconfig at `path` with
// a token for it against `server` (the API server, or a proxy in front of it). Returns the user
// name the audit log records for it.
inline std::string service_account_kubeconfig(const std::string& ns, const std::string& account,
                                              const std::string& server, const std::string& path) {
  using controlplane::ControlPlaneEnvironment;
  using nlohmann::json;
  auto& admin = ControlPlaneEnvironment::admin_client();
  json service_account = {
      {"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", account}}}};
  auto created = admin.create(kube::resources::kServiceAccounts, ns, service_account);
  EXPECT_TRUE(created.ok()) << created.error().message;
  static const kube::Gvr kRoleBindings{"rbac.authorization.k8s.io", "v1", "rolebindings", true};
  json binding = {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "RoleBinding"},
      {"metadata", {{"name", account}}},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"},
        {"kind", "ClusterRole"},
        {"name", "cluster-admin"}}},
      {"subjects", {{{"kind", "ServiceAccount"}, {"name", account}, {"namespace", ns}}}}};
  auto bound = admin.create(kRoleBindings, ns, binding);
  EXPECT_TRUE(bound.ok()) << bound.error().message;
  auto token = controlplane::kubectl("create token " + account + " -n " + ns + " --duration 1h");
  EXPECT_EQ(token.exit_code, 0) << token.output;
  std::string value = token.output;
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
                      << "clusters: [{name: c, cluster: {server: \"" << server
                      << "\", certificate-authority: \""
                      << ControlPlaneEnvironment::plane()->value("LAGPILOT_CA_FILE") << "\"}}]\n"
                      << "contexts: [{name: x, context: {cluster: c, user: u, namespace: " << ns
                      << "}}]\n"
                      << "users: [{name: u, user: {token: \"" << value << "\"}}]\n";
  return "system:serviceaccount:" + ns + ":" + account;
}

}  // namespace lagpilot::testkit
