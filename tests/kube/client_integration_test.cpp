// The Kubernetes client against the real kube-apiserver of the local control plane, over TLS.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/lease.h"
#include "kube/rest_client.h"

namespace lagpilot::kube {
namespace {

using controlplane::ControlPlaneEnvironment;
using controlplane::TestNamespace;

const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new controlplane::ControlPlaneEnvironment);

Json config_map(const std::string& name, const std::string& value,
                const std::map<std::string, std::string>& labels = {}) {
  Json object = {{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", {{"name", name}}},
                 {"data", {{"value", value}}}};
  if (!labels.empty()) object["metadata"]["labels"] = labels;
  return object;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr) << "local control plane not running";
  }
  KubeClient& client() { return ControlPlaneEnvironment::admin_client(); }
};

TEST_F(ClientTest, CreateGetUpdateDelete) {
  TestNamespace ns(client());
  auto created = client().create(resources::kConfigMaps, ns.name(), config_map("settings", "one"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto fetched = client().get(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_TRUE(fetched.ok()) << fetched.error().message;
  EXPECT_EQ((*fetched)["data"]["value"], "one");

  Json changed = *fetched;
  changed["data"]["value"] = "two";
  auto updated = client().update(resources::kConfigMaps, ns.name(), changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ((*updated)["data"]["value"], "two");

  // The old resourceVersion is stale now: a conditional update conflicts.
  auto stale = client().update(resources::kConfigMaps, ns.name(), *fetched);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().reason, ApiReason::kConflict);

  auto patched = client().patch(resources::kConfigMaps, ns.name(), "settings", PatchType::kMerge,
                                {{"data", {{"extra", "x"}}}}, "");
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ((*patched)["data"]["extra"], "x");
  auto json_patched =
      client().patch(resources::kConfigMaps, ns.name(), "settings", PatchType::kJson,
                     Json::parse(R"([{"op":"remove","path":"/data/extra"}])"), "");
  ASSERT_TRUE(json_patched.ok()) << json_patched.error().message;
  EXPECT_FALSE((*json_patched)["data"].contains("extra"));

  ASSERT_TRUE(client().remove(resources::kConfigMaps, ns.name(), "settings").ok());
  auto gone = client().get(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().reason, ApiReason::kNotFound);
}

TEST_F(ClientTest, TypedErrorsForAlreadyExistsAndInvalid) {
  TestNamespace ns(client());
  ASSERT_TRUE(client().create(resources::kConfigMaps, ns.name(), config_map("a", "1")).ok());
  auto again = client().create(resources::kConfigMaps, ns.name(), config_map("a", "1"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().reason, ApiReason::kAlreadyExists);

  auto invalid =
      client().create(resources::kConfigMaps, ns.name(), config_map("Not_A_Valid_Name", "1"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().reason, ApiReason::kInvalid);
  EXPECT_EQ(invalid.error().http_status, 422);
  ASSERT_FALSE(invalid.error().causes.empty());
  EXPECT_NE(invalid.error().causes[0].find("metadata.name"), std::string::npos)
      << invalid.error().causes[0];
}

TEST_F(ClientTest, ListsInPagesWithContinueTokens) {
  TestNamespace ns(client());
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(client()
                    .create(resources::kConfigMaps, ns.name(),
                            config_map("page-" + std::to_string(i), "v", {{"set", "paging"}}))
                    .ok());
  }
  ListOptions options;
  options.label_selector = "set=paging";
  options.limit = 3;
  auto first = client().list(resources::kConfigMaps, ns.name(), options);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ((*first)["items"].size(), 3u);
  EXPECT_FALSE(first->value("/metadata/continue"_json_pointer, "").empty());

  auto all = list_all(client(), resources::kConfigMaps, ns.name(), options);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ((*all)["items"].size(), 7u);

  options.label_selector = "set=other";
  auto none = list_all(client(), resources::kConfigMaps, ns.name(), options);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)["items"].empty());
}

TEST_F(ClientTest, NamespacesIsolateTests) {
  TestNamespace first(client());
  TestNamespace second(client());
  ASSERT_TRUE(
      client().create(resources::kConfigMaps, first.name(), config_map("only-here", "1")).ok());
  EXPECT_TRUE(client().get(resources::kConfigMaps, first.name(), "only-here").ok());
  auto other = client().get(resources::kConfigMaps, second.name(), "only-here");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().reason, ApiReason::kNotFound);
}

TEST_F(ClientTest, ScaleSubresourceReadsAndPatchesReplicas) {
  TestNamespace ns(client());
  ASSERT_TRUE(client()
                  .create(resources::kDeployments, ns.name(),
                          controlplane::deployment_manifest("consumer", 2))
                  .ok());
  auto gvr = client().resolve_kind("apps/v1", "Deployment");
  ASSERT_TRUE(gvr.ok()) << gvr.error().message;
  EXPECT_EQ(gvr->resource, "deployments");

  auto scale = client().get_scale(*gvr, ns.name(), "consumer");
  ASSERT_TRUE(scale.ok()) << scale.error().message;
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["spec"]["replicas"], 2);

  auto patched = client().patch_scale(*gvr, ns.name(), "consumer", 5);
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ((*patched)["spec"]["replicas"], 5);
  auto fetched = client().get(resources::kDeployments, ns.name(), "consumer");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ((*fetched)["spec"]["replicas"], 5);

  auto missing = client().get_scale(*gvr, ns.name(), "absent");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().reason, ApiReason::kNotFound);
  auto unknown = client().resolve_kind("apps/v1", "NoSuchKind");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().reason, ApiReason::kNotFound);
}

