#pragma once
// Debian's real prometheus-alertmanager (0.25, scripts/install-deps) on loopback for tests: its
// own config (one webhook receiver, grouped by namespace and queuemonitor, group_wait 1 s), data
// in a temporary directory, optionally a --web.config.file (TLS, basic auth) and a cluster peer
// (an HA pair). Stopped by pid; restartable on the same port with the same data. Plus a plain
// HTTP/1.0 client for its API (GET /api/v2/alerts, POST /api/v2/silences).
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/server_process.h"

namespace lagpilot::testkit {

struct LoopbackHttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
};

// One HTTP/1.0 request to 127.0.0.1:`port` (the server closes the connection after answering).
inline LoopbackHttpAnswer loopback_http(int port, const std::string& method,
                                        const std::string& target, const std::string& body = "") {
  LoopbackHttpAnswer answer;
  const int fd = connect_loopback(port);
  if (fd < 0) return answer;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string request = method + " " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n";
  if (!body.empty() || method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  std::string response;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buffer[8192];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
      response.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  const auto space = response.find(' ');
  const auto header_end = response.find("\r\n\r\n");
  if (space == std::string::npos || header_end == std::string::npos) return answer;
  answer.status = std::atoi(response.c_str() + space + 1);
  answer.body = response.substr(header_end + 4);
  return answer;
}

class AlertmanagerServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus-alertmanager";

  struct Options {
    std::string webhook_url;  // the receiver Alertmanager notifies (e.g. a TestHttpServer)
    std::string web_config;   // --web.config.file contents; "" none (plain HTTP)
    // Gossip: listen on a free loopback port and join these host:port peers. false: no cluster.
    bool cluster = false;
    std::vector<std::string> peers;
  };

  explicit AlertmanagerServer(Options options)
      : options_(std::move(options)), dir_("/tmp/lagpilot-alertmanager-") {
    if (access(kBinary, X_OK) != 0) {
      throw std::runtime_error(std::string(kBinary) +
                               " not found: install Debian's prometheus-alertmanager "
                               "(scripts/install-deps)");
    }
    std::ofstream(dir_ / "alertmanager.yml")
        << "route:\n  receiver: hook\n  group_by: [namespace, queuemonitor]\n"
        << "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        << "receivers:\n- name: hook\n  webhook_configs:\n  - url: '" << options_.webhook_url
        << "'\n    send_resolved: true\n";
    if (!options_.web_config.empty()) std::ofstream(dir_ / "web.yml") << options_.web_config;
    // Ports are picked free and released before Alertmanager binds them: retry on a lost race.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      if (options_.cluster) cluster_port_ = free_loopback_port();
      start();
      if (wait_ready()) return;
      stop_process();
    }
    throw std::runtime_error("alertmanager did not become ready; log:\n" + log());
  }

  ~AlertmanagerServer() { stop_process(); }
  AlertmanagerServer(const AlertmanagerServer&) = delete;
  AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

  int port() const { return port_; }
  std::string url() const {
    return std::string(options_.web_config.find("tls_server_config") != std::string::npos
                           ? "https"
                           : "http") +
           "://127.0.0.1:" + std::to_string(port_);
  }
  std::string cluster_address() const { return "127.0.0.1:" + std::to_string(cluster_port_); }
  std::string log() const { return read_text_file(dir_ / "alertmanager.log"); }
  bool running() const { return pid_ > 0; }

  // A server that went away, and came back (same port, same data).
  void stop() { stop_process(); }
  void restart() {
    stop_process();
    start();
    if (!wait_ready()) {
      stop_process();
      throw std::runtime_error("alertmanager did not become ready again; log:\n" + log());
    }
  }

  // GET /api/v2/alerts (plain HTTP only); nullopt when it does not answer 200.
  std::optional<nlohmann::json> alerts() const {
    auto answer = loopback_http(port_, "GET", "/api/v2/alerts");
    if (answer.status != 200) return std::nullopt;
    return nlohmann::json::parse(answer.body, nullptr, false);
  }
  // The alert with this alertname, or nullopt.
  std::optional<nlohmann::json> alert_named(const std::string& alertname) const {
    auto all = alerts();
    if (!all || !all->is_array()) return std::nullopt;
    for (const auto& alert : *all) {
      if (alert["labels"].value("alertname", "") == alertname) return alert;
    }
    return std::nullopt;
  }
  // POST /api/v2/silences for alertname=`alertname` from `starts` to `ends` (RFC 3339); the
  // silence ID, or "" on failure.
  std::string silence(const std::string& alertname, const std::string& starts,
                      const std::string& ends) const {
    nlohmann::json silence{
        {"matchers",
         {{{"name", "alertname"}, {"value", alertname}, {"isRegex", false}, {"isEqual", true}}}},
        {"startsAt", starts},
        {"endsAt", ends},
        {"createdBy", "lagpilot tests"},
        {"comment", "maintenance"},
    };
    auto answer = loopback_http(port_, "POST", "/api/v2/silences", silence.dump());
    if (answer.status != 200) return "";
    auto body = nlohmann::json::parse(answer.body, nullptr, false);
    return body.is_object() ? body.value("silenceID", "") : "";
  }

 private:
  void start() {
    std::vector<std::string> args = {
        kBinary,
        "--config.file=" + (dir_ / "alertmanager.yml").string(),
        "--storage.path=" + (dir_ / "data").string(),
        "--web.listen-address=127.0.0.1:" + std::to_string(port_),
        "--log.level=warn",
    };
    if (options_.cluster) {
      args.push_back("--cluster.listen-address=" + cluster_address());
      args.push_back("--cluster.advertise-address=" + cluster_address());
      args.push_back("--cluster.settle-timeout=2s");
      args.push_back("--cluster.peer-timeout=1s");
      for (const auto& peer : options_.peers) args.push_back("--cluster.peer=" + peer);
    } else {
      args.push_back("--cluster.listen-address=");
    }
    if (!options_.web_config.empty()) {
      args.push_back("--web.config.file=" + (dir_ / "web.yml").string());
    }
    pid_ = spawn_server_process(std::move(args), (dir_ / "alertmanager.log").string());
  }

  bool wait_ready() {
    const bool plain = options_.web_config.empty();
    return wait_until_ready(pid_, std::chrono::seconds(20), std::chrono::milliseconds(50), [&] {
      if (!plain) return loopback_port_accepts(port_);
      return loopback_http_answers_200(port_, "GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    });
  }

  void stop_process() { signal_and_reap(pid_, SIGTERM, std::chrono::seconds(10)); }

  Options options_;
  TemporaryDirectory dir_;
  int port_ = 0;
  int cluster_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
