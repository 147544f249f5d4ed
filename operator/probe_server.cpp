#include "operator/probe_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace lagpilot::operator_main {

std::optional<std::pair<std::string, int>> parse_bind_address(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  try {
    std::size_t used = 0;
    int port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1 || port < 0 || port > 65535) return std::nullopt;
    return std::make_pair(host, port);
  } catch (...) {
    return std::nullopt;
  }
}

ProbeServer::ProbeServer(std::function<bool()> healthy, std::function<bool()> ready)
    : ProbeServer(
          [healthy = std::move(healthy)]() -> std::optional<std::string> {
            if (healthy()) return std::nullopt;
            return std::string();  // no reason to give
          },
          std::move(ready)) {}

ProbeServer::ProbeServer(std::function<std::optional<std::string>()> health_problem,
                         std::function<bool()> ready)
    : health_problem_(std::move(health_problem)), ready_(std::move(ready)) {}

ProbeServer::~ProbeServer() { stop(); }

Status ProbeServer::start(const std::string& bind_address) {
  auto parsed = parse_bind_address(bind_address);
  if (!parsed)
    return Error{"InvalidFlag",
                 "--health-probe-bind-address: \"" + bind_address + "\" is not host:port"};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(parsed->second));
  if (::inet_pton(AF_INET, parsed->first.c_str(), &address.sin_addr) != 1) {
    return Error{"InvalidFlag",
                 "--health-probe-bind-address: \"" + parsed->first + "\" is not an IPv4 address"};
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    std::string reason = std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return Error{"BindFailed", "probe server on " + bind_address + ": " + reason};
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  host_ = parsed->first;
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
  return Ok{};
}

void ProbeServer::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void ProbeServer::serve() {
  while (!stopping_) {
    pollfd waiting{listen_fd_, POLLIN, 0};
    if (::poll(&waiting, 1, 200) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval timeout{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char buffer[2048];
    ssize_t received = ::recv(client, buffer, sizeof buffer - 1, 0);
    std::string request(buffer, received > 0 ? static_cast<std::size_t>(received) : 0);
    std::string path;
    if (request.rfind("GET ", 0) == 0) path = request.substr(4, request.find(' ', 4) - 4);
    int code = 404;
    std::string body = "not found\n";
    if (path == "/healthz" || path == "/livez") {
      auto problem = health_problem_();
      code = problem ? 500 : 200;
      body = !problem ? "ok\n" : problem->empty() ? "unhealthy\n" : "unhealthy: " + *problem + "\n";
    } else if (path == "/readyz") {
      bool ok = ready_();
      code = ok ? 200 : 503;
      body = ok ? "ok\n" : "not ready\n";
    }
    std::string status = code == 200   ? "200 OK"
                         : code == 404 ? "404 Not Found"
                         : code == 503 ? "503 Service Unavailable"
                                       : "500 Internal Server Error";
    std::string response =
        "HTTP/1.1 " + status +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
    ::close(client);
  }
}

namespace {

std::string whole_seconds(Duration d) {
  return std::to_string(
             static_cast<long long>(std::floor(std::chrono::duration<double>(d).count()))) +
         " s";
}

}  // namespace

Watchdog::Watchdog(Clock& clock, Duration stall_limit, Duration tick)
    : clock_(clock), stall_limit_(stall_limit), tick_(std::min(tick, stall_limit / 4)) {}

Watchdog::~Watchdog() { stop(); }

void Watchdog::add_check(std::string name, Check check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

void Watchdog::watch(const std::string& name, Duration limit) {
  std::lock_guard lock(mutex_);
  heartbeats_[name] = Heartbeat{clock_.now(), limit};
}

void Watchdog::beat(const std::string& name) {
  WallTime now = clock_.now();
  std::lock_guard lock(mutex_);
  auto it = heartbeats_.find(name);
  if (it != heartbeats_.end()) it->second.last = now;
}

void Watchdog::unwatch(const std::string& name) {
  std::lock_guard lock(mutex_);
  heartbeats_.erase(name);
}

void Watchdog::run_checks() {
  for (const auto& [name, check] : checks_) {
    {
      std::lock_guard lock(mutex_);
      running_check_ = name;
    }
    std::optional<std::string> problem;
    try {
      problem = check();
    } catch (const std::exception& e) {
      problem = std::string("check threw: ") + e.what();
    }
    std::lock_guard lock(mutex_);
    if (problem) {
      failing_[name] = *problem;
    } else {
      failing_.erase(name);
    }
  }
  WallTime now = clock_.now();
  std::lock_guard lock(mutex_);
  running_check_.clear();
  last_round_ = now;
}

void Watchdog::start() {
  {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    stopped_ = false;
    last_round_ = clock_.now();  // the first round is due now, not overdue
  }
  thread_ = std::thread([this] {
    while (true) {
      run_checks();
      std::unique_lock lock(mutex_);
      if (stopping_) return;
      clock_.wait_until(lock, stop_cv_,
                        clock_.now() + std::chrono::duration_cast<WallTime::duration>(tick_),
                        [this] { return stopping_; });
      if (stopping_) return;
    }
  });
}

void Watchdog::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  stopped_ = true;
  last_round_.reset();  // stopped on purpose: not a stall
}

std::optional<std::string> Watchdog::problem() const {
  WallTime now = clock_.now();
  std::lock_guard lock(mutex_);
  std::vector<std::string> reasons;
  if (!last_round_ && !stopped_) {
    reasons.push_back("health checks are not running");  // nothing vouches for the loops
  } else if (last_round_ && now - *last_round_ > stall_limit_) {
    reasons.push_back("health checks have not completed for " + whole_seconds(now - *last_round_) +
                      " (limit " + whole_seconds(stall_limit_) + ")" +
                      (running_check_.empty() ? "" : ", stuck in " + running_check_));
  }
  for (const auto& [name, heartbeat] : heartbeats_) {
    if (now - heartbeat.last > heartbeat.limit) {
      reasons.push_back("loop " + name + " has not turned for " +
                        whole_seconds(now - heartbeat.last) + " (limit " +
                        whole_seconds(heartbeat.limit) + ")");
    }
  }
  for (const auto& [name, problem] : failing_) reasons.push_back(name + ": " + problem);
  if (reasons.empty()) return std::nullopt;
  std::string joined;
  for (const auto& reason : reasons) joined += (joined.empty() ? "" : "; ") + reason;
  return joined;
}

Watchdog::Check work_queue_check(const kube::WorkQueue& queue, Clock& clock, Duration limit) {
  return [&queue, &clock, limit]() -> std::optional<std::string> {
    if (queue.shutting_down()) return std::nullopt;
    auto oldest = queue.oldest_waiting();
    if (!oldest) return std::nullopt;
    auto waited = std::chrono::duration_cast<Duration>(clock.now() - *oldest);
    if (waited <= limit) return std::nullopt;
    return "a key has waited " + whole_seconds(waited) + " for a worker (limit " +
           whole_seconds(limit) + "): the workers are stuck or far behind";
  };
}

}  // namespace lagpilot::operator_main