const char* kWidgetCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.test.lagpilot.io"},
  "spec": {"group": "test.lagpilot.io", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer", "minimum": 1}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}]}})";

TEST_F(ClientTest, StatusSubresourceOfACustomResource) {
  auto crd = client().create(resources::kCustomResourceDefinitions, "", Json::parse(kWidgetCrd));
  ASSERT_TRUE(crd.ok() || crd.error().reason == ApiReason::kAlreadyExists) << crd.error().message;
  Gvr widgets{"test.lagpilot.io", "v1", "widgets", true};
  TestNamespace ns(client());
  Json widget = {{"apiVersion", "test.lagpilot.io/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", "w"}}},
                 {"spec", {{"size", 3}}}};
  // The CRD is served a moment after it is created.
  ApiResult<Json> created = ApiError();
  ASSERT_TRUE(controlplane::eventually([&] {
    created = client().create(widgets, ns.name(), widget);
    return created.ok();
  })) << created.error().message;

  auto bad = widget;
  bad["metadata"]["name"] = "bad";
  bad["spec"]["size"] = 0;
  auto rejected = client().create(widgets, ns.name(), bad);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().reason, ApiReason::kInvalid);
  EXPECT_NE(rejected.error().message.find("spec.size"), std::string::npos)
      << rejected.error().message;

  Json with_status = *created;
  with_status["status"] = {{"phase", "Ready"}};
  with_status["spec"]["size"] = 99;  // ignored by /status
  auto written = client().update_status(widgets, ns.name(), with_status);
  ASSERT_TRUE(written.ok()) << written.error().message;
  auto fetched = client().get(widgets, ns.name(), "w");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ((*fetched)["status"]["phase"], "Ready");
  EXPECT_EQ((*fetched)["spec"]["size"], 3);

  auto merge = client().patch(widgets, ns.name(), "w", PatchType::kMerge,
                              {{"status", {{"phase", "Draining"}}}}, "status");
  ASSERT_TRUE(merge.ok()) << merge.error().message;
  EXPECT_EQ((*merge)["status"]["phase"], "Draining");
}

TEST_F(ClientTest, UpdateWithRetryRetriesOnConflict) {
  TestNamespace ns(client());
  ASSERT_TRUE(client().create(resources::kConfigMaps, ns.name(), config_map("counter", "0")).ok());
  int calls = 0;
  auto result =
      update_with_retry(client(), resources::kConfigMaps, ns.name(), "counter", [&](Json& cm) {
        ++calls;
        if (calls == 1) {
          // Someone else writes between our read and our write.
          auto other = client().patch(resources::kConfigMaps, ns.name(), "counter",
                                      PatchType::kMerge, {{"data", {{"other", "yes"}}}}, "");
          EXPECT_TRUE(other.ok());
        }
        cm["data"]["value"] = "1";
        return true;
      });
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ((*result)["data"]["value"], "1");
  EXPECT_EQ((*result)["data"]["other"], "yes");
}

