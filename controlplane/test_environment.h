#pragma once
// GoogleTest support: one local control plane per test binary, a namespace per test (envtest's
// model). Link lagpilot_testenv and register ControlPlaneEnvironment in main, or call
// lagpilot::controlplane::register_environment() from a test file.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "controlplane/local_control_plane.h"
#include "kube/rest_client.h"
#include "util/clock.h"

namespace lagpilot::controlplane {

class ControlPlaneEnvironment : public ::testing::Environment {
 public:
  explicit ControlPlaneEnvironment(std::string extra_apiserver_args = "")
      : extra_apiserver_args_(std::move(extra_apiserver_args)) {}
  void SetUp() override;
  void TearDown() override;

  // The running control plane; tests fail (not crash) when it did not start.
  static LocalControlPlane* plane();
  static kube::KubeClient& admin_client();
  static Clock& clock();

 private:
  std::string extra_apiserver_args_;
  static std::unique_ptr<LocalControlPlane> plane_;
  static std::unique_ptr<kube::RestKubeClient> admin_;
  static SystemClock clock_;
};

// Creates a uniquely named namespace for one test and deletes it afterwards.
class TestNamespace {
 public:
  explicit TestNamespace(kube::KubeClient& client, const std::string& prefix = "t");
  ~TestNamespace();
  const std::string& name() const { return name_; }

 private:
  kube::KubeClient& client_;
  std::string name_;
};

// The folder with the control-plane scripts (the source tree's controlplane/).
std::string scripts_dir();

// A command-line tool as scripts/helm-check finds it: $<env_var>, else scripts/install-deps'
// ~/.cache/lagpilot/tools (or $LAGPILOT_CACHE/tools), else `name` on PATH.
std::string find_tool(const std::string& name, const char* env_var);

// $LAGPILOT_KUBECTL, else find_tool("kubectl", "KUBECTL").
std::string kubectl_binary();

// kubectl as the cluster admin of the environment's control plane, with `manifest` (when given)
// passed through a temporary file as -f. Output is stdout and stderr, without kubectl's
// client/server version-skew warning.
CommandResult kubectl(const std::string& args, const std::string& manifest = "");

// As a user installs them: kubectl apply -f crds/, then waits until the QueueMonitor CRD is
// Established. The result of the step that failed, or of the wait.
CommandResult kubectl_install_crds();

// A token for the ServiceAccount `ns`/`name` from the TokenRequest API (`kubectl create token`,
// valid for an hour): the way to get one on every server since 1.20, and the only one from 1.24
// on, where no token Secrets are made. On failure, kubectl's output.
Result<std::string> service_account_token(const std::string& ns, const std::string& name);

}  // namespace lagpilot::controlplane
