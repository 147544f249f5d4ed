#include "tools/demo/demo_servers.h"

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "util/server_process.h"

namespace lagpilot::demo {
namespace {

namespace ls = lagpilot::local_server;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr const char* kRabbitMqServer =
    "/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/sbin/rabbitmq-server";
constexpr const char* kEpmd = "/usr/bin/epmd";
constexpr const char* kNatsServer = "/usr/sbin/nats-server";

Status need_binary(const char* path, const std::string& package) {
  if (::access(path, X_OK) == 0) return Ok{};
  return Error{"ServerMissing", std::string(path) + " not found: install Debian's " + package +
                                    " (scripts/install-deps installs it)"};
}

// The last lines of a server's log, for an error message.
std::string log_tail(const std::string& path) {
  const std::string text = ls::read_text_file(path);
  const auto from = text.size() > 1500 ? text.size() - 1500 : 0;
  return text.empty() ? "(log " + path + " is empty)" : "log " + path + ":\n" + text.substr(from);
}

// A loopback Redis PING without a client library: "+PONG".
bool redis_answers_ping(int port) {
  const int fd = ls::connect_loopback(port);
  if (fd < 0) return false;
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string ping = "PING\r\n";
  char reply[8] = {};
  const bool ok =
      ::send(fd, ping.data(), ping.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ping.size()) &&
      ::recv(fd, reply, 5, MSG_WAITALL) == 5 && std::string(reply, 5) == "+PONG";
  ::close(fd);
  return ok;
}

// nats-server greets every client with an INFO line.
bool nats_greets(int port) {
  const int fd = ls::connect_loopback(port);
  if (fd < 0) return false;
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char greeting[8] = {};
  const bool ok = ::recv(fd, greeting, 4, MSG_WAITALL) == 4 && std::string(greeting, 4) == "INFO";
  ::close(fd);
  return ok;
}

}  // namespace

LocalServer::~LocalServer() { stop(); }

void LocalServer::stop() {
  ls::signal_and_reap(pid_, SIGTERM, seconds(stop_grace_seconds_));
  ls::signal_and_reap(helper_pid_, SIGTERM, seconds(5));
}

Result<std::unique_ptr<LocalServer>> LocalServer::start_redis(const std::string& dir) {
  if (auto found = need_binary(kRedisServer, "redis-server"); !found) return found.error();
  std::unique_ptr<LocalServer> server(new LocalServer());
  server->name_ = "redis-server";
  server->log_path_ = dir + "/redis.log";
  try {
    std::filesystem::create_directories(dir);
    // The port is picked free and released before Redis binds it: retry on the rare race.
    for (int attempt = 0; attempt < 3; ++attempt) {
      server->port_ = ls::free_loopback_port();
      server->pid_ = ls::spawn_server_process(
          {kRedisServer, "--port", std::to_string(server->port_), "--bind", "127.0.0.1", "--save",
           "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"},
          server->log_path_, {}, /*own_process_group=*/true);
      const int port = server->port_;
      if (ls::wait_until_ready(server->pid_, seconds(20), milliseconds(20),
                               [port] { return redis_answers_ping(port); })) {
        return server;
      }
      server->stop();
    }
  } catch (const std::exception& e) {
    return Error{"ServerStart", std::string("redis-server: ") + e.what()};
  }
  return Error{"ServerStart",
               "redis-server did not answer PING within 20 s; " + log_tail(server->log_path_)};
}

Result<std::unique_ptr<LocalServer>> LocalServer::start_nats(const std::string& dir) {
  if (auto found = need_binary(kNatsServer, "nats-server"); !found) return found.error();
  std::unique_ptr<LocalServer> server(new LocalServer());
  server->name_ = "nats-server";
  server->log_path_ = dir + "/nats.log";
  try {
    std::filesystem::create_directories(dir);
    for (int attempt = 0; attempt < 3; ++attempt) {
      server->port_ = ls::free_loopback_port();
      server->pid_ = ls::spawn_server_process(
          {kNatsServer, "-a", "127.0.0.1", "-p", std::to_string(server->port_), "--log",
           server->log_path_, "-js", "-sd", dir + "/store"},
          dir + "/nats.out", {}, /*own_process_group=*/true);
      const int port = server->port_;
      if (ls::wait_until_ready(server->pid_, seconds(20), milliseconds(20),
                               [port] { return nats_greets(port); })) {
        return server;
      }
      server->stop();
    }
  } catch (const std::exception& e) {
    return Error{"ServerStart", std::string("nats-server: ") + e.what()};
  }
  return Error{"ServerStart",
               "nats-server did not greet within 20 s; " + log_tail(server->log_path_)};
}

// As tests/sources/rabbitmq/rabbitmq_fixture.h, without TLS and with the default guest user
// (which RabbitMQ accepts from loopback only, and so does the operator's source without an
// authSecretRef): its own epmd on a free port, a unique node name, mnesia, logs and config in
// `dir`, the management plugin enabled by its file, statistics every second.
Result<std::unique_ptr<LocalServer>> LocalServer::start_rabbitmq(const std::string& dir) {
  if (auto found = need_binary(kRabbitMqServer, "rabbitmq-server"); !found) return found.error();
  if (auto found = need_binary(kEpmd, "erlang-base (epmd)"); !found) return found.error();
  std::unique_ptr<LocalServer> server(new LocalServer());
  server->name_ = "rabbitmq-server";
  server->log_path_ = dir + "/rabbitmq.log";
  server->stop_grace_seconds_ = 20;
  try {
    std::filesystem::create_directories(dir);
    server->port_ = ls::free_loopback_port();
    server->management_port_ = ls::free_loopback_port();
    const int dist_port = ls::free_loopback_port();
    const int epmd_port = ls::free_loopback_port();
    std::ofstream(dir + "/rabbitmq.conf")
        << "listeners.tcp.default = 127.0.0.1:" << server->port_ << "\n"
        << "management.tcp.port = " << server->management_port_ << "\n"
        << "management.tcp.ip = 127.0.0.1\n"
        << "collect_statistics_interval = 1000\n";
    std::ofstream(dir + "/enabled_plugins") << "[rabbitmq_management].\n";

    server->helper_pid_ = ls::spawn_server_process(
        {kEpmd, "-port", std::to_string(epmd_port), "-address", "127.0.0.1"}, dir + "/epmd.log", {},
        /*own_process_group=*/true);
    if (!ls::wait_until_ready(server->helper_pid_, seconds(10), milliseconds(20),
                              [epmd_port] { return ls::loopback_port_accepts(epmd_port); })) {
      return Error{"ServerStart",
                   "epmd did not listen within 10 s; " + log_tail(dir + "/epmd.log")};
    }
    const std::string node = "lagpilot-demo-" + std::to_string(::getpid());
    server->pid_ = ls::spawn_server_process(
        {kRabbitMqServer}, server->log_path_,
        {"HOME=" + dir, "RABBITMQ_NODENAME=" + node + "@localhost",
         "RABBITMQ_MNESIA_BASE=" + dir + "/mnesia", "RABBITMQ_LOG_BASE=" + dir + "/log",
         "RABBITMQ_CONFIG_FILE=" + dir + "/rabbitmq",
         "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir + "/enabled_plugins",
         "RABBITMQ_PID_FILE=" + dir + "/rabbitmq.pid",
         "RABBITMQ_DIST_PORT=" + std::to_string(dist_port),
         "ERL_EPMD_PORT=" + std::to_string(epmd_port), "RABBITMQ_LOGS=-",
         // exec erl directly (no signal-forwarding shell): the pid is the node's
         "RUNNING_UNDER_SYSTEMD=1",
         "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"},
        /*own_process_group=*/true);
    // guest:guest in base64.
    const std::string overview =
        "GET /api/overview HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic "
        "Z3Vlc3Q6Z3Vlc3Q=\r\n\r\n";
    const int amqp = server->port_;
    const int management = server->management_port_;
    if (!ls::wait_until_ready(server->pid_, seconds(120), milliseconds(100), [&] {
          return ls::loopback_port_accepts(amqp) &&
                 ls::loopback_http_answers_200(management, overview);
        })) {
      const std::string tail = log_tail(server->log_path_);
      server->stop();
      return Error{"ServerStart",
                   "rabbitmq-server's management API did not answer within 120 s; " + tail};
    }
  } catch (const std::exception& e) {
    return Error{"ServerStart", std::string("rabbitmq-server: ") + e.what()};
  }
  return server;
}

}  // namespace lagpilot::demo
