#include "controlplane/local_control_plane.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lagpilot::controlplane {
std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) {
    if (result.output.size() < 64 * 1024) result.output += buffer.data();
  }
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

LocalControlPlane::LocalControlPlane(std::string scripts_dir, std::string run_dir)
    : scripts_dir_(std::move(scripts_dir)), run_dir_(std::move(run_dir)) {}

LocalControlPlane::~LocalControlPlane() { (void)stop(); }

Result<std::unique_ptr<LocalControlPlane>> LocalControlPlane::start(
    const std::string& scripts_dir, const std::string& run_dir,
    const std::string& extra_apiserver_args) {
  std::filesystem::create_directories(run_dir);
  std::unique_ptr<LocalControlPlane> plane(new LocalControlPlane(scripts_dir, run_dir));
  // Owned by this process: controlplane/watchdog stops it once this process exits, however.
  std::string prefix = "LAGPILOT_CONTROLPLANE_OWNER_PID=" + std::to_string(::getpid()) + " ";
  if (!extra_apiserver_args.empty()) {
    prefix += "LAGPILOT_APISERVER_EXTRA_ARGS=" + shell_quote(extra_apiserver_args) + " ";
  }
  auto started =
      run_command(prefix + shell_quote(scripts_dir + "/start") + " " + shell_quote(run_dir));
  if (started.exit_code != 0) {
    return Error{"ControlPlaneStart", "controlplane/start " + run_dir + " failed (exit " +
                                          std::to_string(started.exit_code) + "):\n" +
                                          started.output};
  }
  plane->running_ = true;
  if (auto loaded = plane->load_env(); !loaded) return loaded.error();
  return plane;
}

Result<std::map<std::string, std::string>> read_env_file(const std::string& path,
                                                         const std::string& error_code) {
  std::ifstream in(path);
  if (!in) return Error{error_code, path + ": missing after start"};
  std::map<std::string, std::string> env;
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line[0] == '#') continue;
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    if (key.rfind("export ", 0) == 0) key = key.substr(7);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    env[key] = value;
  }
  return env;
}

Status LocalControlPlane::load_env() {
  auto env = read_env_file(run_dir_ + "/env", "ControlPlaneStart");
  if (!env) return env.error();
  env_ = std::move(*env);
  return Ok{};
}

Status LocalControlPlane::stop() {
  if (!running_) return Ok{};
  running_ = false;
  auto stopped = run_command(shell_quote(scripts_dir_ + "/stop") + " " + shell_quote(run_dir_));
  if (stopped.exit_code != 0) {
    return Error{"ControlPlaneStop", "controlplane/stop failed: " + stopped.output};
  }
  return Ok{};
}

Status LocalControlPlane::restart_apiserver() {
  auto restarted =
      run_command(shell_quote(scripts_dir_ + "/restart-apiserver") + " " + shell_quote(run_dir_));
  if (restarted.exit_code != 0) {
    return Error{"ControlPlaneRestart",
                 "controlplane/restart-apiserver failed: " + restarted.output};
  }
  return load_env();
}

std::string LocalControlPlane::value(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? "" : it->second;
}

kube::KubeConfig LocalControlPlane::admin_config() const {
  return config_with_token(value("LAGPILOT_ADMIN_TOKEN"));
}

kube::KubeConfig LocalControlPlane::config_with_token(const std::string& token) const {
  kube::KubeConfig config;
  config.server = server();
  config.ca_pem = read_file(value("LAGPILOT_CA_FILE"));
  config.token = token;
  config.origin = "local control plane " + run_dir_;
  return config;
}

}  // namespace lagpilot::controlplane
