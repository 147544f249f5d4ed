// bench_sources --kind prometheus: Debian's Prometheus (tests/sources/prometheus/
// prometheus_fixture.h) scraping an exporter in this process every second, with a depth and an
// age gauge per queue; requests counted by Prometheus
// (prometheus_http_requests_total{handler="/api/v1/query"} on its own /metrics).
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "bench/sources/bench_server.h"
#include "tests/sources/prometheus/prometheus_fixture.h"

namespace lagpilot::bench {
namespace {

// The body of GET `target` from 127.0.0.1:`port` (HTTP/1.0, read to the end); "" on failure.
std::string http_get_body(int port, const std::string& target) {
  const int fd = testkit::connect_loopback(port);
  if (fd < 0) return "";
  const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  std::string response;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buffer[65536];
    for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
      response.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

class PrometheusBench final : public BenchServer {
 public:
  explicit PrometheusBench(int queues)
      : exposer_("127.0.0.1:0"),
        registry_(std::make_shared<prometheus::Registry>()),
        server_(export_gauges(queues)) {
    // Until the first scrape has every queue.
    const std::string want = "\"" + std::to_string(queues) + "\"";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (http_get_body(server_.port(), "/api/v1/query?query=count%28bench_queue_messages%29")
               .find(want) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("prometheus did not scrape the exporter; log:\n" + server_.log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // waiting for a scrape
    }
    const std::string url = server_.url();
    for (bool with_lag : {false, true}) {
      variants_.push_back(
          {with_lag ? "depthQuery + lagSecondsQuery" : "depthQuery", [url, with_lag](int queue) {
             const std::string q = "{queue=\"q" + std::to_string(queue) + "\"}";
             nlohmann::json spec{{"serverUrl", url},
                                 {"depthQuery", "sum(bench_queue_messages" + q + ")"}};
             if (with_lag) {
               spec["lagSecondsQuery"] = "max(bench_queue_oldest_age_seconds" + q + ")";
             }
             return nlohmann::json{{"prometheus", spec}};
           }});
    }
  }

  std::string describe() const override {
    return "prometheus 2.42 (Debian), " + server_.url() + ", scraping every 1 s";
  }
  std::string backlog() const override {
    return "two gauges per monitor (depth 100 + i, oldest age 5 s) on an exporter in this process";
  }
  const std::vector<SpecVariant>& variants() const override { return variants_; }
  RequestCounts requests() override {
    RequestCounts counts;
    std::istringstream lines(http_get_body(server_.port(), "/metrics"));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("prometheus_http_requests_total{", 0) != 0) continue;
      if (line.find("handler=\"/api/v1/query\"") == std::string::npos) continue;
      counts["/api/v1/query"] += std::stoll(line.substr(line.rfind(' ') + 1));
    }
    return counts;
  }
  std::string counted_by() const override {
    return "Prometheus (prometheus_http_requests_total{handler=\"/api/v1/query\"})";
  }
  // The fixture does not tell its pid: the child of this process running /usr/bin/prometheus.
  pid_t server_pid() const override {
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
      std::istringstream children(testkit::read_text_file(task.path() / "children"));
      for (pid_t child; children >> child;) {
        const std::string comm =
            testkit::read_text_file("/proc/" + std::to_string(child) + "/comm");
        if (comm.rfind("prometheus", 0) == 0) return child;
      }
    }
    return -1;
  }

 private:
  std::vector<std::string> export_gauges(int queues) {
    auto& depth = prometheus::BuildGauge().Name("bench_queue_messages").Register(*registry_);
    auto& age =
        prometheus::BuildGauge().Name("bench_queue_oldest_age_seconds").Register(*registry_);
    for (int q = 0; q < queues; ++q) {
      depth.Add({{"queue", "q" + std::to_string(q)}}).Set(100 + q);
      age.Add({{"queue", "q" + std::to_string(q)}}).Set(5);
    }
    exposer_.RegisterCollectable(registry_);
    return {"127.0.0.1:" + std::to_string(exposer_.GetListeningPorts().at(0))};
  }

  prometheus::Exposer exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
  testkit::PrometheusServer server_;
  std::vector<SpecVariant> variants_;
};

}  // namespace

std::unique_ptr<BenchServer> start_prometheus_bench(int queues) {
  return std::make_unique<PrometheusBench>(queues);
}

}  // namespace lagpilot::bench
