#pragma once
// Drives the scripts in controlplane/ (start, stop, restart-apiserver) from C++: the envtest-style
// real kube-apiserver + kube-controller-manager + etcd on loopback that tests and the demo use.
#include <map>
#include <memory>
#include <string>

#include "kube/config.h"
#include "util/result.h"

namespace lagpilot::controlplane {

class LocalControlPlane {
 public:
  // Starts a control plane in `run_dir` (created if missing). `scripts_dir` holds start/stop.
  // `extra_apiserver_args` are appended to kube-apiserver's flags. The control plane belongs to
  // this process: if it exits without stop() (a crash, an interrupt, KILL), controlplane/watchdog
  // stops etcd, kube-apiserver and kube-controller-manager within a few seconds.
  static Result<std::unique_ptr<LocalControlPlane>> start(
      const std::string& scripts_dir, const std::string& run_dir,
      const std::string& extra_apiserver_args = "");
  ~LocalControlPlane();
  LocalControlPlane(const LocalControlPlane&) = delete;
  LocalControlPlane& operator=(const LocalControlPlane&) = delete;

  Status stop();
  // Kills kube-apiserver and starts it again on the same port: a real broken connection.
  Status restart_apiserver();

  const std::string& run_dir() const { return run_dir_; }
  std::string kubeconfig_path() const { return value("KUBECONFIG"); }
  std::string server() const { return value("LAGPILOT_API_SERVER"); }
  std::string audit_log_path() const { return value("LAGPILOT_AUDIT_LOG"); }
  // Admin access with the static token, verifying the CA.
  kube::KubeConfig admin_config() const;
  // The same server and CA, authenticating with `token` (e.g. a service-account token).
  kube::KubeConfig config_with_token(const std::string& token) const;
  std::string value(const std::string& key) const;

 private:
  LocalControlPlane(std::string scripts_dir, std::string run_dir);
  Status load_env();

  std::string scripts_dir_;
  std::string run_dir_;
  std::map<std::string, std::string> env_;
  bool running_ = false;
};

// Runs a shell command, returning its exit status and combined output (bounded).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult run_command(const std::string& command);

// The KEY=VALUE lines of a run dir's env file (controlplane/lib.sh's cp_env_set; `export ` and one
// pair of quotes around a value are dropped, # lines skipped). `error_code` names the caller's
// step.
Result<std::map<std::string, std::string>> read_env_file(const std::string& path,
                                                         const std::string& error_code);

// `text` as one word for the shell.
std::string shell_quote(const std::string& text);

}  // namespace lagpilot::controlplane
