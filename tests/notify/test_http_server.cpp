#include "tests/notify/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lagpilot::testkit {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

// Buffered reads from one connection.
class Reader {
 public:
  explicit Reader(int fd) : fd_(fd) {}
  // Reads until `delimiter`; returns the text before it. False on EOF or error.
  bool read_until(const std::string& delimiter, std::string& out) {
    for (;;) {
      auto pos = buffer_.find(delimiter);
      if (pos != std::string::npos) {
        out = buffer_.substr(0, pos);
        buffer_.erase(0, pos + delimiter.size());
        return true;
      }
      if (!fill()) return false;
    }
  }
  bool read_exact(std::size_t count, std::string& out) {
    while (buffer_.size() < count) {
      if (!fill()) return false;
    }
    out = buffer_.substr(0, count);
    buffer_.erase(0, count);
    return true;
  }

 private:
  bool fill() {
    char chunk[8192];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
  int fd_;
  std::string buffer_;
};

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

TestHttpServer::TestHttpServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, 64) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("bind/listen: " + std::string(std::strerror(errno)));
  }
  socklen_t length = sizeof(address);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  accept_thread_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(connection_threads_);
  }
  for (auto& thread : threads) thread.join();
}

std::string TestHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void TestHttpServer::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

std::vector<HttpRequestRecord> TestHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::size_t TestHttpServer::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

bool TestHttpServer::wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= count; });
}

void TestHttpServer::accept_loop() {
  for (;;) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    std::lock_guard lock(mutex_);
    if (fd < 0 || stopping_) {
      if (fd >= 0) ::close(fd);
      if (stopping_ || (errno != EINTR && errno != ECONNABORTED)) return;
      continue;
    }
    connections_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void TestHttpServer::serve(int fd) {
  Reader reader(fd);
  for (;;) {
    std::string head;
    if (!reader.read_until("\r\n\r\n", head)) break;
    HttpRequestRecord request;
    request.received = std::chrono::steady_clock::now();
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    std::size_t first_space = request_line.find(' ');
    std::size_t second_space = request_line.find(' ', first_space + 1);
    request.method = request_line.substr(0, first_space);
    request.target = request_line.substr(first_space + 1, second_space - first_space - 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        request.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
      }
      pos = end + 2;
    }
    bool ok = true;
    if (auto length = request.headers.find("content-length"); length != request.headers.end()) {
      ok = reader.read_exact(std::stoul(length->second), request.body);
    } else if (lower(request.headers["transfer-encoding"]) == "chunked") {
      for (;;) {
        std::string size_line;
        if (!(ok = reader.read_until("\r\n", size_line))) break;
        std::size_t size = std::stoul(size_line, nullptr, 16);
        std::string chunk;
        if (!(ok = reader.read_exact(size + 2, chunk))) break;
        if (size == 0) break;
        request.body += chunk.substr(0, size);
      }
    }
    if (!ok) break;

    Handler handler;
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
      handler = handler_;
    }
    changed_.notify_all();
    HttpReply reply = handler ? handler(request) : HttpReply{};
    if (reply.hang) {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_; });
      break;
    }
    std::string response = "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) +
                           "\r\nContent-Type: " + reply.content_type +
                           "\r\nContent-Length: " + std::to_string(reply.body.size()) +
                           "\r\nConnection: keep-alive\r\n\r\n" + reply.body;
    if (!send_all(fd, response)) break;
  }
  std::lock_guard lock(mutex_);
  connections_.erase(std::remove(connections_.begin(), connections_.end(), fd), connections_.end());
  ::close(fd);
}

}  // namespace lagpilot::testkit
