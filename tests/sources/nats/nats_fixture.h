#pragma once
// A real NATS server with JetStream (Debian's `nats-server` 2.9.10, scripts/install-deps) on
// loopback for tests: a temporary store directory, a free 127.0.0.1 port, optional user/password
// or token auth and TLS with a CA made by openssl at test time. Stops exactly the process it
// started (SIGKILL to it if the test process dies: PR_SET_PDEATHSIG). Failures throw
// std::runtime_error with the server's log.
//
//   lagpilot::testkit::NatsServer nats;                  // plain
//   NatsServer::Options o; o.user = "app"; o.password = "s3cret"; NatsServer secured(o);
//   ... spec servers = {nats.url()} ...
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/server_process.h"

namespace lagpilot::testkit {

// A CA and a server certificate for localhost / 127.0.0.1, made with the openssl CLI.
class TestCertificates {
 public:
  // `server_name`: the DNS name in the server certificate's SAN (with IP 127.0.0.1).
  explicit TestCertificates(const std::filesystem::path& dir,
                            const std::string& server_name = "localhost")
      : dir_(dir) {
    std::filesystem::create_directories(dir_);
    const std::string d = dir_.string();
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
        "/CN=lagpilot-test-ca -keyout " +
        d + "/ca.key -out " + d + "/ca.crt");
    std::ofstream(dir_ / "san.ext")
        << "subjectAltName=DNS:" << server_name << ",IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" +
        server_name + " -keyout " + d + "/server.key -out " + d + "/server.csr");
    run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d +
        "/ca.key -CAcreateserial -days 2 -extfile " + d + "/san.ext -out " + d + "/server.crt");
  }
  std::filesystem::path ca_cert() const { return dir_ / "ca.crt"; }
  std::filesystem::path server_cert() const { return dir_ / "server.crt"; }
  std::filesystem::path server_key() const { return dir_ / "server.key"; }
  std::string ca_pem() const {
    std::ifstream in(ca_cert());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  static void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
      throw std::runtime_error("failed: " + command);
    }
  }
  std::filesystem::path dir_;
};

class NatsServer {
 public:
  static constexpr const char* kBinary = "/usr/sbin/nats-server";

  struct Options {
    std::string user;  // with password: --user/--pass
    std::string password;
    std::string token;     // --auth
    std::string tls_cert;  // with tls_key: --tls (clients must speak TLS)
    std::string tls_key;
    bool jetstream = true;  // false: a plain NATS server (no -js)
    std::string config{};   // nats-server config text (-c), e.g. decentralized auth
  };

  NatsServer() : NatsServer(Options{}) {}
  explicit NatsServer(Options options) : options_(std::move(options)), dir_("/tmp/lagpilot-nats-") {
    if (access(kBinary, X_OK) != 0) {
      throw std::runtime_error(std::string(kBinary) +
                               " not found: install Debian's nats-server (scripts/install-deps)");
    }
    // The port is picked free and released before the server binds it: retry on the rare race.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      start_process();
      if (wait_ready()) return;
      stop_process();
    }
    throw std::runtime_error("nats-server did not become ready; log:\n" + log());
  }

  ~NatsServer() { stop_process(); }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& scheme = "nats", const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(port_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_.path(); }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_text_file(dir_ / "nats.log"); }

  // SIGKILL now (a crashed server); the store stays for restart().
  void kill_now() { kill_and_reap(pid_); }
  // SIGSTOP / SIGCONT: a server that holds its connections and answers nothing.
  // freeze() returns once the kernel reports every thread of the server stopped (or after 10 s).
  void freeze() { stop_and_wait_until_stopped(pid_, std::chrono::seconds(10)); }
  void thaw() { ::kill(pid_, SIGCONT); }
  // Starts the server again on the same port with the same store (streams and consumers survive).
  void restart() {
    stop_process();
    start_process();
    if (!wait_ready()) throw std::runtime_error("nats-server did not restart; log:\n" + log());
  }

 private:
  // The server greets every client with an INFO line (before any TLS handshake in 2.9).
  bool greets() const {
    const int fd = connect_loopback(port_);
    if (fd < 0) return false;
    timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    char buffer[8] = {};
    const bool ready = ::recv(fd, buffer, 4, MSG_WAITALL) == 4 && std::string(buffer, 4) == "INFO";
    ::close(fd);
    return ready;
  }

  void start_process() {
    std::vector<std::string> args = {kBinary,
                                     "-a",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "--log",
                                     (dir_ / "nats.log").string()};
    if (options_.jetstream) args.insert(args.end(), {"-js", "-sd", (dir_ / "store").string()});
    if (!options_.config.empty()) {
      std::ofstream(dir_ / "nats.conf") << options_.config;
      args.insert(args.end(), {"-c", (dir_ / "nats.conf").string()});
    }
    if (!options_.user.empty()) {
      args.insert(args.end(), {"--user", options_.user, "--pass", options_.password});
    }
    if (!options_.token.empty()) args.insert(args.end(), {"--auth", options_.token});
    if (!options_.tls_cert.empty()) {
      args.insert(args.end(),
                  {"--tls", "--tlscert", options_.tls_cert, "--tlskey", options_.tls_key});
    }
    pid_ = spawn_server_process(std::move(args), "/dev/null");
  }

  bool wait_ready() {
    return wait_until_ready(pid_, std::chrono::seconds(20), std::chrono::milliseconds(20),
                            [this] { return greets(); });
  }

  void stop_process() { signal_and_reap(pid_, SIGTERM, std::chrono::seconds(10)); }

  Options options_;
  TemporaryDirectory dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