TEST_F(ClientTest, WatchDeliversEventsAndBookmarks) {
  TestNamespace ns(client());
  auto listed = client().list(resources::kConfigMaps, ns.name(), {});
  ASSERT_TRUE(listed.ok());
  std::string rv = listed->value("/metadata/resourceVersion"_json_pointer, "");
  WatchOptions options;
  options.resource_version = rv;
  options.timeout_seconds = 4;
  // The controller-manager publishes kube-root-ca.crt into a new namespace at its own pace; only
  // the object this test writes is of interest.
  options.field_selector = "metadata.name=watched";
  auto stream = client().watch(resources::kConfigMaps, ns.name(), options);
  ASSERT_TRUE(stream.ok()) << stream.error().message;
  ASSERT_TRUE(client().create(resources::kConfigMaps, ns.name(), config_map("watched", "1")).ok());
  ASSERT_TRUE(client().remove(resources::kConfigMaps, ns.name(), "watched").ok());

  std::vector<WatchEventType> types;
  while (true) {
    auto event = (*stream)->next();
    ASSERT_TRUE(event.ok()) << event.error().message;
    if (!event->has_value()) break;  // the server ended the watch at timeoutSeconds
    types.push_back((*event)->type);
  }
  ASSERT_GE(types.size(), 2u);
  EXPECT_EQ(types[0], WatchEventType::kAdded);
  EXPECT_EQ(types[1], WatchEventType::kDeleted);
  // The API server sends a bookmark before it closes a watch that asked for them.
  EXPECT_NE(std::find(types.begin(), types.end(), WatchEventType::kBookmark), types.end());
}

TEST_F(ClientTest, InformerKeepsAStoreAndCallsHandlers) {
  TestNamespace ns(client());
  const std::map<std::string, std::string> labels = {{"informer", "test"}};
  ASSERT_TRUE(
      client().create(resources::kConfigMaps, ns.name(), config_map("before", "1", labels)).ok());
  InformerOptions options;
  options.label_selector = "informer=test";  // not the namespace's kube-root-ca.crt
  Informer informer(client(), resources::kConfigMaps, ns.name(), ControlPlaneEnvironment::clock(),
                    options);
  std::mutex mutex;
  std::vector<std::string> seen;
  informer.add_handlers({[&](const Json& o) {
                           std::lock_guard lock(mutex);
                           seen.push_back("add " + o["metadata"]["name"].get<std::string>());
                         },
                         [&](const Json&, const Json& o) {
                           std::lock_guard lock(mutex);
                           seen.push_back("update " + o["metadata"]["name"].get<std::string>());
                         },
                         [&](const Json& o) {
                           std::lock_guard lock(mutex);
                           seen.push_back("delete " + o["metadata"]["name"].get<std::string>());
                         }});
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  ASSERT_NE(informer.get(ns.name() + "/before"), nullptr);
  EXPECT_EQ((*informer.get(ns.name() + "/before"))["kind"], "ConfigMap");

  ASSERT_TRUE(
      client().create(resources::kConfigMaps, ns.name(), config_map("after", "1", labels)).ok());
  ASSERT_TRUE(client()
                  .patch(resources::kConfigMaps, ns.name(), "after", PatchType::kMerge,
                         {{"data", {{"value", "2"}}}}, "")
                  .ok());
  ASSERT_TRUE(client().remove(resources::kConfigMaps, ns.name(), "before").ok());
  ASSERT_TRUE(controlplane::eventually([&] {
    std::lock_guard lock(mutex);
    return seen.size() >= 4;
  }));
  informer.stop();
  std::lock_guard lock(mutex);
  EXPECT_EQ(seen,
            (std::vector<std::string>{"add before", "add after", "update after", "delete before"}));
  EXPECT_EQ(informer.get(ns.name() + "/before"), nullptr);
  ASSERT_NE(informer.get(ns.name() + "/after"), nullptr);
  EXPECT_EQ((*informer.get(ns.name() + "/after"))["data"]["value"], "2");
}

TEST_F(ClientTest, InformerTransformShapesWhatIsStoredAndHandedToHandlers) {
  TestNamespace ns(client());
  const std::map<std::string, std::string> labels = {{"informer", "transform"}};
  ASSERT_TRUE(
      client().create(resources::kConfigMaps, ns.name(), config_map("listed", "1", labels)).ok());
  InformerOptions options;
  options.label_selector = "informer=transform";
  options.transform = [](Json& object) {
    object.erase("data");
    object["metadata"].erase("managedFields");
  };
  Informer informer(client(), resources::kConfigMaps, ns.name(), ControlPlaneEnvironment::clock(),
                    options);
  std::mutex mutex;
  std::vector<Json> added;
  informer.add_handlers({[&](const Json& o) {
                           std::lock_guard lock(mutex);
                           added.push_back(o);
                         },
                         nullptr, nullptr});
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync(std::chrono::seconds(10)));
  ASSERT_TRUE(
      client().create(resources::kConfigMaps, ns.name(), config_map("watched", "2", labels)).ok());
  ASSERT_TRUE(controlplane::eventually([&] {
    std::lock_guard lock(mutex);
    return added.size() >= 2;
  }));
  for (const char* name : {"listed", "watched"}) {
    auto stored = informer.get(ns.name() + "/" + name);
    ASSERT_NE(stored, nullptr) << name;
    EXPECT_FALSE(stored->contains("data")) << name << " (from the " << name << " path)";
    EXPECT_FALSE((*stored)["metadata"].contains("managedFields")) << name;
    EXPECT_EQ((*stored)["metadata"]["name"], name);
  }
  std::lock_guard lock(mutex);
  for (const auto& object : added) EXPECT_FALSE(object.contains("data")) << object.dump();
  informer.stop();
}

