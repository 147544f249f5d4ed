#pragma once
// The real servers of `lagpilot-demo --source rabbitmq|redis|nats`: Debian's redis-server,
// rabbitmq-server (with its own epmd) and nats-server (JetStream), started the way the real-server
// test fixtures start them (tests/sources/*/..._fixture.h; util/server_process.h does the
// processes): on free 127.0.0.1 ports, files and log in a directory of the demo's run dir, in a
// process group of their own (a Ctrl-C reaches the demo, which stops them in order), never
// outliving the demo (PR_SET_PDEATHSIG), stopped by pid (SIGTERM, SIGKILL after a grace period).
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "util/result.h"

namespace lagpilot::demo {

class LocalServer {
 public:
  // Each waits until the server answers (redis PING, the RabbitMQ management API, the NATS INFO
  // greeting); errors carry the end of the server's log. Start them from the thread that lives as
  // long as the server should (the demo's main thread).
  static Result<std::unique_ptr<LocalServer>> start_redis(const std::string& dir);
  static Result<std::unique_ptr<LocalServer>> start_rabbitmq(const std::string& dir);
  static Result<std::unique_ptr<LocalServer>> start_nats(const std::string& dir);

  ~LocalServer();  // stop()
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  const std::string& name() const { return name_; }         // "redis-server"
  int port() const { return port_; }                        // the clients' port
  int management_port() const { return management_port_; }  // RabbitMQ's management API; else 0
  pid_t pid() const { return pid_; }
  pid_t helper_pid() const { return helper_pid_; }  // RabbitMQ's epmd; else -1
  const std::string& log_path() const { return log_path_; }
  // Stops the server by pid, then what it needed (RabbitMQ's epmd). Idempotent.
  void stop();

 private:
  LocalServer() = default;

  std::string name_;
  std::string log_path_;
  int port_ = 0;
  int management_port_ = 0;
  pid_t pid_ = -1;
  pid_t helper_pid_ = -1;  // RabbitMQ's epmd
  int stop_grace_seconds_ = 10;
};

}  // namespace lagpilot::demo
