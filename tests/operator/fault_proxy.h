#pragma once
// A fault-injecting TCP proxy for tests: listens on 127.0.0.1:<ephemeral>, forwards every
// connection byte for byte to an upstream port (TLS passes through untouched, so a client that
// verifies the upstream's certificate for 127.0.0.1 still does), and on request cuts the path:
//
//   FaultProxy proxy(apiserver_port);
//   ... point a client at 127.0.0.1:proxy.port() ...
//   proxy.cut(FaultProxy::Cut::kBlackhole);  // a partition: open connections are closed, new ones
//                                            // are accepted and then never answered
//   proxy.heal();                            // forwards new connections again
//
// One thread, poll(2) over every socket; bytes that arrive while cut are dropped, never delivered
// later.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lagpilot::testkit {

class FaultProxy {
 public:
  enum class Cut {
    kRefuse,     // new connections are closed as soon as they are accepted
    kBlackhole,  // new connections stay open and silent; what the client sends is dropped
  };

  explicit FaultProxy(int upstream_port) : upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener_ < 0) throw std::runtime_error("proxy socket: " + std::string(strerror(errno)));
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address = loopback(0);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 64) != 0) {
      ::close(listener_);
      throw std::runtime_error("proxy bind/listen: " + std::string(strerror(errno)));
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    set_nonblocking(listener_);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
      ::close(listener_);
      throw std::runtime_error("proxy pipe: " + std::string(strerror(errno)));
    }
    thread_ = std::thread([this] { loop(); });
  }

  ~FaultProxy() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake();
    thread_.join();
    for (auto& connection : connections_) close_connection(connection);
    ::close(listener_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }

  // Closes every open connection and treats new ones as `how` says. Returns once the proxy
  // thread has done so: nothing is forwarded after this returns.
  void cut(Cut how) { command(how == Cut::kRefuse ? Mode::kRefuse : Mode::kBlackhole); }
  // Forwards new connections again; connections accepted while cut are closed.
  void heal() { command(Mode::kForward); }

  int accepted() const { return accepted_.load(); }
  int forwarded_bytes() const { return forwarded_bytes_.load(); }

 private:
  enum class Mode { kForward, kRefuse, kBlackhole };

  struct Connection {
    int client = -1;
    int upstream = -1;  // -1 when black-holed
    std::string to_client, to_upstream;
    bool closed = false;
  };

  static sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
  }

  static void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

  static void close_connection(Connection& connection) {
    if (connection.client >= 0) ::close(connection.client);
    if (connection.upstream >= 0) ::close(connection.upstream);
    connection.client = connection.upstream = -1;
    connection.closed = true;
  }

  void wake() {
    char byte = 1;
    (void)!::write(wake_[1], &byte, 1);
  }

  void command(Mode mode) {
    std::unique_lock lock(mutex_);
    requested_ = mode;
    std::uint64_t ticket = ++requested_generation_;
    lock.unlock();
    wake();
    lock.lock();
    applied_cv_.wait(lock, [&] { return applied_generation_ >= ticket; });
  }

  // Sends what is pending to `fd`; false when the socket failed.
  static bool flush(int fd, std::string& pending) {
    while (!pending.empty()) {
      ssize_t n = ::send(fd, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      pending.erase(0, static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads what `from` has; false on end of stream or error.
  bool pump(int from, int to, std::string& pending, bool discard) {
    char buffer[16384];
    ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (discard) return true;
    pending.append(buffer, static_cast<std::size_t>(n));
    forwarded_bytes_ += static_cast<int>(n);
    return flush(to, pending);
  }

  void accept_new() {
    while (true) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (client < 0) return;
      ++accepted_;
      if (mode_ == Mode::kRefuse) {
        ::close(client);
        continue;
      }
      Connection connection;
      connection.client = client;
      if (mode_ == Mode::kForward) {
        int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address = loopback(upstream_port_);
        // A blocking connect on loopback is immediate (or refused at once).
        if (upstream < 0 ||
            ::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
          if (upstream >= 0) ::close(upstream);
          ::close(client);
          continue;
        }
        set_nonblocking(upstream);
        connection.upstream = upstream;
      }
      connections_.push_back(std::move(connection));
    }
  }

  void apply_commands() {
    std::lock_guard lock(mutex_);
    if (applied_generation_ == requested_generation_) return;
    Mode previous = mode_;
    mode_ = requested_;
    // Cutting ends every open connection; healing ends the black-holed ones.
    for (auto& connection : connections_) {
      if (mode_ != Mode::kForward || (previous != Mode::kForward && connection.upstream < 0))
        close_connection(connection);
    }
    connections_.remove_if([](const Connection& c) { return c.closed; });
    applied_generation_ = requested_generation_;
    applied_cv_.notify_all();
  }

  void loop() {
    while (true) {
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
      }
      apply_commands();
      std::vector<pollfd> fds;
      std::vector<Connection*> owners;  // per entry in fds past the first two
      fds.push_back({listener_, POLLIN, 0});
      fds.push_back({wake_[0], POLLIN, 0});
      for (auto& connection : connections_) {
        short client_events = 0;
        if (connection.to_upstream.empty()) client_events |= POLLIN;
        if (!connection.to_client.empty()) client_events |= POLLOUT;
        fds.push_back({connection.client, client_events, 0});
        owners.push_back(&connection);
        if (connection.upstream >= 0) {
          short upstream_events = 0;
          if (connection.to_client.empty()) upstream_events |= POLLIN;
          if (!connection.to_upstream.empty()) upstream_events |= POLLOUT;
          fds.push_back({connection.upstream, upstream_events, 0});
          owners.push_back(&connection);
        }
      }
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
      if (fds[1].revents & POLLIN) {
        char drain[64];
        while (::read(wake_[0], drain, sizeof drain) > 0) {
        }
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        Connection& connection = *owners[i - 2];
        if (connection.closed || fds[i].revents == 0) continue;
        bool from_client = fds[i].fd == connection.client;
        bool ok = true;
        if (fds[i].revents & POLLOUT) {
          ok = from_client ? flush(connection.client, connection.to_client)
                           : flush(connection.upstream, connection.to_upstream);
        }
        if (ok && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
          ok = from_client
                   ? pump(connection.client, connection.upstream, connection.to_upstream,
                          connection.upstream < 0)
                   : pump(connection.upstream, connection.client, connection.to_client, false);
        }
        if (!ok) close_connection(connection);
      }
      connections_.remove_if([](const Connection& c) { return c.closed; });
      if (fds[0].revents & POLLIN) accept_new();
    }
  }

  int upstream_port_;
  int port_ = 0;
  int listener_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::list<Connection> connections_;  // the proxy thread's alone
  Mode mode_ = Mode::kForward;         // the proxy thread's alone

  std::mutex mutex_;
  std::condition_variable applied_cv_;
  bool stopping_ = false;
  Mode requested_ = Mode::kForward;
  std::uint64_t requested_generation_ = 0;
  std::uint64_t applied_generation_ = 0;

  std::atomic<int> accepted_{0};
  std::atomic<int> forwarded_bytes_{0};
};

}  // namespace lagpilot::testkit