TEST_F(ClientTest, InformerListsPageByPageAndSyncWaitsWhileTheListProgresses) {
  TestNamespace ns(client());
  const std::map<std::string, std::string> labels = {{"informer", "pages"}};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client()
                    .create(resources::kConfigMaps, ns.name(),
                            config_map("paged-" + std::to_string(i), "v", labels))
                    .ok());
  }
  InformerOptions options;
  options.label_selector = "informer=pages";
  options.page_size = 2;
  options.transform = [](Json& object) { object.erase("data"); };
  Informer informer(client(), resources::kConfigMaps, ns.name(), ControlPlaneEnvironment::clock(),
                    options);
  informer.start();
  ASSERT_TRUE(informer.wait_for_sync_progress(std::chrono::seconds(10)));
  EXPECT_EQ(informer.stats().list_pages, 3);  // 2 + 2 + 1
  EXPECT_EQ(informer.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    auto stored = informer.get(ns.name() + "/paged-" + std::to_string(i));
    ASSERT_NE(stored, nullptr) << i;
    EXPECT_FALSE(stored->contains("data")) << i;
    EXPECT_EQ(stored->value("kind", ""), "ConfigMap") << i;
  }
  informer.stop();
}

TEST_F(ClientTest, InformerSyncFailsWhenItsListMakesNoProgress) {
  TestNamespace ns(client());
  // A resource the server does not serve: every list is a 404, so no page ever arrives.
  Gvr missing{"lagpilot.io", "v1alpha1", "nosuchthings", true};
  InformerOptions options;
  options.min_backoff = std::chrono::milliseconds(50);
  Informer informer(client(), missing, ns.name(), ControlPlaneEnvironment::clock(), options);
  informer.start();
  EXPECT_FALSE(informer.wait_for_sync_progress(std::chrono::milliseconds(500)));
  EXPECT_FALSE(informer.has_synced());
  EXPECT_EQ(informer.stats().list_pages, 0);
  informer.stop();
}

TEST_F(ClientTest, EventsAreCountedOnRepeat) {
  TestNamespace ns(client());
  auto cm = client().create(resources::kConfigMaps, ns.name(), config_map("subject", "1"));
  ASSERT_TRUE(cm.ok());
  Json involved = *cm;
  involved["apiVersion"] = "v1";
  involved["kind"] = "ConfigMap";
  EventRecorder recorder(client(), ControlPlaneEnvironment::clock(), "lagpilot-test");
  ASSERT_TRUE(recorder.record(involved, EventType::kNormal, "Scaled", "2 -> 4").ok());
  ASSERT_TRUE(recorder.record(involved, EventType::kNormal, "Scaled", "2 -> 4").ok());
  ASSERT_TRUE(
      recorder.record(involved, EventType::kWarning, "SourceUnreachable", "broker down").ok());
  auto events = client().list(resources::kEvents, ns.name(), {});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ((*events)["items"].size(), 2u);
  std::map<std::string, int> counts;
  for (const auto& e : (*events)["items"]) {
    counts[e["reason"].get<std::string>()] = e["count"].get<int>();
    EXPECT_EQ(e["involvedObject"]["name"], "subject");
    EXPECT_EQ(e["source"]["component"], "lagpilot-test");
  }
  EXPECT_EQ(counts["Scaled"], 2);
  EXPECT_EQ(counts["SourceUnreachable"], 1);
}

