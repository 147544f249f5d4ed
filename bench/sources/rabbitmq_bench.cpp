// bench_sources --kind rabbitmq: Debian's rabbitmq-server (tests/sources/rabbitmq/
// rabbitmq_fixture.h), one durable queue per monitor holding timestamped messages. RabbitMQ counts
// no AMQP methods or management HTTP requests per connection that a client can read at once, so
// requests are the TCP data segments the server's sockets received, as the kernel counts them
// (`ss -ti` data_segs_in on the AMQP and management ports): one AMQP method or one HTTP request
// is one segment on loopback.
#include <chrono>
#include <cstdio>
#include <sstream>

#include "bench/sources/bench_server.h"
#include "tests/sources/rabbitmq/amqp_test_client.h"
#include "tests/sources/rabbitmq/rabbitmq_fixture.h"

namespace lagpilot::bench {
namespace {

constexpr int kMessages = 10;

// The sum of data_segs_in over the established TCP sockets whose local port is `port`.
int64_t data_segments_received(int port) {
  const std::string command = "ss -tinH state established '( sport = :" + std::to_string(port) +
                              " )' 2>/dev/null";
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

class RabbitMqBench final : public BenchServer {
 public:
  explicit RabbitMqBench(int queues) {
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
    const std::string management = server_.management_url();
    variants_.push_back({"AMQP queue.declare", [port](int queue) {
                           return nlohmann::json{{"rabbitmq",
                                                  {{"host", "127.0.0.1"},
                                                   {"port", port},
                                                   {"queue", queue_name(queue)},
                                                   {"authSecretRef", {{"name", "rabbitmq"}}}}}};
                         }});
    variants_.push_back(
        {"AMQP + management API", [port, management](int queue) {
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
           " ms)";
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
            {"management HTTP", data_segments_received(server_.management_port())}};
  }
  std::string counted_by() const override {
    return "the kernel: TCP data segments received by the server's sockets (ss -ti "
           "data_segs_in); RabbitMQ has no per-request counter";
  }
  pid_t server_pid() const override { return server_.pid(); }

 private:
  static std::string queue_name(int queue) { return "orders-" + std::to_string(queue); }

  testkit::RabbitMqServer server_;
  std::vector<SpecVariant> variants_;
};

}  // namespace

std::unique_ptr<BenchServer> start_rabbitmq_bench(int queues) {
  return std::make_unique<RabbitMqBench>(queues);
}

}  // namespace lagpilot::bench
