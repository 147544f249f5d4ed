#include "controlplane/kafka_broker.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "controlplane/local_control_plane.h"

namespace lagpilot::controlplane {

namespace {

std::string script(const std::string& scripts_dir, const std::string& name,
                   const std::string& run_dir, const std::string& flags = "") {
  return shell_quote(scripts_dir + "/" + name) + " " + shell_quote(run_dir) +
         (flags.empty() ? "" : " " + flags);
}

}  // namespace

KafkaBroker::KafkaBroker(std::string scripts_dir, std::string run_dir)
    : scripts_dir_(std::move(scripts_dir)), run_dir_(std::move(run_dir)) {}

KafkaBroker::~KafkaBroker() { (void)stop(); }

Result<std::unique_ptr<KafkaBroker>> KafkaBroker::start(const std::string& scripts_dir,
                                                        const std::string& run_dir) {
  std::filesystem::create_directories(run_dir);
  std::unique_ptr<KafkaBroker> broker(new KafkaBroker(scripts_dir, run_dir));
  const auto started_at = std::chrono::steady_clock::now();
  auto started = run_command("LAGPILOT_KAFKA_OWNER_PID=" + std::to_string(::getpid()) + " " +
                             script(scripts_dir, "start", run_dir));
  if (started.exit_code != 0) {
    return Error{"KafkaBrokerStart", "controlplane/kafka/start " + run_dir + " failed (exit " +
                                         std::to_string(started.exit_code) + "):\n" +
                                         started.output};
  }
  broker->start_duration_ = std::chrono::steady_clock::now() - started_at;
  broker->running_ = true;
  if (auto loaded = broker->load_env(); !loaded) return loaded.error();
  return broker;
}

Status KafkaBroker::load_env() {
  auto env = read_env_file(run_dir_ + "/env", "KafkaBrokerStart");
  if (!env) return env.error();
  env_ = std::move(*env);
  return Ok{};
}

Status KafkaBroker::halt(bool kill) {
  auto stopped = run_command(
      script(scripts_dir_, "stop", run_dir_, kill ? "--broker-only --kill" : "--broker-only"));
  if (stopped.exit_code != 0) {
    return Error{"KafkaBrokerStop", "controlplane/kafka/stop failed: " + stopped.output};
  }
  return Ok{};
}

Status KafkaBroker::resume() {
  // restart finds no broker to stop after halt() and starts the same one again.
  auto restarted = run_command(script(scripts_dir_, "restart", run_dir_));
  if (restarted.exit_code != 0) {
    return Error{"KafkaBrokerRestart", "controlplane/kafka/restart failed: " + restarted.output};
  }
  return load_env();
}

Status KafkaBroker::restart(bool kill) {
  auto restarted = run_command(script(scripts_dir_, "restart", run_dir_, kill ? "--kill" : ""));
  if (restarted.exit_code != 0) {
    return Error{"KafkaBrokerRestart", "controlplane/kafka/restart failed: " + restarted.output};
  }
  return load_env();
}

Status KafkaBroker::stop() {
  if (!running_) return Ok{};
  running_ = false;
  auto stopped = run_command(script(scripts_dir_, "stop", run_dir_));  // the watchdog too
  if (stopped.exit_code != 0) {
    return Error{"KafkaBrokerStop", "controlplane/kafka/stop failed: " + stopped.output};
  }
  return Ok{};
}

std::string KafkaBroker::value(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? "" : it->second;
}

std::string KafkaBroker::ca_pem() const {
  std::ifstream in(ca_file());
  std::ostringstream pem;
  pem << in.rdbuf();
  return pem.str();
}

std::optional<long> KafkaBroker::status_kib(const std::string& field) const {
  const std::string pid = value("KAFKA_PID");
  if (pid.empty()) return std::nullopt;
  std::ifstream status("/proc/" + pid + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) {
      std::istringstream fields(line.substr(field.size() + 1));
      long kib = 0;
      if (fields >> kib) return kib;
    }
  }
  return std::nullopt;
}

std::optional<long> KafkaBroker::rss_kib() const { return status_kib("VmRSS"); }
std::optional<long> KafkaBroker::peak_rss_kib() const { return status_kib("VmHWM"); }

}  // namespace lagpilot::controlplane
