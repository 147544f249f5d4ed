// spec.source.prometheus against Debian's real Prometheus server on loopback (the tests' fixture),
// scraping an exporter in this process with one depth and one age gauge per queue. Prints:
//   - one poll's latency p50/p99, depthQuery only and with lagSecondsQuery;
//   - requests per poll, counted by Prometheus itself (prometheus_http_requests_total of
//     /api/v1/query, read before and after);
//   - memory per monitor: RSS growth over creating N sources of one server (one shared client);
//   - N monitors on one server: the time to poll every one of them once, on W worker threads, the
//     slowest poll, and how many rounds fit in a 10 s poll interval.
//
//   bench_prometheus_queue [monitors=1000] [workers=4] [rounds=3]
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "sources/prometheus/prometheus_queue_source.h"
#include "tests/sources/prometheus/prometheus_fixture.h"

namespace {

using namespace lagpilot;
using Steady = std::chrono::steady_clock;
using json = nlohmann::json;

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

json spec_for(const std::string& url, int queue, bool with_lag) {
  const std::string q = "q" + std::to_string(queue);
  json spec{{"serverUrl", url},
            {"depthQuery", "sum(bench_queue_messages{queue=\"" + q + "\"})"},
            {"timeoutSeconds", 5}};
  if (with_lag) {
    spec["lagSecondsQuery"] = "max(bench_queue_oldest_age_seconds{queue=\"" + q + "\"})";
  }
  return spec;
}

// Prometheus' own count of answered instant queries.
double query_requests(PrometheusQueueKind& kind, const std::string& url) {
  auto counter = kind.create(
      json{{"serverUrl", url},
           {"depthQuery",
            "sum(prometheus_http_requests_total{handler=\"/api/v1/query\", job=\"self\"})"}},
      {});
  if (!counter.ok()) return -1;
  // The counter is scraped every second: wait for a scrape after the requests to count.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // a bench, not a test
  auto value = (*counter)->poll(std::chrono::system_clock::now());
  return value.ok() ? static_cast<double>(value->queue_depth) : -1;
}

struct Latency {
  double p50_ms, p99_ms;
};

Latency poll_latency(QueueSource& source, int polls) {
  std::vector<double> ms;
  for (int i = 0; i < polls; ++i) {
    const auto started = Steady::now();
    auto result = source.poll(std::chrono::system_clock::now());
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - started).count());
    if (!result.ok()) std::fprintf(stderr, "poll failed: %s\n", result.error().message.c_str());
  }
  return {percentile(ms, 0.5), percentile(ms, 0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  const int monitors = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int workers = argc > 2 ? std::atoi(argv[2]) : 4;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  spdlog::set_level(spdlog::level::warn);

  prometheus::Exposer exposer("127.0.0.1:0");
  auto registry = std::make_shared<prometheus::Registry>();
  auto& depth = prometheus::BuildGauge().Name("bench_queue_messages").Register(*registry);
  auto& age = prometheus::BuildGauge().Name("bench_queue_oldest_age_seconds").Register(*registry);
  for (int q = 0; q < monitors; ++q) {
    depth.Add({{"queue", "q" + std::to_string(q)}}).Set(100 + q);
    age.Add({{"queue", "q" + std::to_string(q)}}).Set(5);
  }
  exposer.RegisterCollectable(registry);
  const std::string exporter = "127.0.0.1:" + std::to_string(exposer.GetListeningPorts().at(0));
  testkit::PrometheusServer server({exporter});
  const std::string url = server.url();
  {
    // Prometheus only scrapes the targets in its config; add itself for the request counter.
    std::ofstream config(server.dir() / "prometheus.yml", std::ios::app);
    config << "  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:"
           << server.port() << "']\n";
  }
  server.restart();

  PrometheusQueueKind kind;
  // Until both the exporter and Prometheus itself have been scraped.
  auto last_queue = kind.create(spec_for(url, monitors - 1, false), {});
  auto self = kind.create(json{{"serverUrl", url}, {"depthQuery", "sum(up{job=\"self\"})"}}, {});
  for (int i = 0; i < 100; ++i) {
    const auto now = std::chrono::system_clock::now();
    if ((*last_queue)->poll(now).ok() && (*self)->poll(now).ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  std::printf("Prometheus %s, %d queues exported, %d workers\n", url.c_str(), monitors, workers);
  std::printf("%-40s %9s %9s %10s\n", "poll", "p50 ms", "p99 ms", "req/poll");
  for (bool with_lag : {false, true}) {
    auto source = kind.create(spec_for(url, 0, with_lag), {});
    if (!source.ok()) {
      std::fprintf(stderr, "%s\n", source.error().message.c_str());
      return 1;
    }
    (void)(*source)->poll(std::chrono::system_clock::now());  // connect
    const int polls = 200;
    const double before = query_requests(kind, url);
    const Latency latency = poll_latency(**source, polls);
    const double after = query_requests(kind, url);
    // query_requests' own query counts once per call.
    const double per_poll = (after - before - 1) / polls;
    std::printf("%-40s %9.2f %9.2f %10.2f\n",
                with_lag ? "depthQuery + lagSecondsQuery" : "depthQuery", latency.p50_ms,
                latency.p99_ms, per_poll);
  }

  // Memory per monitor: N sources of one server share one client.
  const long rss_before = rss_kib();
  std::vector<std::unique_ptr<QueueSource>> sources;
  for (int q = 0; q < monitors; ++q) {
    auto source = kind.create(spec_for(url, q, true), {});
    if (!source.ok()) return 1;
    sources.push_back(std::move(*source));
  }
  const long rss_after = rss_kib();
  std::printf("%d sources: RSS +%ld KiB (%.2f KiB per monitor), %d shared client(s)\n", monitors,
              rss_after - rss_before,
              static_cast<double>(rss_after - rss_before) / std::max(monitors, 1),
              kind.clients().live_clients());

  // Every monitor once per round, W workers taking the next monitor (as the operator's workers
  // take due monitors).
  for (int round = 0; round < rounds; ++round) {
    std::atomic<int> next{0}, failed{0};
    std::vector<double> ms(static_cast<std::size_t>(monitors));
    const auto started = Steady::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        for (int i = next++; i < monitors; i = next++) {
          const auto polled = Steady::now();
          if (!sources[static_cast<std::size_t>(i)]->poll(std::chrono::system_clock::now()).ok())
            ++failed;
          ms[static_cast<std::size_t>(i)] =
              std::chrono::duration<double, std::milli>(Steady::now() - polled).count();
        }
      });
    }
    for (auto& thread : threads) thread.join();
    const double total = std::chrono::duration<double>(Steady::now() - started).count();
    std::printf(
        "round %d: %d monitors polled in %.2f s (%d failed); poll p50 %.2f ms, p99 %.2f ms, "
        "max %.2f ms; RSS %ld KiB\n",
        round + 1, monitors, total, failed.load(), percentile(ms, 0.5), percentile(ms, 0.99),
        percentile(ms, 1.0), rss_kib());
  }
  return 0;
}
