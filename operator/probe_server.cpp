#include "operator/probe_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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
    : healthy_(std::move(healthy)), ready_(std::move(ready)) {}

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
      bool ok = healthy_();
      code = ok ? 200 : 500;
      body = ok ? "ok\n" : "unhealthy\n";
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

}  // namespace lagpilot::operator_main
