// RBAC least privilege, proven on the real API server (issue 5, helm/lagpilot).
//
// The chart is rendered with `helm template` (cluster-wide mode, leader election, Secrets readable
// in the application namespace, a StatefulSet as an extra scale target) and only its
// ServiceAccount, RBAC objects and CRD are applied to the local control plane. The lagpilot
// binary then runs with the arguments the chart's Deployment gives it, authenticating with the
// ServiceAccount's real token (CA verified), so RBAC is enforced, through the scenario: a Kafka
// source with an auth Secret, a backlog (scale up of a Deployment and a StatefulSet), an alert
// that fires (Event), a drain (scale down, alert resolved), a second backlog (the same alert
// again: the Event is patched), the leader-election Lease, the other autoscalers' informers
// (HorizontalPodAutoscalers; KEDA ScaledObjects, whose CRD a minimal stand-in provides), and the
// deletion of a QueueMonitor with spec.scaling.onDelete Restore (its finalizer added and removed
// with patches, the replicas restored).
//
// Then the API server's audit log (controlplane/start logs every request at Metadata level)
// proves: no request of the ServiceAccount was Forbidden, and every rule of every rendered
// Role/ClusterRole (each apiGroup x resource x verb, in the namespaces its bindings give) was used
// by at least one request. Finally a second operator process and a QueueMonitor in a namespace
// without the Secret RoleBinding show that Secrets stay unreadable there (condition
// SourceReachable=False, reason SecretUnreadable; those reads are the only 403s of the run).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/config.h"
#include "kube/yaml.h"
#include "tests/operator/operator_process.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"

namespace lagpilot {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::eventually;
using controlplane::kubectl;
using controlplane::run_command;
using controlplane::shell_quote;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

constexpr const char* kRelease = "lagpilot";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("lagpilot-rbac-" + std::to_string(::getpid()) + "-" + name);
}

std::string helm_binary() { return controlplane::find_tool("helm", "HELM"); }

std::optional<Json> kubectl_json(const std::string& args) {
  auto out = kubectl(args + " -o json");
  if (out.exit_code != 0) return std::nullopt;
  auto parsed = Json::parse(out.output, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

using testkit::OperatorProcess;

// ---------------------------------------------------------------------------------------------
// The audit log (JSON lines, audit.k8s.io/v1 Event).

struct AuditEvent {
  std::string user;
  std::string verb;
  std::string api_group;  // "" for the core group
  std::string resource;   // with "/<subresource>"
  std::string ns;
  std::string name;
  std::string uri;
  int code = 0;
  bool resource_request = false;
  std::string describe() const {
    std::string text = verb + " " + (api_group.empty() ? "core" : api_group) + " " +
                       (resource_request ? resource : uri);
    if (!ns.empty()) text += " ns=" + ns;
    if (!name.empty()) text += " name=" + name;
    return text + " -> " + std::to_string(code);
  }
};

// Complete lines from byte `from` on (up to `until`, or the end); `end` is where reading stopped.
std::vector<AuditEvent> read_audit_events(const std::string& path, const std::string& user,
                                          std::uint64_t from, std::uint64_t* end) {
  std::vector<AuditEvent> events;
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from));
  std::uint64_t offset = from;
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a partial last line: read again later
    offset += line.size() + 1;
    auto parsed = Json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) continue;
    if (parsed.value("/user/username"_json_pointer, "") != user) continue;
    AuditEvent event;
    event.user = user;
    event.verb = parsed.value("verb", "");
    event.uri = parsed.value("requestURI", "");
    event.code = parsed.value("/responseStatus/code"_json_pointer, 0);
    if (parsed.contains("objectRef")) {
      const Json& ref = parsed["objectRef"];
      event.resource_request = true;
      event.api_group = ref.value("apiGroup", "");
      event.resource = ref.value("resource", "");
      if (auto sub = ref.value("subresource", ""); !sub.empty()) event.resource += "/" + sub;
      event.ns = ref.value("namespace", "");
      event.name = ref.value("name", "");
    }
    events.push_back(std::move(event));
  }
  if (end) *end = offset;
  return events;
}

// `user`'s audit events from byte `from` on, once they have stood still for a second (at most
// 15 s): the API server writes a watch's events only when it notices that the watch closed.
std::vector<AuditEvent> settled_audit_events(const std::string& path, const std::string& user,
                                             std::uint64_t from, std::uint64_t* end) {
  std::vector<AuditEvent> events;
  std::uint64_t read_to = from;
  controlplane::eventually_steady(
      [&] {
        auto more = read_audit_events(path, user, read_to, &read_to);
        events.insert(events.end(), more.begin(), more.end());
        return static_cast<std::int64_t>(events.size());
      },
      std::chrono::seconds(1), std::chrono::seconds(15), std::chrono::milliseconds(100));
  if (end) *end = read_to;
  return events;
}

