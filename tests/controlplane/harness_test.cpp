// The test harness itself: start, per-test namespaces, the pod-readiness stand-in, and stop
// leaving no process behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "controlplane/pod_readiness.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"

namespace lagpilot::controlplane {
namespace {

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment);

TEST(Harness, ControlPlaneIsReadyAndServesTheRealApi) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto namespaces =
      ControlPlaneEnvironment::admin_client().list(kube::resources::kNamespaces, "", {});
  ASSERT_TRUE(namespaces.ok()) << namespaces.error().message;
  std::set<std::string> names;
  for (const auto& ns : (*namespaces)["items"])
    names.insert(ns["metadata"]["name"].get<std::string>());
  EXPECT_TRUE(names.count("default"));
  EXPECT_TRUE(names.count("kube-system"));
  EXPECT_EQ(ControlPlaneEnvironment::plane()->server().rfind("https://127.0.0.1:", 0), 0u);
}

TEST(Harness, PodReadinessStandInMakesDeploymentsReady) {
  ASSERT_NE(ControlPlaneEnvironment::plane(), nullptr);
  auto& client = ControlPlaneEnvironment::admin_client();
  TestNamespace ns(client);
  PodReadinessSimulator readiness(client, ControlPlaneEnvironment::clock(), ns.name(),
                                  std::chrono::milliseconds(200));
  readiness.start();
  auto deployment =
      kube::Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},
    "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},
    "template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"example.com/web:1"}]}}}})");
  ASSERT_TRUE(client.create(kube::resources::kDeployments, ns.name(), deployment).ok());
  EXPECT_TRUE(eventually([&] {
    auto d = client.get(kube::resources::kDeployments, ns.name(), "web");
    return d.ok() && d->value("/status/readyReplicas"_json_pointer, 0) == 3 &&
           d->value("/status/availableReplicas"_json_pointer, 0) == 3;
  })) << "the Deployment never reported 3 ready replicas";
  EXPECT_GE(readiness.pods_marked_ready(), 3);
  readiness.stop();
}

TEST(Harness, StopLeavesNoProcessBehind) {
  std::string run_dir =
      std::filesystem::temp_directory_path() / ("lagpilot-harness-" + std::to_string(::getpid()));
  auto plane = LocalControlPlane::start(scripts_dir(), run_dir);
  ASSERT_TRUE(plane.ok()) << plane.error().message;
  std::vector<int> pids;
  for (const char* key : {"ETCD_PID", "APISERVER_PID", "CONTROLLER_MANAGER_PID"}) {
    std::string value = (*plane)->value(key);
    ASSERT_FALSE(value.empty()) << key;
    pids.push_back(std::stoi(value));
    EXPECT_EQ(::kill(pids.back(), 0), 0) << key << " is not running";
  }
  ASSERT_TRUE((*plane)->stop().ok());
  for (int pid : pids) {
    // kill(pid, 0) fails with ESRCH once the process is gone (its parent, the shell, reaped it).
    EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }, std::chrono::seconds(10)))
        << "pid " << pid << " survived";
  }
  std::filesystem::remove_all(run_dir);
}

}  // namespace
}  // namespace lagpilot::controlplane
