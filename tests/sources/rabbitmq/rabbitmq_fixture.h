#pragma once
// A real RabbitMQ server (Debian's rabbitmq-server 3.10.8) on loopback for tests: its own epmd
// and node (unique name; mnesia, logs and config in a temporary directory), AMQP, AMQPS (a CA
// and a server certificate made with openssl for 127.0.0.1/localhost), the management plugin
// and Erlang distribution on free 127.0.0.1 ports, a user with a random password. It stops
// exactly what it started: the beam process (started by pid, the script execs it) and the epmd
// it started before it. A crashed test leaves nothing behind (PR_SET_PDEATHSIG). Start one per
// test binary: start-up takes ~6-10 s. Failures throw std::runtime_error with the server's log.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/server_process.h"

namespace lagpilot::testkit {

class RabbitMqServer {
 public:
  static constexpr const char* kServerScript =
      "/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/sbin/rabbitmq-server";
  static constexpr const char* kEpmd = "/usr/bin/epmd";
  static constexpr const char* kUser = "lagpilot";
  // The management plugin's statistics interval here (the server's default is 5000 ms).
  static constexpr int kStatsIntervalMs = 1000;

  RabbitMqServer() : dir_("/tmp/lagpilot-rabbitmq-") {
    if (access(kServerScript, X_OK) != 0) {
      throw std::runtime_error(std::string(kServerScript) +
                               " not found: install Debian's rabbitmq-server");
    }
    node_ = "lagpilot-test-" + std::to_string(getpid()) + "-" +
            dir_.path().filename().string().substr(17);
    password_ = random_token();
    make_certificates();
    amqp_port_ = free_loopback_port();
    amqps_port_ = free_loopback_port();
    management_port_ = free_loopback_port();
    dist_port_ = free_loopback_port();
    epmd_port_ = free_loopback_port();
    write_config();
    start_epmd();
    start();
  }

  ~RabbitMqServer() {
    stop();
    signal_and_reap(epmd_pid_, SIGTERM, kStopGrace);
  }
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  int amqp_port() const { return amqp_port_; }
  int amqps_port() const { return amqps_port_; }
  int management_port() const { return management_port_; }
  std::string management_url() const {
    return "http://127.0.0.1:" + std::to_string(management_port_);
  }
  const std::string& password() const { return password_; }
  std::string ca_pem() const { return read_text_file(dir_ / "ca.crt"); }
  // A CA that did not sign the server's certificate.
  std::string other_ca_pem() const { return read_text_file(dir_ / "other-ca.crt"); }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_text_file(dir_ / "server.log"); }
  std::chrono::milliseconds last_start_duration() const { return last_start_; }

  // Starts the node (again, after kill()) and waits until the management API answers.
  void start() {
    const auto began = std::chrono::steady_clock::now();
    spawn_server();
    if (!wait_ready(std::chrono::seconds(90))) {
      const std::string text = log();
      stop();
      throw std::runtime_error("rabbitmq-server did not become ready; log:\n" + text);
    }
    last_start_ = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
  }
  // SIGKILL, as a crash; start() brings the same node back (durable queues and persistent
  // messages survive).
  void kill() { signal_and_reap(pid_, SIGKILL, kStopGrace); }
  // Freezes / thaws the node: it accepts connections (the kernel does) but answers nothing.
  // Returns once the kernel reports every thread of the node stopped (SIGSTOP is asynchronous).
  void freeze() {
    if (!stop_and_wait_until_stopped(pid_, std::chrono::seconds(10))) {
      throw std::runtime_error("SIGSTOP not done");
    }
  }
  void thaw() { ::kill(pid_, SIGCONT); }
  void stop() { signal_and_reap(pid_, SIGTERM, kStopGrace); }