// ---------------------------------------------------------------------------------------------
// The rendered RBAC: one grant per role x apiGroup x resource x verb, with where it applies.

struct Grant {
  std::string role;  // "ClusterRole x" or "Role ns/x"
  std::string api_group;
  std::string resource;
  std::string verb;
  std::set<std::string> resource_names;  // empty: any
  bool cluster_wide = false;             // bound by a ClusterRoleBinding
  std::set<std::string> namespaces;      // else: the namespaces of its RoleBindings
  int uses = 0;

  std::string describe() const {
    std::string text = role + ": " + (api_group.empty() ? "core" : api_group) + " " + resource;
    if (!resource_names.empty()) {
      text += "[";
      for (const auto& n : resource_names) text += (text.back() == '[' ? "" : ",") + n;
      text += "]";
    }
    text += " " + verb + " (";
    if (cluster_wide) {
      text += "all namespaces";
    } else if (namespaces.empty()) {
      text += "not bound to the ServiceAccount";
    } else {
      for (const auto& n : namespaces) text += (text.back() == '(' ? "" : ",") + n;
    }
    return text + ")";
  }

  bool matches(const AuditEvent& event) const {
    if (!event.resource_request) return false;
    if (event.code == 401 || event.code == 403) return false;  // denied: not a use
    if (api_group != "*" && api_group != event.api_group) return false;
    if (resource != "*" && resource != event.resource) return false;
    if (verb != "*" && verb != event.verb) return false;
    if (!resource_names.empty() && !resource_names.count(event.name)) return false;
    if (cluster_wide) return true;
    return !event.ns.empty() && namespaces.count(event.ns) > 0;
  }
};

std::vector<std::string> strings(const Json& list) {
  std::vector<std::string> out;
  if (list.is_array()) {
    for (const auto& item : list)
      if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// Grants of the rendered Roles/ClusterRoles, scoped by the rendered bindings of `sa_ns`/`sa`.
std::vector<Grant> rendered_grants(const std::vector<Json>& objects, const std::string& sa_ns,
                                   const std::string& sa, std::vector<std::string>& problems) {
  std::map<std::string, std::pair<bool, std::set<std::string>>> scope;  // role key -> where
  for (const auto& object : objects) {
    std::string kind = object.value("kind", "");
    if (kind != "RoleBinding" && kind != "ClusterRoleBinding") continue;
    bool to_sa = false;
    for (const auto& subject : object.value("subjects", Json::array())) {
      to_sa = to_sa || (subject.value("kind", "") == "ServiceAccount" &&
                        subject.value("name", "") == sa && subject.value("namespace", "") == sa_ns);
    }
    if (!to_sa) continue;
    std::string binding_ns = object.value("/metadata/namespace"_json_pointer, "");
    std::string ref_kind = object.value("/roleRef/kind"_json_pointer, "");
    std::string ref_name = object.value("/roleRef/name"_json_pointer, "");
    std::string key =
        ref_kind == "Role" ? "Role " + binding_ns + "/" + ref_name : "ClusterRole " + ref_name;
    if (kind == "ClusterRoleBinding") {
      scope[key].first = true;
    } else {
      scope[key].second.insert(binding_ns);
    }
  }
  std::vector<Grant> grants;
  for (const auto& object : objects) {
    std::string kind = object.value("kind", "");
    if (kind != "Role" && kind != "ClusterRole") continue;
    std::string name = object.value("/metadata/name"_json_pointer, "");
    std::string key =
        kind == "Role" ? "Role " + object.value("/metadata/namespace"_json_pointer, "") + "/" + name
                       : "ClusterRole " + name;
    for (const auto& rule : object.value("rules", Json::array())) {
      if (rule.contains("nonResourceURLs")) {
        problems.push_back(key + ": nonResourceURLs rules are not checked: " + rule.dump());
        continue;
      }
      auto names = strings(rule.value("resourceNames", Json::array()));
      for (const auto& group : strings(rule.value("apiGroups", Json::array()))) {
        for (const auto& resource : strings(rule.value("resources", Json::array()))) {
          for (const auto& verb : strings(rule.value("verbs", Json::array()))) {
            Grant grant;
            grant.role = key;
            grant.api_group = group;
            grant.resource = resource;
            grant.verb = verb;
            grant.resource_names = {names.begin(), names.end()};
            if (auto found = scope.find(key); found != scope.end()) {
              grant.cluster_wide = found->second.first;
              grant.namespaces = found->second.second;
            }
            grants.push_back(std::move(grant));
          }
        }
      }
    }
  }
  return grants;
}

// ---------------------------------------------------------------------------------------------
// The scenario's objects.

std::string monitor_yaml(const std::string& name, const std::string& bootstrap,
                         const std::string& topic, const std::string& target_kind,
                         const std::string& target, bool restore_on_delete = false) {
  return R"(apiVersion: lagpilot.io/v1alpha1
kind: QueueMonitor
metadata:
  name: )" +
         name + R"(
spec:
  source:
    kafka:
      bootstrapServers: ")" +
         bootstrap + R"("
      topic: )" +
         topic + R"(
      consumerGroup: )" +
         topic + R"(-processor
      authSecretRef: {name: kafka-client}
  pollIntervalSeconds: 1
  target: {apiVersion: apps/v1, kind: )" +
         target_kind + ", name: " + target + R"(}
  scaling:
    policy: lagPerReplica
    targetLagPerReplica: 500
    minReplicas: 1
    maxReplicas: 8
    cooldownSeconds: 0
    scaleUp: {maxPodsPerPeriod: 10}
    scaleDown: {stabilizationSeconds: 2, maxPercentPerPeriod: 100, periodSeconds: 1}
)" + (restore_on_delete ? "    onDelete: Restore\n" : "") +
         R"(  alerts:
    - name: BacklogHigh
      metric: consumerLag
      op: ">"
      threshold: 1000
      severity: high
      summary: "backlog on {{ .topic }}"
)";
}

