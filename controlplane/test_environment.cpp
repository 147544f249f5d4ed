#include "controlplane/test_environment.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace lagpilot::controlplane {

std::unique_ptr<LocalControlPlane> ControlPlaneEnvironment::plane_;
std::unique_ptr<kube::RestKubeClient> ControlPlaneEnvironment::admin_;
SystemClock ControlPlaneEnvironment::clock_;

std::string scripts_dir() {
  if (const char* dir = std::getenv("LAGPILOT_CONTROLPLANE_SCRIPTS")) return dir;
  return LAGPILOT_SOURCE_DIR "/controlplane";
}

void ControlPlaneEnvironment::SetUp() {
  std::string base = std::filesystem::temp_directory_path() / "lagpilot-cp";
  std::filesystem::create_directories(base);
  std::string templ = base + "/run-XXXXXX";
  std::string run_dir = ::mkdtemp(templ.data()) ? templ : base + "/run";
  auto started = LocalControlPlane::start(scripts_dir(), run_dir, extra_apiserver_args_);
  if (!started) {
    std::fprintf(stderr, "local control plane did not start: %s\n",
                 started.error().message.c_str());
    return;
  }
  plane_ = std::move(*started);
  admin_ = kube::RestKubeClient::from_config(plane_->admin_config(), clock_);
}

void ControlPlaneEnvironment::TearDown() {
  admin_.reset();
  if (plane_) {
    std::string run_dir = plane_->run_dir();
    (void)plane_->stop();
    plane_.reset();
    if (!std::getenv("LAGPILOT_KEEP_RUN_DIR")) std::filesystem::remove_all(run_dir);
  }
}

LocalControlPlane* ControlPlaneEnvironment::plane() { return plane_.get(); }

kube::KubeClient& ControlPlaneEnvironment::admin_client() {
  if (!admin_) {
    ADD_FAILURE() << "the local control plane is not running";
    std::abort();
  }
  return *admin_;
}

Clock& ControlPlaneEnvironment::clock() { return clock_; }

TestNamespace::TestNamespace(kube::KubeClient& client, const std::string& prefix)
    : client_(client) {
  static std::atomic<int> counter{0};
  std::random_device random;
  name_ = prefix + "-" + std::to_string(::getpid() % 100000) + "-" + std::to_string(counter++) +
          "-" + std::to_string(random() % 10000);
  kube::Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name_}}}};
  auto created = client_.create(kube::resources::kNamespaces, "", ns);
  if (!created) ADD_FAILURE() << "creating namespace " << name_ << ": " << created.error().message;
}

TestNamespace::~TestNamespace() { (void)client_.remove(kube::resources::kNamespaces, "", name_); }

std::string find_tool(const std::string& name, const char* env_var) {
  if (const char* path = std::getenv(env_var); path && *path) return path;
  const std::string cache =
      std::getenv("LAGPILOT_CACHE")
          ? std::getenv("LAGPILOT_CACHE")
          : std::string(std::getenv("HOME") ? std::getenv("HOME") : "/root") + "/.cache/lagpilot";
  const std::string cached = cache + "/tools/" + name;
  if (::access(cached.c_str(), X_OK) == 0) return cached;
  return name;
}

std::string kubectl_binary() {
  if (const char* path = std::getenv("LAGPILOT_KUBECTL"); path && *path) return path;
  return find_tool("kubectl", "KUBECTL");
}

CommandResult kubectl(const std::string& args, const std::string& manifest) {
  static std::atomic<int> manifests{0};
  std::string command = shell_quote(kubectl_binary()) + " --kubeconfig " +
                        shell_quote(ControlPlaneEnvironment::plane()->kubeconfig_path()) + " " +
                        args;
  std::string file;
  if (!manifest.empty()) {
    file = std::filesystem::temp_directory_path() /
           ("lagpilot-manifest-" + std::to_string(::getpid()) + "-" + std::to_string(++manifests) +
            ".yaml");
    std::ofstream(file) << manifest;
    command += " -f " + shell_quote(file);
  }
  CommandResult result = run_command(command);
  if (!file.empty()) std::filesystem::remove(file);
  // Without kubectl's version-skew warnings (each line goes with its newline).
  std::string kept;
  std::istringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("version difference between client") != std::string::npos) continue;
    kept += line;
    if (!lines.eof()) kept += '\n';
  }
  result.output = std::move(kept);
  return result;
}

Result<std::string> service_account_token(const std::string& ns, const std::string& name) {
  CommandResult created =
      kubectl("create token " + shell_quote(name) + " -n " + shell_quote(ns) + " --duration=1h");
  // The token is the one line of three dot-separated base64url parts (a JWT).
  std::istringstream lines(created.output);
  for (std::string line; std::getline(lines, line);) {
    if (created.exit_code == 0 && std::count(line.begin(), line.end(), '.') == 2 &&
        line.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
            std::string::npos) {
      return line;
    }
  }
  return Error{"TokenRequest", "kubectl create token " + name + " -n " + ns + " (exit " +
                                   std::to_string(created.exit_code) + "): " + created.output};
}

CommandResult kubectl_install_crds() {
  CommandResult applied =
      kubectl("apply -f " + shell_quote(std::string(LAGPILOT_SOURCE_DIR) + "/crds/"));
  if (applied.exit_code != 0) return applied;
  // kubectl 1.32's wait fails at once ("<nil> is of the type <nil>") when it reads the CRD before
  // the API server wrote any status condition: ask again until it answers otherwise.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  CommandResult waited;
  do {
    waited =
        kubectl("wait --for condition=established --timeout=60s crd/queuemonitors.lagpilot.io");
    if (waited.exit_code == 0 || waited.output.find("is of the type <nil>") == std::string::npos) {
      return waited;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling the API server
  } while (std::chrono::steady_clock::now() < deadline);
  return waited;
}

}  // namespace lagpilot::controlplane