TEST_F(ClientTest, LeasesCreateGetAndConditionalUpdate) {
  TestNamespace ns(client());
  LeaseClient leases(client());
  auto absent = leases.get(ns.name(), "lagpilot-leader");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());

  LeaseRecord record;
  record.holder_identity = "pod-a";
  record.lease_duration_seconds = 15;
  record.acquire_time = ControlPlaneEnvironment::clock().now();
  record.renew_time = record.acquire_time;
  auto created = leases.create(ns.name(), "lagpilot-leader", record);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto fetched = leases.get(ns.name(), "lagpilot-leader");
  ASSERT_TRUE(fetched.ok() && fetched->has_value());
  EXPECT_EQ((*fetched)->holder_identity, "pod-a");
  ASSERT_TRUE((*fetched)->renew_time.has_value());

  LeaseRecord renewed = **fetched;
  renewed.renew_time = *renewed.renew_time + std::chrono::seconds(2);
  ASSERT_TRUE(leases.update(ns.name(), "lagpilot-leader", renewed).ok());
  // A second writer holding the old resourceVersion loses.
  LeaseRecord stolen = **fetched;
  stolen.holder_identity = "pod-b";
  auto conflict = leases.update(ns.name(), "lagpilot-leader", stolen);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().reason, ApiReason::kConflict);
}

TEST_F(ClientTest, ClientCertificateAuthentication) {
  auto* plane = ControlPlaneEnvironment::plane();
  KubeConfig config = plane->config_with_token("");
  std::ifstream cert(plane->value("LAGPILOT_ADMIN_CERT")), key(plane->value("LAGPILOT_ADMIN_KEY"));
  std::stringstream cert_text, key_text;
  cert_text << cert.rdbuf();
  key_text << key.rdbuf();
  config.client_cert_pem = cert_text.str();
  config.client_key_pem = key_text.str();
  auto cert_client = RestKubeClient::from_config(config, ControlPlaneEnvironment::clock());
  auto namespaces = cert_client->list(resources::kNamespaces, "", {});
  ASSERT_TRUE(namespaces.ok()) << namespaces.error().message;
}

TEST_F(ClientTest, KubeconfigWrittenByTheControlPlaneWorks) {
  auto config = load_kubeconfig(ControlPlaneEnvironment::plane()->kubeconfig_path());
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto from_file = RestKubeClient::from_config(*config, ControlPlaneEnvironment::clock());
  auto version = from_file->get_path("/version");
  ASSERT_TRUE(version.ok()) << version.error().message;
  // The server is the binary controlplane/start ran (whichever release this run tests).
  EXPECT_EQ((*version)["gitVersion"],
            ControlPlaneEnvironment::plane()->value("LAGPILOT_KUBE_GIT_VERSION"));
}

TEST_F(ClientTest, BadTokenIsUnauthorized) {
  auto bad =
      RestKubeClient::from_config(ControlPlaneEnvironment::plane()->config_with_token("wrong"),
                                  ControlPlaneEnvironment::clock());
  auto result = bad->list(resources::kNamespaces, "", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, ApiReason::kUnauthorized);
}

TEST_F(ClientTest, ServiceAccountWithoutRoleIsForbiddenUntilBound) {
  TestNamespace ns(client());
  ASSERT_TRUE(client()
                  .create(resources::kServiceAccounts, ns.name(),
                          {{"apiVersion", "v1"},
                           {"kind", "ServiceAccount"},
                           {"metadata", {{"name", "reader"}}}})
                  .ok());
  // A TokenRequest token (every release since 1.20; no token Secrets from 1.24 on).
  auto issued = controlplane::service_account_token(ns.name(), "reader");
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  const std::string token = *issued;
  auto sa_client = RestKubeClient::from_config(
      ControlPlaneEnvironment::plane()->config_with_token(token), ControlPlaneEnvironment::clock());
  auto denied = sa_client->list(resources::kConfigMaps, ns.name(), {});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().reason, ApiReason::kForbidden);
  EXPECT_NE(denied.error().message.find("system:serviceaccount:" + ns.name() + ":reader"),
            std::string::npos)
      << denied.error().message;

  Gvr roles{"rbac.authorization.k8s.io", "v1", "roles", true};
  Gvr bindings{"rbac.authorization.k8s.io", "v1", "rolebindings", true};
  ASSERT_TRUE(
      client()
          .create(roles, ns.name(), Json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1",
    "kind":"Role","metadata":{"name":"cm-reader"},
    "rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["list"]}]})"))
          .ok());
  ASSERT_TRUE(client()
                  .create(bindings, ns.name(),
                          Json::parse(R"({"apiVersion":"rbac.authorization.k8s.io/v1",
    "kind":"RoleBinding","metadata":{"name":"cm-reader"},
    "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"cm-reader"},
    "subjects":[{"kind":"ServiceAccount","name":"reader","namespace":")" +
                                      ns.name() + R"("}]})"))
                  .ok());
  EXPECT_TRUE(controlplane::eventually(
      [&] { return sa_client->list(resources::kConfigMaps, ns.name(), {}).ok(); }));
}