// A Secret the Kafka source reads: the mock cluster speaks no SASL, so it carries only the
// protocol (PLAINTEXT); the operator must still GET it to build the client.
const char* kKafkaSecret = R"(apiVersion: v1
kind: Secret
metadata:
  name: kafka-client
  labels: {lagpilot.io/allow: "true"}
type: Opaque
stringData:
  security.protocol: PLAINTEXT
)";

const char* kDeployment = R"(apiVersion: apps/v1
kind: Deployment
metadata:
  name: order-consumer
spec:
  replicas: 1
  selector: {matchLabels: {app: order-consumer}}
  template:
    metadata: {labels: {app: order-consumer}}
    spec:
      containers: [{name: consumer, image: "example.com/order-consumer:1.0"}]
)";

const char* kStatefulSet = R"(apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: payment-consumer
spec:
  replicas: 1
  serviceName: payment-consumer
  selector: {matchLabels: {app: payment-consumer}}
  template:
    metadata: {labels: {app: payment-consumer}}
    spec:
      containers: [{name: consumer, image: "example.com/payment-consumer:1.0"}]
)";

int replicas(const std::string& ns, const std::string& kind_and_name) {
  auto out = kubectl("get " + kind_and_name + " -n " + ns + " -o jsonpath={.spec.replicas}");
  try {
    return out.exit_code == 0 ? std::stoi(out.output) : -1;
  } catch (...) {
    return -1;
  }
}

// The count of the Event with this reason about QueueMonitor `monitor` (0: none).
int event_count(const std::string& ns, const std::string& monitor, const std::string& reason) {
  auto events = kubectl_json("get events -n " + ns);
  if (!events) return 0;
  int count = 0;
  for (const auto& event : (*events)["items"]) {
    if (event.value("reason", "") == reason &&
        event.value("/involvedObject/name"_json_pointer, "") == monitor &&
        event.value("/involvedObject/kind"_json_pointer, "") == "QueueMonitor") {
      count = std::max(count, event.value("count", 0));
    }
  }
  return count;
}

std::string condition_reason(const std::string& ns, const std::string& monitor,
                             const std::string& type, std::string* message = nullptr) {
  auto object = kubectl_json("get qm " + monitor + " -n " + ns);
  if (!object) return "";
  for (const auto& condition : object->value("/status/conditions"_json_pointer, Json::array())) {
    if (condition.value("type", "") == type) {
      if (message) *message = condition.value("message", "");
      return condition.value("status", "") + "/" + condition.value("reason", "");
    }
  }
  return "";
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Lines of the operator's log that mention a Forbidden/403 answer.
std::vector<std::string> forbidden_lines(const std::string& log) {
  std::vector<std::string> found;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    std::string text = lower(line);
    if (text.find("forbidden") != std::string::npos || text.find(": 403 ") != std::string::npos)
      found.push_back(line);
  }
  return found;
}

