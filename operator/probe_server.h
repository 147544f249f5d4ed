#pragma once
// /healthz and /readyz on their own port: a minimal HTTP/1.1 server (GET only, one thread), so
// the probes work even when the operator's other machinery is stuck.
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "util/result.h"

namespace lagpilot::operator_main {

class ProbeServer {
 public:
  // `healthy`: the process is alive and its loops turn. `ready`: caches synced.
  ProbeServer(std::function<bool()> healthy, std::function<bool()> ready);
  ~ProbeServer();

  // `bind_address` like ":8081", "127.0.0.1:0" or "0.0.0.0:8081".
  Status start(const std::string& bind_address);
  void stop();
  int port() const { return port_; }

 private:
  void serve();

  std::function<bool()> healthy_;
  std::function<bool()> ready_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Splits ":8080" / "host:port" into host ("0.0.0.0" when empty) and port; nullopt when malformed.
std::optional<std::pair<std::string, int>> parse_bind_address(const std::string& address);

}  // namespace lagpilot::operator_main
