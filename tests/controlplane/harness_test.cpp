// The test harness itself: start, per-test namespaces, the pod-readiness stand-in, and stop
// leaving no process behind, also when the process that started the control plane is killed.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "controlplane/pod_readiness.h"
#include "controlplane/test_environment.h"
#include "controlplane/test_support.h"
#include "tests/support/server_process.h"

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
  for (const char* key : {"ETCD_PID", "APISERVER_PID", "CONTROLLER_MANAGER_PID", "WATCHDOG_PID"}) {
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

// Alive and not a zombie (an orphan waits for whoever reaps it).
bool process_alive(int pid) {
  const std::string stat = testkit::read_text_file("/proc/" + std::to_string(pid) + "/stat");
  const auto state_at = stat.rfind(')');
  return state_at != std::string::npos && state_at + 2 < stat.size() && stat[state_at + 2] != 'Z';
}

// The process that started the control plane dies without stopping it (SIGKILL: no handler, no
// destructor runs): controlplane/watchdog stops etcd, kube-apiserver and kube-controller-manager.
TEST(Harness, KilledOwnerLeavesNoProcessBehind) {
  testkit::TemporaryDirectory run_dir("/tmp/lagpilot-owner-");
  pid_t owner = testkit::spawn_server_process(
      {CONTROL_PLANE_OWNER_BINARY, scripts_dir(), run_dir.path().string()},
      (run_dir / "owner.log").string());
  const bool ready =
      testkit::wait_until_ready(owner, std::chrono::seconds(180), std::chrono::milliseconds(100),
                                [&] { return std::filesystem::exists(run_dir / "owner-ready"); });
  ASSERT_TRUE(ready) << testkit::read_text_file(run_dir / "owner.log");
  auto env = read_env_file((run_dir / "env").string(), "Test");
  ASSERT_TRUE(env.ok()) << env.error().message;
  std::map<std::string, int> pids;
  for (const char* key : {"ETCD_PID", "APISERVER_PID", "CONTROLLER_MANAGER_PID", "WATCHDOG_PID"}) {
    ASSERT_TRUE(env->count(key)) << key;
    pids[key] = std::stoi(env->at(key));
    EXPECT_TRUE(process_alive(pids[key])) << key << " is not running";
  }
  testkit::kill_and_reap(owner);
  for (const auto& [key, pid] : pids) {
    EXPECT_TRUE(eventually([&] { return !process_alive(pid); }, std::chrono::seconds(30)))
        << key << " (pid " << pid << ") survived its owner\n"
        << testkit::read_text_file(run_dir / "logs/watchdog.log");
  }
}

}  // namespace
}  // namespace lagpilot::controlplane
