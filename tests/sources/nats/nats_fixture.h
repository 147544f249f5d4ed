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
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

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
  explicit NatsServer(Options options) : options_(std::move(options)) {
    if (access(kBinary, X_OK) != 0) {
      throw std::runtime_error(std::string(kBinary) +
                               " not found: install Debian's nats-server (scripts/install-deps)");
    }
    char dir_template[] = "/tmp/lagpilot-nats-XXXXXX";
    if (!mkdtemp(dir_template)) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    // The port is picked free and released before the server binds it: retry on the rare race.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      start_process();
      if (wait_ready()) return;
      stop_process();
    }
    std::string log = this->log();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("nats-server did not become ready; log:\n" + log);
  }

  ~NatsServer() {
    stop_process();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& scheme = "nats", const std::string& host = "127.0.0.1") const {
    return scheme + "://" + host + ":" + std::to_string(port_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  std::string log() const {
    std::ifstream in(dir_ / "nats.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // SIGKILL now (a crashed server); the store stays for restart().
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  // SIGSTOP / SIGCONT: a server that holds its connections and answers nothing.
  // freeze() returns once the kernel reports every thread of the server stopped.
  void freeze() {
    ::kill(pid_, SIGSTOP);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!stopped() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling the process state
    }
  }
  void thaw() { ::kill(pid_, SIGCONT); }
  // Starts the server again on the same port with the same store (streams and consumers survive).
  void restart() {
    stop_process();
    start_process();
    if (!wait_ready()) throw std::runtime_error("nats-server did not restart; log:\n" + log());
  }

 private:
  // Whether every thread's state in /proc/PID/task/*/stat is T (stopped).
  bool stopped() const {
    std::error_code error;
    std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid_) + "/task", error);
    if (error) return false;
    for (const auto& task : tasks) {
      std::ifstream in(task.path() / "stat");
      std::string line;
      std::getline(in, line);
      const auto close = line.rfind(')');
      if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'T') {
        return false;
      }
    }
    return true;
  }

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

  // The server greets every client with an INFO line (before any TLS handshake in 2.9).
  bool greets() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port_));
    bool ready = false;
    timeval timeout{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
      char buffer[8] = {};
      ready = ::recv(fd, buffer, 4, MSG_WAITALL) == 4 && std::string(buffer, 4) == "INFO";
    }
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
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      if (getppid() != parent) _exit(1);
      int null_fd = open("/dev/null", O_WRONLY);
      if (null_fd >= 0) {
        dup2(null_fd, 1);
        dup2(null_fd, 2);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;  // exited (e.g. the port was taken)
      }
      if (greets()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a starting server
    }
    return false;
  }

  void stop_process() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);  // a frozen server cannot handle SIGTERM
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  Options options_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
