#pragma once
// A real Prometheus server (Debian's `prometheus` package, scripts/install-deps) on loopback for
// tests: a temporary config and data directory, a free 127.0.0.1 port, a 1 s scrape interval.
// Self-contained; failures throw std::runtime_error with the server's log.
//
//   lagpilot::testkit::PrometheusServer prometheus({"127.0.0.1:" + std::to_string(port)});
//   ... spec serverUrl = prometheus.url() ...
//
// With `web_config` (the YAML of --web.config.file: tls_server_config, basic_auth_users) the
// server speaks what that file says; `ready_check` then decides when it is up. `extra_flags` are
// added to its command line (e.g. --enable-feature=exemplar-storage).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/server_process.h"

namespace lagpilot::testkit {

class PrometheusServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus";

  // `targets`: host:port of /metrics endpoints scraped every second (job "lagpilot_test").
  // `ready_check` returns true once the server answers queries; the default polls /-/ready over
  // plain HTTP.
  explicit PrometheusServer(std::vector<std::string> targets, std::string web_config = "",
                            std::function<bool(const std::string& url)> ready_check = {},
                            std::vector<std::string> extra_flags = {})
      : dir_("/tmp/lagpilot-prometheus-"), extra_flags_(std::move(extra_flags)) {
    if (access(kBinary, X_OK) != 0) {
      throw std::runtime_error(std::string(kBinary) +
                               " not found: install Debian's prometheus (scripts/install-deps)");
    }
    std::ofstream config(dir_ / "prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
           << "scrape_configs:\n  - job_name: lagpilot_test\n    static_configs:\n"
           << "      - targets: [";
    for (std::size_t i = 0; i < targets.size(); ++i) {
      config << (i ? ", " : "") << "'" << targets[i] << "'";
    }
    config << "]\n";
    config.close();
    if (!web_config.empty()) std::ofstream(dir_ / "web.yml") << web_config;
    if (web_config.find("tls_server_config") != std::string::npos) scheme_ = "https";

    if (!ready_check) ready_check = [](const std::string& url) { return http_ready(url); };
    ready_check_ = ready_check;
    with_web_config_ = !web_config.empty();
    // The port is picked free and released before Prometheus binds it: retry on the rare race.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      start(!web_config.empty());
      if (wait_ready(ready_check)) return;
      stop_process();
    }
    throw std::runtime_error("prometheus did not become ready; log:\n" + log());
  }

  ~PrometheusServer() { stop_process(); }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string log() const { return read_text_file(dir_ / "prometheus.log"); }
  // Stops the server now (tests of a server that went away).
  void stop() { stop_process(); }
  // Starts the stopped server again, on the same port with the same data (a server that came
  // back). Throws when it does not become ready.
  void restart() {
    stop_process();
    start(with_web_config_);
    if (!wait_ready(ready_check_)) {
      stop_process();
      throw std::runtime_error("prometheus did not become ready again; log:\n" + log());
    }
  }

 private:
  // GET /-/ready over plain HTTP with a raw socket: true on a 200.
  static bool http_ready(const std::string& url) {
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    return loopback_http_answers_200(port, "GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  }

  void start(bool with_web_config) {
    std::vector<std::string> args = {
        kBinary,
        "--config.file=" + (dir_ / "prometheus.yml").string(),
        "--storage.tsdb.path=" + (dir_ / "data").string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_),
        "--log.level=warn",
    };
    if (with_web_config) args.push_back("--web.config.file=" + (dir_ / "web.yml").string());
    args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
    pid_ = spawn_server_process(std::move(args), (dir_ / "prometheus.log").string());
  }

  bool wait_ready(const std::function<bool(const std::string&)>& ready_check) {
    const std::string base = url();
    return wait_until_ready(pid_, std::chrono::seconds(20), std::chrono::milliseconds(50),
                            [&] { return ready_check(base); });
  }

  void stop_process() { signal_and_reap(pid_, SIGTERM, std::chrono::seconds(10)); }

  TemporaryDirectory dir_;
  std::vector<std::string> extra_flags_;
  std::string scheme_ = "http";
  bool with_web_config_ = false;
  std::function<bool(const std::string& url)> ready_check_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
