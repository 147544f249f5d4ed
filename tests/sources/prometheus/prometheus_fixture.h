#pragma once
// A real Prometheus server (Debian's `prometheus` package, scripts/install-deps) on loopback for
// tests: a temporary config and data directory, a free 127.0.0.1 port, a 1 s scrape interval.
// Self-contained; failures throw std::runtime_error with the server's log.
//
//   lagpilot::testkit::PrometheusServer prometheus({"127.0.0.1:" + std::to_string(port)});
//   ... spec serverUrl = prometheus.url() ...
//
// With `web_config` (the YAML of --web.config.file: tls_server_config, basic_auth_users) the
// server speaks what that file says; `ready_check` then decides when it is up.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lagpilot::testkit {

class PrometheusServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/prometheus";

  // `targets`: host:port of /metrics endpoints scraped every second (job "lagpilot_test").
  // `ready_check` returns true once the server answers queries; the default polls /-/ready over
  // plain HTTP.
  explicit PrometheusServer(std::vector<std::string> targets, std::string web_config = "",
                            std::function<bool(const std::string& url)> ready_check = {}) {
    if (access(kBinary, X_OK) != 0) {
      throw std::runtime_error(std::string(kBinary) +
                               " not found: install Debian's prometheus (scripts/install-deps)");
    }
    char dir_template[] = "/tmp/lagpilot-prometheus-XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
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
      port_ = free_port();
      start(!web_config.empty());
      if (wait_ready(ready_check)) return;
      stop_process();
    }
    std::string log = this->log();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("prometheus did not become ready; log:\n" + log);
  }

  ~PrometheusServer() {
    stop_process();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_; }
  std::string log() const {
    std::ifstream in(dir_ / "prometheus.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
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
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  // GET /-/ready over plain HTTP with a raw socket: true on a 200.
  static bool http_ready(const std::string& url) {
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    bool ready = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
      const std::string request = "GET /-/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
        char buffer[64] = {};
        ssize_t n = ::recv(fd, buffer, sizeof(buffer) - 1, 0);
        ready = n > 12 &&
                std::string(buffer, static_cast<std::size_t>(n)).find(" 200 ") != std::string::npos;
      }
    }
    ::close(fd);
    return ready;
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
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log_path = (dir_ / "prometheus.log").string();
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      if (getppid() != parent) _exit(1);
      int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log_fd >= 0) {
        dup2(log_fd, 1);
        dup2(log_fd, 2);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  bool wait_ready(const std::function<bool(const std::string&)>& ready_check) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    const std::string base = url();
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited (e.g. the port was taken)
      }
      if (ready_check(base)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a starting server
    }
    return false;
  }

  void stop_process() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  std::filesystem::path dir_;
  std::string scheme_ = "http";
  bool with_web_config_ = false;
  std::function<bool(const std::string& url)> ready_check_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