// How the chart runs the operator: one replica with leader election, or two sharding the
// monitors (each with a member Lease: create, get, update, list, and delete on exit).
struct Mode {
  const char* name;
  const char* helm_values;
  bool sharded;
};

class RbacProof : public ::testing::TestWithParam<Mode> {};

TEST_P(RbacProof, OperatorAsTheChartsServiceAccountIsNeverForbiddenAndUsesEveryGrant) {
  const Mode mode = GetParam();
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  // The previous mode ran on this control plane: its namespaces must be gone, or this mode's
  // operator (it watches every namespace) finds their QueueMonitors in namespaces being deleted,
  // where it may read no Secret and create no Event (403s that are not this chart's).
  ASSERT_TRUE(eventually(
      [&] {
        auto out = kubectl("get queuemonitors.lagpilot.io --all-namespaces -o name");
        return out.exit_code != 0 || out.output.find("queuemonitor") == std::string::npos;
      },
      seconds(180), milliseconds(500)))
      << "the previous mode's QueueMonitors are still there";
  auto& admin = ControlPlaneEnvironment::admin_client();
  controlplane::TestNamespace operator_ns(admin, "lagpilot-system");
  controlplane::TestNamespace app_ns(admin, "rbac-app");
  controlplane::TestNamespace other_ns(admin, "rbac-other");
  const std::string sa = kRelease;  // the release name contains the chart name: fullname = release
  const std::string sa_user = "system:serviceaccount:" + operator_ns.name() + ":" + sa;

  // 1. helm template with the values a user would pick for this: cluster-wide, leader election,
  //    Secrets readable only where the QueueMonitors are, a StatefulSet target; rendered for the
  //    server's release, as `helm install` does (the CRD's CEL rules only from 1.25 on).
  std::string rendered_path = temp_path("rendered.yaml");
  std::string helm_command =
      "{ " + shell_quote(helm_binary()) + " template " + kRelease + " " +
      shell_quote(std::string(LAGPILOT_SOURCE_DIR) + "/helm/lagpilot") + " --namespace " +
      operator_ns.name() + " --kube-version " +
      shell_quote(ControlPlaneEnvironment::plane()->value("LAGPILOT_KUBE_GIT_VERSION")) +
      " --include-crds " + mode.helm_values +
      " --set logLevel=debug"
      " --set 'rbac.secrets.namespaces={" +
      app_ns.name() +
      "}' --set 'extraScaleTargets[0].apiGroup=apps,extraScaleTargets[0].resource=statefulsets'"
      " >" +
      shell_quote(rendered_path) + "; }";
  auto helm = run_command(helm_command);
  ASSERT_EQ(helm.exit_code, 0) << helm_command << "\n" << helm.output;
  auto documents = kube::parse_yaml_documents(read_text(rendered_path), rendered_path);
  ASSERT_TRUE(documents.ok()) << documents.error().message;

  Json to_apply = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", Json::array()}};
  std::vector<Json> rbac_objects;
  std::vector<std::string> operator_args;
  for (const auto& object : *documents) {
    if (!object.is_object()) continue;
    std::string kind = object.value("kind", "");
    if (kind == "ServiceAccount" || kind == "CustomResourceDefinition" || kind == "Role" ||
        kind == "ClusterRole" || kind == "RoleBinding" || kind == "ClusterRoleBinding") {
      to_apply["items"].push_back(object);
      if (kind != "ServiceAccount" && kind != "CustomResourceDefinition")
        rbac_objects.push_back(object);
    }
    if (kind == "Deployment") {
      operator_args = strings(
          object.value("/spec/template/spec/containers/0/args"_json_pointer, Json::array()));
    }
  }
  ASSERT_FALSE(rbac_objects.empty()) << "no RBAC objects rendered";
  ASSERT_FALSE(operator_args.empty()) << "the rendered Deployment has no args";
  auto applied = kubectl("apply", to_apply.dump());
  ASSERT_EQ(applied.exit_code, 0) << applied.output;
  ASSERT_EQ(kubectl("wait --for condition=established --timeout=60s crd/queuemonitors.lagpilot.io")
                .exit_code,
            0);
  // KEDA's ScaledObject API (a minimal stand-in CRD): the operator watches ScaledObjects when it
  // is served, and the chart grants list/watch on them.
  {
    auto keda = kubectl(
        "apply",
        read_text(LAGPILOT_SOURCE_DIR "/tests/controllers/data/keda/keda.sh_scaledobjects.yaml"));
    ASSERT_EQ(keda.exit_code, 0) << keda.output;
    ASSERT_EQ(kubectl("wait --for condition=established --timeout=60s crd/scaledobjects.keda.sh")
                  .exit_code,
              0);
  }

  std::vector<std::string> problems;
  std::vector<Grant> grants = rendered_grants(rbac_objects, operator_ns.name(), sa, problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  ASSERT_FALSE(grants.empty());
  for (const auto& grant : grants) {
    EXPECT_FALSE(grant.resource == "secrets" &&
                 (grant.verb == "list" || grant.verb == "watch" || grant.verb == "*"))
        << "Secrets must never be listed or watched: " << grant.describe();
    EXPECT_FALSE(grant.resource == "secrets" && grant.cluster_wide)
        << "with rbac.secrets.namespaces, Secrets are readable only there: " << grant.describe();
  }

  // The bindings are in the authorizer's cache before the operator starts (asked as the admin,
  // impersonating: the ServiceAccount itself makes no request but the operator's).
  for (const std::string& question :
       {"create leases.coordination.k8s.io -n " + operator_ns.name(),
        "get secrets -n " + app_ns.name(),
        std::string("watch queuemonitors.lagpilot.io --all-namespaces")}) {
    EXPECT_TRUE(eventually(
        [&] {
          auto out = kubectl("auth can-i " + question + " --as=" + sa_user);
          return out.output.rfind("yes", 0) == 0;
        },
        seconds(20), milliseconds(200)))
        << "can-i " << question;
  }

  // 2. The ServiceAccount's real token, from the TokenRequest API (as a projected token in a Pod;
  // every release since 1.20 has it, and from 1.24 on there are no token Secrets).
  auto issued = controlplane::service_account_token(operator_ns.name(), sa);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  const std::string token = *issued;
  std::string token_path = temp_path("token");
  std::string kubeconfig_path = temp_path("kubeconfig");
  {
    std::ofstream(token_path) << token;
    ::chmod(token_path.c_str(), 0600);
    std::ofstream(kubeconfig_path)
        << "apiVersion: v1\nkind: Config\nclusters:\n- name: lagpilot\n  cluster:\n    server: "
        << ControlPlaneEnvironment::plane()->server() << "\n    certificate-authority: "
        << ControlPlaneEnvironment::plane()->value("LAGPILOT_CA_FILE") << "\nusers:\n- name: " << sa
        << "\n  user:\n    tokenFile: " << token_path << "\ncontexts:\n- name: " << sa
        << "\n  context:\n    cluster: lagpilot\n    user: " << sa
        << "\n    namespace: " << operator_ns.name() << "\ncurrent-context: " << sa << "\n";
    ::chmod(kubeconfig_path.c_str(), 0600);
  }

  // The workloads, the Secret and the QueueMonitors, as the admin.
  testkit::KafkaMockCluster kafka(1);
  kafka.create_topic("orders", 8);
  kafka.create_topic("payments", 4);
  for (const char* manifest : {kKafkaSecret, kDeployment, kStatefulSet}) {
    auto out = kubectl("apply -n " + app_ns.name(), manifest);
    ASSERT_EQ(out.exit_code, 0) << out.output;
  }
  for (const auto& manifest :
       {monitor_yaml("orders", kafka.bootstrap_servers(), "orders", "Deployment", "order-consumer",
                     /*restore_on_delete=*/true),
        monitor_yaml("payments", kafka.bootstrap_servers(), "payments", "StatefulSet",
                     "payment-consumer")}) {
    auto out = kubectl("apply -n " + app_ns.name(), manifest);
    ASSERT_EQ(out.exit_code, 0) << out.output;
  }

  // 3. lagpilot with the Deployment's arguments (probes and metrics on loopback), as the SA.
  std::string lease_name;
  std::vector<std::string> args;
  for (const auto& arg : operator_args) {
    if (arg.rfind("--metrics-bind-address=", 0) == 0) {
      args.push_back("--metrics-bind-address=127.0.0.1:0");
    } else if (arg.rfind("--health-probe-bind-address=", 0) == 0) {
      args.push_back("--health-probe-bind-address=127.0.0.1:0");
    } else {
      args.push_back(arg);
    }
    if (arg.rfind("--leader-election-id=", 0) == 0) lease_name = arg.substr(arg.find('=') + 1);
  }
  args.push_back("--kubeconfig=" + kubeconfig_path);
  ASSERT_FALSE(lease_name.empty()) << "the chart did not pass --leader-election-id";
  ASSERT_NE(std::find(args.begin(), args.end(), mode.sharded ? "--shards=auto" : "--leader-elect"),
            args.end());
  std::string log_path = temp_path("operator.log");
  OperatorProcess lagpilot(args, log_path);
  if (mode.sharded) {
    // Its member Lease, found by the group label (named after the Pod, here the host and pid).
    const std::string group = lease_name;
    lease_name.clear();
    ASSERT_TRUE(eventually(
        [&] {
          auto leases = kubectl_json("get leases -l lagpilot.io/member-of=" + group + " -n " +
                                     operator_ns.name());
          auto items = leases ? leases->value("items", Json::array()) : Json::array();
          if (items.size() == 1) lease_name = items[0].value("/metadata/name"_json_pointer, "");
          return !lease_name.empty();
        },
        seconds(30), milliseconds(100)))
        << lagpilot.log_tail();
  }

  // Leads, or holds its member Lease (the Lease names it), then polls: both QueueMonitors get
  // status.
  std::string holder;
  ASSERT_TRUE(eventually(
      [&] {
        auto lease = kubectl_json("get lease " + lease_name + " -n " + operator_ns.name());
        holder = lease ? lease->value("/spec/holderIdentity"_json_pointer, "") : "";
        return !holder.empty();
      },
      seconds(30), milliseconds(100)))
      << lagpilot.log_tail();
  for (const char* monitor : {"orders", "payments"}) {
    ASSERT_TRUE(eventually(
        [&] {
          auto out = kubectl(std::string("get qm ") + monitor + " -n " + app_ns.name() +
                             " -o jsonpath={.status.metrics.lastPollTime}");
          return out.exit_code == 0 && !out.output.empty();
        },
        seconds(30)))
        << monitor << ": " << condition_reason(app_ns.name(), monitor, "SourceReachable") << "\n"
        << lagpilot.log_tail();
  }
  EXPECT_EQ(condition_reason(app_ns.name(), "orders", "SourceReachable"), "True/Polled");

  // A backlog: orders 8 x 400 = 3,200 -> 7 replicas; payments 4 x 300 = 1,200 -> 3 replicas.
  auto now = std::chrono::system_clock::now();
  std::map<int32_t, int64_t> orders_zero, orders_400, orders_800, payments_zero, payments_all;
  for (int p = 0; p < 8; ++p) {
    kafka.produce("orders", p, 400, now - seconds(30), milliseconds(10));
    orders_zero[p] = 0;
    orders_400[p] = 400;
    orders_800[p] = 800;
  }
  for (int p = 0; p < 4; ++p) {
    kafka.produce("payments", p, 300, now - seconds(30), milliseconds(10));
    payments_zero[p] = 0;
    payments_all[p] = 300;
  }
  kafka.commit("orders-processor", "orders", orders_zero);
  kafka.commit("payments-processor", "payments", payments_zero);
  ASSERT_TRUE(eventually([&] { return replicas(app_ns.name(), "deployment/order-consumer") == 7; },
                         seconds(20), milliseconds(100)))
      << "replicas " << replicas(app_ns.name(), "deployment/order-consumer") << "\n"
      << lagpilot.log_tail();
  ASSERT_TRUE(
      eventually([&] { return replicas(app_ns.name(), "statefulset/payment-consumer") == 3; },
                 seconds(20), milliseconds(100)))
      << "replicas " << replicas(app_ns.name(), "statefulset/payment-consumer") << "\n"
      << lagpilot.log_tail();
  EXPECT_TRUE(eventually([&] { return event_count(app_ns.name(), "orders", "AlertFiring") >= 1; },
                         seconds(10), milliseconds(200)))
      << lagpilot.log_tail();
  EXPECT_TRUE(eventually([&] { return event_count(app_ns.name(), "orders", "ScaledUp") >= 1; },
                         seconds(10), milliseconds(200)));

  // Drain: scale down to minReplicas after the stabilization window; the alert resolves.
  kafka.commit("orders-processor", "orders", orders_400);
  kafka.commit("payments-processor", "payments", payments_all);
  ASSERT_TRUE(eventually([&] { return replicas(app_ns.name(), "deployment/order-consumer") == 1; },
                         seconds(30), milliseconds(100)))
      << lagpilot.log_tail();
  ASSERT_TRUE(
      eventually([&] { return replicas(app_ns.name(), "statefulset/payment-consumer") == 1; },
                 seconds(30), milliseconds(100)))
      << lagpilot.log_tail();
  EXPECT_TRUE(eventually([&] { return event_count(app_ns.name(), "orders", "AlertResolved") >= 1; },
                         seconds(10), milliseconds(200)));
  EXPECT_TRUE(eventually([&] { return event_count(app_ns.name(), "orders", "ScaledDown") >= 1; },
                         seconds(10), milliseconds(200)));

  // A second backlog: the same alert fires again with the same message, so the operator counts
  // it on the existing Event (a patch) instead of creating another.
  now = std::chrono::system_clock::now();
  for (int p = 0; p < 8; ++p) kafka.produce("orders", p, 400, now - seconds(30), milliseconds(10));
  EXPECT_TRUE(eventually([&] { return event_count(app_ns.name(), "orders", "AlertFiring") >= 2; },
                         seconds(20), milliseconds(200)))
      << lagpilot.log_tail();
  EXPECT_TRUE(eventually([&] { return replicas(app_ns.name(), "deployment/order-consumer") == 7; },
                         seconds(20), milliseconds(100)));
  kafka.commit("orders-processor", "orders", orders_800);
  // The Lease has been renewed (get + update) meanwhile; wait for one more renewal to be sure.
  std::string renewed;
  auto lease_renew_time = [&] {
    auto lease = kubectl_json("get lease " + lease_name + " -n " + operator_ns.name());
    return lease ? lease->value("/spec/renewTime"_json_pointer, "") : std::string();
  };
  std::string renew_before = lease_renew_time();
  EXPECT_TRUE(eventually([&] { return lease_renew_time() != renew_before; }, seconds(15),
                         milliseconds(200)));
  ASSERT_TRUE(lagpilot.running()) << lagpilot.log_tail();

  // onDelete Restore: the finalizer the operator added goes when the monitor is deleted, after the
  // Deployment's replicas are restored (a scale patch and a patch of the QueueMonitor).
  {
    auto deleted = kubectl("delete qm orders --wait=false -n " + app_ns.name());
    ASSERT_EQ(deleted.exit_code, 0) << deleted.output;
    EXPECT_TRUE(eventually([&] { return !kubectl_json("get qm orders -n " + app_ns.name()); },
                           seconds(20), milliseconds(200)))
        << "the finalizer was not removed\n"
        << lagpilot.log_tail();
    EXPECT_TRUE(
        eventually([&] { return event_count(app_ns.name(), "orders", "ReplicasRestored") >= 1; },
                   seconds(10), milliseconds(200)));
    EXPECT_EQ(replicas(app_ns.name(), "deployment/order-consumer"), 1);
  }

  // SIGTERM: the leader releases the Lease (an update) and exits 0; a shard member releases its
  // Lease and deletes it. Its informers' watches end too, and only then are they in the audit
  // log: the API server writes a watch's events (ResponseStarted, ResponseComplete) when the
  // watch closes.
  ASSERT_EQ(lagpilot.terminate(seconds(15)), 0) << lagpilot.log_tail();
  if (mode.sharded) {
    EXPECT_FALSE(kubectl_json("get lease " + lease_name + " -n " + operator_ns.name()))
        << "the member Lease was not deleted";
  } else {
    auto lease = kubectl_json("get lease " + lease_name + " -n " + operator_ns.name());
    ASSERT_TRUE(lease.has_value());
    EXPECT_EQ(lease->value("/spec/holderIdentity"_json_pointer, "?"), "")
        << "the Lease was not released";
  }
  // 4 + 5. The audit log of the scenario: nothing Forbidden, every grant used.
  const std::string audit_path = ControlPlaneEnvironment::plane()->audit_log_path();
  std::uint64_t scenario_end = 0;
  auto events = settled_audit_events(audit_path, sa_user, 0, &scenario_end);
  ASSERT_FALSE(events.empty()) << "no audit events of " << sa_user << " in " << audit_path;
  std::vector<std::string> denied;
  std::map<std::string, int> requests;  // verb + resource -> count, for the report
  for (const auto& event : events) {
    if (event.code == 401 || event.code == 403) denied.push_back(event.describe());
    if (event.resource_request) {
      ++requests[event.verb + " " + (event.api_group.empty() ? "core" : event.api_group) + " " +
                 event.resource];
    }
    for (auto& grant : grants) {
      if (grant.matches(event)) ++grant.uses;
    }
  }
  std::string denied_text;
  for (const auto& d : denied) denied_text += "  " + d + "\n";
  EXPECT_TRUE(denied.empty()) << denied.size() << " request(s) of " << sa_user << " were denied:\n"
                              << denied_text;
  auto forbidden_in_log = forbidden_lines(lagpilot.log());
  EXPECT_TRUE(forbidden_in_log.empty()) << "the operator's log reports Forbidden:\n"
                                        << forbidden_in_log.front();

  std::string used_text, unused_text;
  for (const auto& grant : grants) {
    (grant.uses > 0 ? used_text : unused_text) +=
        "  " + grant.describe() + (grant.uses > 0 ? ": " + std::to_string(grant.uses) : "") + "\n";
  }
  std::string requests_text;
  for (const auto& [what, count] : requests)
    requests_text += "  " + what + ": " + std::to_string(count) + "\n";
  std::printf("requests of %s (%zu audit events):\n%s", sa_user.c_str(), events.size(),
              requests_text.c_str());
  std::printf("grants used (audit events):\n%s", used_text.c_str());
  if (!unused_text.empty()) std::printf("grants NEVER used:\n%s", unused_text.c_str());
  EXPECT_TRUE(unused_text.empty()) << "the chart grants what the operator never uses:\n"
                                   << unused_text;

  // Secrets: the operator read the one its QueueMonitors reference, in their namespace only.
  for (const auto& event : events) {
    if (event.resource == "secrets") {
      EXPECT_EQ(event.verb, "get") << event.describe();
      EXPECT_EQ(event.ns, app_ns.name()) << event.describe();
      EXPECT_EQ(event.name, "kafka-client") << event.describe();
    }
  }

  // 6. A QueueMonitor where the chart grants no Secret access: SecretUnreadable, a clear
  //    condition, and those reads are the only 403s. Another operator process (it takes over the
  //    released Lease: get + update), so that the scenario's audit trail above stays clean.
  {
    auto out = kubectl("apply -n " + other_ns.name(), kKafkaSecret);
    ASSERT_EQ(out.exit_code, 0) << out.output;
    out = kubectl("apply -n " + other_ns.name(),
                  monitor_yaml("orders", kafka.bootstrap_servers(), "orders", "Deployment",
                               "order-consumer"));
    ASSERT_EQ(out.exit_code, 0) << out.output;
  }
  std::string second_log_path = temp_path("operator-2.log");
  OperatorProcess second(args, second_log_path);
  std::string message;
  EXPECT_TRUE(eventually(
      [&] {
        return condition_reason(other_ns.name(), "orders", "SourceReachable", &message) ==
               "False/SecretUnreadable";
      },
      seconds(30), milliseconds(200)))
      << condition_reason(other_ns.name(), "orders", "SourceReachable") << "\n"
      << second.log_tail();
  EXPECT_NE(message.find("Secret " + other_ns.name() + "/kafka-client"), std::string::npos)
      << message;
  EXPECT_NE(lower(message).find("forbidden"), std::string::npos) << message;
  EXPECT_TRUE(
      eventually([&] { return event_count(other_ns.name(), "orders", "SecretUnreadable") >= 1; },
                 seconds(10), milliseconds(200)))
      << "no SecretUnreadable Event";
  EXPECT_EQ(second.terminate(seconds(15)), 0) << second.log_tail();
  int secret_denials = 0;
  for (const auto& event : settled_audit_events(audit_path, sa_user, scenario_end, nullptr)) {
    if (event.code != 401 && event.code != 403) continue;
    bool expected = event.verb == "get" && event.resource == "secrets" &&
                    event.ns == other_ns.name() && event.name == "kafka-client";
    EXPECT_TRUE(expected) << "denied: " << event.describe();
    if (expected) ++secret_denials;
  }
  EXPECT_GE(secret_denials, 1) << "the Secret in " << other_ns.name() << " was not denied";
  for (const auto& line : forbidden_lines(second.log())) {
    EXPECT_NE(line.find(other_ns.name() + "/kafka-client"), std::string::npos)
        << "Forbidden in the operator's log outside the deliberate check: " << line;
  }

  if (!::testing::Test::HasFailure()) {
    std::filesystem::remove(log_path);
    std::filesystem::remove(second_log_path);
  } else {
    std::printf("operator logs kept: %s %s\n", log_path.c_str(), second_log_path.c_str());
  }
  std::filesystem::remove(rendered_path);
  std::filesystem::remove(kubeconfig_path);
  std::filesystem::remove(token_path);
}

INSTANTIATE_TEST_SUITE_P(
    Chart, RbacProof,
    ::testing::Values(Mode{"LeaderElection", "--set leaderElection.enabled=true", false},
                      Mode{"Shards", "--set replicaCount=2", true}),
    [](const ::testing::TestParamInfo<Mode>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace lagpilot