TEST_F(ClientTest, WrongCertificateAuthorityIsATransportErrorNamingTheServer) {
  KubeConfig config = ControlPlaneEnvironment::plane()->admin_config();
  // Any valid CA that did not sign the server's certificate.
  std::ifstream other(ControlPlaneEnvironment::plane()->value("LAGPILOT_ADMIN_CERT"));
  std::stringstream text;
  text << other.rdbuf();
  config.ca_pem = text.str();
  ClientOptions options;
  options.retry.max_attempts = 1;
  auto client_with_wrong_ca =
      RestKubeClient::from_config(config, ControlPlaneEnvironment::clock(), options);
  auto result = client_with_wrong_ca->list(resources::kNamespaces, "", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, ApiReason::kTransport);
  EXPECT_NE(result.error().message.find(config.server), std::string::npos)
      << result.error().message;
}

// Accepts connections (the kernel's backlog) and never answers; with `listening` false the port
// is only bound, so connections are refused while no other test can take it.
class SilentServer {
 public:
  explicit SilentServer(bool listening = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    if (listening) ::listen(fd_, 16);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST_F(ClientTest, ServerThatNeverAnswersTimesOut) {
  SilentServer silent;
  KubeConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(silent.port());
  config.token = "x";
  ClientOptions options;
  options.request_timeout = std::chrono::milliseconds(500);
  options.retry.max_attempts = 2;
  FakeClock clock;
  auto hung = RestKubeClient::from_config(config, clock, options);
  auto started = std::chrono::steady_clock::now();
  auto result = hung->get(resources::kNamespaces, "", "default");
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, ApiReason::kTimeout) << result.error().message;
  EXPECT_NE(result.error().message.find(config.server), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
  EXPECT_GT(clock.slept(), Duration::zero());  // it backed off once before the second try
}

TEST_F(ClientTest, RefusedConnectionIsATransportError) {
  SilentServer bound_only(/*listening=*/false);
  KubeConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(bound_only.port());
  ClientOptions options;
  options.retry.max_attempts = 1;
  FakeClock clock;
  auto client_to_nowhere = RestKubeClient::from_config(config, clock, options);
  auto result = client_to_nowhere->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().reason, ApiReason::kTransport) << result.error().message;
  EXPECT_NE(result.error().message.find(config.server), std::string::npos);
}

// Answers 429 with Retry-After a given number of times, then passes requests to the real server.
class ThrottlingTransport final : public HttpTransport {
 public:
  ThrottlingTransport(std::unique_ptr<HttpTransport> real, int throttles)
      : real_(std::move(real)), throttles_(throttles) {}
  ApiResult<HttpResponse> send(const HttpRequest& request) override {
    if (throttles_ > 0) {
      --throttles_;
      HttpResponse response;
      response.status = 429;
      response.body = R"({"kind":"Status","reason":"TooManyRequests","code":429})";
      response.headers["retry-after"] = "2";
      return response;
    }
    return real_->send(request);
  }
  ApiResult<std::unique_ptr<LineStream>> open_stream(const HttpRequest& request,
                                                     std::chrono::milliseconds idle) override {
    return real_->open_stream(request, idle);
  }

 private:
  std::unique_ptr<HttpTransport> real_;
  int throttles_;
};

TEST_F(ClientTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  FakeClock clock;
  auto config = ControlPlaneEnvironment::plane()->admin_config();
  auto tokens = std::make_shared<TokenSource>(config, clock);
  RestKubeClient throttled(
      std::make_unique<ThrottlingTransport>(make_cpprest_transport(config, tokens), 2), clock);
  TestNamespace ns(client());
  // A write is retried too: a 429 means the server did not act on it.
  auto created = throttled.create(resources::kConfigMaps, ns.name(), config_map("throttled", "1"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(clock.slept(), std::chrono::seconds(4));

  RestKubeClient always_throttled(
      std::make_unique<ThrottlingTransport>(make_cpprest_transport(config, tokens), 100), clock);
  auto refused = always_throttled.get(resources::kConfigMaps, ns.name(), "throttled");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().reason, ApiReason::kTooManyRequests);
}

}  // namespace
}  // namespace lagpilot::kube
