#include "controlplane/test_environment.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>

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

}  // namespace lagpilot::controlplane