 private:
  static std::string random_token() {
    std::random_device device;
    std::string token;
    const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 20; ++i) token += alphabet[device() % 36];
    return token;
  }

  void run(const std::string& command) const {
    const std::string full =
        "cd " + dir_.path().string() + " && " + command + " >>openssl.log 2>&1";
    if (std::system(full.c_str()) != 0) {
      throw std::runtime_error("failed: " + command + "\n" + read_text_file(dir_ / "openssl.log"));
    }
  }

  void make_certificates() const {
    std::ofstream(dir_ / "san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    for (const char* ca : {"ca", "other-ca"}) {
      run(std::string("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lagpilot-") +
          ca + " -keyout " + ca + ".key -out " + ca + ".crt");
    }
    run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out "
        "server.csr");
    run("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.crt");
  }

  void write_config() const {
    const std::string d = dir_.path().string();
    std::ofstream(dir_ / "rabbitmq.conf")
        << "listeners.tcp.default = 127.0.0.1:" << amqp_port_ << "\n"
        << "listeners.ssl.default = 127.0.0.1:" << amqps_port_ << "\n"
        << "ssl_options.cacertfile = " << d << "/ca.crt\n"
        << "ssl_options.certfile = " << d << "/server.crt\n"
        << "ssl_options.keyfile = " << d << "/server.key\n"
        << "ssl_options.verify = verify_none\n"
        << "ssl_options.fail_if_no_peer_cert = false\n"
        << "management.tcp.port = " << management_port_ << "\n"
        << "management.tcp.ip = 127.0.0.1\n"
        << "collect_statistics_interval = " << kStatsIntervalMs << "\n"
        << "loopback_users = none\n"
        << "default_user = " << kUser << "\n"
        << "default_pass = " << password_ << "\n"
        << "default_user_tags.administrator = true\n";
    // The management plugin enabled offline: the enabled-plugins file itself.
    std::ofstream(dir_ / "enabled_plugins") << "[rabbitmq_management].\n";
  }

  // Our own epmd on its own loopback port: the node registers there and does not start one.
  void start_epmd() {
    epmd_pid_ =
        spawn_server_process({kEpmd, "-port", std::to_string(epmd_port_), "-address", "127.0.0.1"},
                             (dir_ / "epmd.log").string());
    if (!wait_until_ready(epmd_pid_, std::chrono::seconds(10), std::chrono::milliseconds(20),
                          [this] { return loopback_port_accepts(epmd_port_); })) {
      throw std::runtime_error("epmd not up");
    }
  }

  void spawn_server() {
    const std::string d = dir_.path().string();
    pid_ = spawn_server_process(
        {kServerScript}, (dir_ / "server.log").string(),
        {"HOME=" + d, "RABBITMQ_NODENAME=" + node_ + "@localhost",
         "RABBITMQ_MNESIA_BASE=" + d + "/mnesia", "RABBITMQ_LOG_BASE=" + d + "/log",
         "RABBITMQ_CONFIG_FILE=" + d + "/rabbitmq",
         "RABBITMQ_ENABLED_PLUGINS_FILE=" + d + "/enabled_plugins",
         "RABBITMQ_PID_FILE=" + d + "/rabbitmq.pid",
         "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_),
         "ERL_EPMD_PORT=" + std::to_string(epmd_port_), "RABBITMQ_LOGS=-",
         // exec erl directly (no signal-forwarding shell): the pid is the node's
         "RUNNING_UNDER_SYSTEMD=1",
         "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface "
         "{127,0,0,1}"});
  }

  // The management API answers GET /api/overview with 200: the node and its plugins are up.
  bool management_ready() const {
    // Basic auth of kUser:password, base64 by hand to stay self-contained.
    const std::string pair = std::string(kUser) + ":" + password_;
    const std::string request =
        "GET /api/overview HTTP/1.0\r\nHost: 127.0.0.1\r\n"
        "Authorization: Basic " +
        base64(pair) + "\r\n\r\n";
    return loopback_http_answers_200(management_port_, request);
  }

  static std::string base64(const std::string& in) {
    static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int value = 0, bits = -6;
    for (unsigned char c : in) {
      value = (value << 8) + c;
      bits += 8;
      while (bits >= 0) {
        out.push_back(table[(value >> bits) & 0x3F]);
        bits -= 6;
      }
    }
    if (bits > -6) out.push_back(table[((value << 8) >> (bits + 8)) & 0x3F]);
    while (out.size() % 4) out.push_back('=');
    return out;
  }

  bool wait_ready(std::chrono::seconds limit) {
    return wait_until_ready(pid_, limit, std::chrono::milliseconds(100), [this] {
      return loopback_port_accepts(amqp_port_) && management_ready();
    });
  }

  // How long a stopped process may take to exit before SIGKILL.
  static constexpr std::chrono::seconds kStopGrace{20};

  TemporaryDirectory dir_;
  std::string node_;
  std::string password_;
  int amqp_port_ = 0;
  int amqps_port_ = 0;
  int management_port_ = 0;
  int dist_port_ = 0;
  int epmd_port_ = 0;
  pid_t epmd_pid_ = -1;
  pid_t pid_ = -1;
  std::chrono::milliseconds last_start_{0};
};

}  // namespace lagpilot::testkit
