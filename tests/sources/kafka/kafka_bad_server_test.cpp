// Bootstrap servers that are not a working Kafka: each poll fails within the poll timeout with one
// SourceUnreachable message that names the server, and nothing hangs. (A wrong SASL password and
// an unknown CA against the real broker: kafka_broker_test.cpp.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sources/kafka/kafka_source.h"
#include "sources/queue_source.h"
#include "tests/sources/kafka/kafka_source_test_support.h"

namespace lagpilot {
namespace {

using std::chrono::milliseconds;
using testkit::elapsed_seconds;
using testkit::kafka_spec;
using testkit::kT0;
using testkit::make_source;

// A TCP server on 127.0.0.1 (a free port) that accepts every connection and then either never
// answers or answers each one with `reply` and closes it.
class LoopbackServer {
 public:
  explicit LoopbackServer(std::string reply = "") : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 64) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (int fd : accepted_) ::close(fd);
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 50) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      ++connections_;
      if (reply_.empty()) {
        accepted_.push_back(client);  // held open, never read or answered
      } else {
        (void)!::write(client, reply_.data(), reply_.size());
        ::close(client);
      }
    }
  }

  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<int> accepted_;
  std::thread acceptor_;
};

// Polls a source for `bootstrap` three times; each must fail within the poll timeout (plus
// scheduling slack) with SourceUnreachable naming the server. Returns the first message.
std::string expect_prompt_unreachable(const std::string& bootstrap) {
  KafkaOptions options;
  options.poll_timeout = milliseconds(800);
  SourceContext context(options);
  auto source = make_source(context, kafka_spec(bootstrap, "orders", "order-processor"));
  if (!source) return "";
  std::string first;
  for (int poll = 0; poll < 3; ++poll) {
    const auto started = std::chrono::steady_clock::now();
    auto result = source->poll(kT0);
    EXPECT_LT(elapsed_seconds(started), 3.0) << "poll " << poll << " hung past the poll timeout";
    if (result.ok()) {
      ADD_FAILURE() << "poll " << poll << " succeeded against " << bootstrap;
      continue;
    }
    EXPECT_EQ(result.error().code, "SourceUnreachable") << result.error().message;
    EXPECT_NE(result.error().message.find(bootstrap), std::string::npos) << result.error().message;
    // One message: the same cause reads the same way at every poll (a stable condition).
    if (poll == 0) first = result.error().message;
  }
  return first;
}

TEST(KafkaSourceBadServer, AServerThatAcceptsAndNeverAnswersFailsWithinThePollTimeout) {
  LoopbackServer silent;
  const std::string message = expect_prompt_unreachable(silent.address());
  EXPECT_GT(silent.connections(), 0) << "librdkafka never connected";
  EXPECT_NE(message.find("no broker answered within the poll timeout"), std::string::npos)
      << message;
  RecordProperty("message", message);
}

TEST(KafkaSourceBadServer, AServerThatDoesNotSpeakKafkaFailsWithinThePollTimeout) {
  LoopbackServer http("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  const std::string message = expect_prompt_unreachable(http.address());
  EXPECT_GT(http.connections(), 0) << "librdkafka never connected";
  EXPECT_NE(message.find("does not answer in the Kafka protocol"), std::string::npos) << message;
  RecordProperty("message", message);
}

}  // namespace
}  // namespace lagpilot
