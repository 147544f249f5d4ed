// bench_sources --kind rabbitmq: Debian's rabbitmq-server (tests/sources/rabbitmq/
// rabbitmq_fixture.h), one durable queue per monitor holding timestamped messages. RabbitMQ has no
// per-request counter a client can read at once, so:
//   - AMQP requests are the TCP data segments the server's socket received, as the kernel counts
//     them (`ss -ti` data_segs_in on the AMQP port): the shared connection stays open and one
//     queue.declare is one segment on loopback;
//   - management API requests are counted at the client side: the monitors' managementUrl is a
//     counting loopback proxy in this process in front of the management port (the kernel's count
//     would miss connections the HTTP server closed in between).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/sources/bench_server.h"
#include "tests/sources/rabbitmq/amqp_test_client.h"
#include "tests/sources/rabbitmq/rabbitmq_fixture.h"

namespace lagpilot::bench {
namespace {

constexpr int kMessages = 10;

// The sum of data_segs_in over the established TCP sockets whose local port is `port`.
int64_t data_segments_received(int port) {
  const std::string command =
      "ss -tinH state established '( sport = :" + std::to_string(port) + " )' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string output;
  char buffer[4096];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) output.append(buffer, n);
  pclose(pipe);
  int64_t total = 0;
  std::istringstream words(output);
  for (std::string word; words >> word;) {
    if (word.rfind("data_segs_in:", 0) == 0) total += std::stoll(word.substr(13));
  }
  return total;
}

// A TCP proxy on 127.0.0.1 in front of `target_port` that counts the HTTP requests going through
// it (request lines, " HTTP/1." in what clients send; GET requests have no body).
class CountingHttpProxy {
 public:
  explicit CountingHttpProxy(int target_port) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("counting proxy: cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~CountingHttpProxy() {
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    std::lock_guard lock(mutex_);
    for (int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    for (auto& pump : pumps_) pump.join();
    for (int fd : sockets_) ::close(fd);
  }
  CountingHttpProxy(const CountingHttpProxy&) = delete;
  CountingHttpProxy& operator=(const CountingHttpProxy&) = delete;

  int port() const { return port_; }
  int64_t requests() const { return requests_.load(); }

 private:
  void accept_loop() {
    while (true) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;  // shut down
      const int server = testkit::connect_loopback(target_port_);
      std::lock_guard lock(mutex_);
      sockets_.push_back(client);
      if (server < 0) {
        ::shutdown(client, SHUT_RDWR);
        continue;
      }
      sockets_.push_back(server);
      pumps_.emplace_back([this, client, server] { pump(client, server, true); });
      pumps_.emplace_back([this, client, server] { pump(server, client, false); });
    }
  }

  void pump(int from, int to, bool count) {
    const std::string marker = " HTTP/1.";
    std::string tail;  // the end of the previous read, for a marker split across reads
    char buffer[16384];
    for (ssize_t n; (n = ::recv(from, buffer, sizeof(buffer), 0)) > 0;) {
      if (count) {
        const std::string text = tail + std::string(buffer, static_cast<size_t>(n));
        for (auto at = text.find(marker); at != std::string::npos; at = text.find(marker, at + 1)) {
          if (at + marker.size() > tail.size()) ++requests_;
        }
        tail = text.substr(text.size() - std::min(text.size(), marker.size() - 1));
      }
      if (::send(to, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    ::shutdown(to, SHUT_WR);
  }

  int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int64_t> requests_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> sockets_;
  std::vector<std::thread> pumps_;
};

class RabbitMqBench final : public BenchServer {
 public:
  explicit RabbitMqBench(int queues) : management_proxy_(server_.management_port()) {
    {
      testkit::AmqpTestClient producer(server_.amqp_port(), testkit::RabbitMqServer::kUser,
                                       server_.password());
      const auto published = std::chrono::system_clock::now() - std::chrono::minutes(1);
      for (int q = 0; q < queues; ++q) {
        producer.declare(queue_name(q));
        producer.publish(queue_name(q), kMessages, published);
      }
    }
    const int port = server_.amqp_port();
    const std::string management = "http://127.0.0.1:" + std::to_string(management_proxy_.port());
    variants_.push_back({"AMQP queue.declare", [port](int queue) {
                           return nlohmann::json{{"rabbitmq",
                                                  {{"host", "127.0.0.1"},
                                                   {"port", port},
                                                   {"queue", queue_name(queue)},
                                                   {"authSecretRef", {{"name", "rabbitmq"}}}}}};
                         }});
    variants_.push_back({"AMQP + management API", [port, management](int queue) {
                           return nlohmann::json{{"rabbitmq",
                                                  {{"host", "127.0.0.1"},
                                                   {"port", port},
                                                   {"queue", queue_name(queue)},
                                                   {"managementUrl", management},
                                                   {"authSecretRef", {{"name", "rabbitmq"}}}}}};
                         }});
  }

  std::string describe() const override {
    return "rabbitmq-server 3.10.8 (Debian), AMQP 127.0.0.1:" +
           std::to_string(server_.amqp_port()) + ", management " + server_.management_url() +
           " (statistics every " + std::to_string(testkit::RabbitMqServer::kStatsIntervalMs) +
           " ms) behind a counting proxy on 127.0.0.1:" + std::to_string(management_proxy_.port());
  }
  std::string backlog() const override {
    return "a durable queue per monitor with " + std::to_string(kMessages) +
           " persistent messages, timestamped a minute ago";
  }
  const std::vector<SpecVariant>& variants() const override { return variants_; }
  std::map<std::string, std::string> credentials() const override {
    return {{"username", testkit::RabbitMqServer::kUser}, {"password", server_.password()}};
  }
  RequestCounts requests() override {
    return {{"AMQP", data_segments_received(server_.amqp_port())},
            {"management HTTP", management_proxy_.requests()}};
  }
  std::string counted_by() const override {
    return "the kernel (AMQP: TCP data segments the server's socket received, ss -ti) and a "
           "counting proxy in front of the management port (HTTP requests); RabbitMQ has no "
           "per-request counter";
  }
  pid_t server_pid() const override { return server_.pid(); }

 private:
  static std::string queue_name(int queue) { return "orders-" + std::to_string(queue); }

  testkit::RabbitMqServer server_;
  CountingHttpProxy management_proxy_;
  std::vector<SpecVariant> variants_;
};

}  // namespace

std::unique_ptr<BenchServer> start_rabbitmq_bench(int queues) {
  return std::make_unique<RabbitMqBench>(queues);
}

}  // namespace lagpilot::bench
