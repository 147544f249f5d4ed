// Cost of reading consumer-group lag from Kafka, against librdkafka's mock cluster (loopback):
//   - poll latency p50/p99 on a 1,000-partition topic for each lagSeconds method (and with
//     lagSecondsMethod omitted: fetch, interpolating where the fetch cannot read),
//   - broker requests per poll at 10, 100 and 1,000 partitions (counted by the mock brokers),
//   - resident memory of 1 source vs 1,000 sources on one cluster, and of unshared clients.
// Usage: bench_kafka_lag [polls=50]
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sources/kafka/kafka_client.h"
#include "sources/kafka/kafka_source.h"
#include "sources/queue_source.h"
#include "tests/sources/kafka/kafka_mock_fixture.h"

namespace lagpilot {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

const WallTime kT0{seconds(1'700'000'000)};

struct Percentiles {
  double p50_ms;
  double p99_ms;
};

Percentiles percentiles(std::vector<double> samples_ms) {
  std::sort(samples_ms.begin(), samples_ms.end());
  auto at = [&](double q) {
    const auto index = static_cast<std::size_t>(q * static_cast<double>(samples_ms.size() - 1));
    return samples_ms[index];
  };
  return {at(0.50), at(0.99)};
}

long proc_status(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

long resident_kib() {
  malloc_trim(0);
  return proc_status("VmRSS");
}

long threads() { return proc_status("Threads"); }

// `method` empty: lagSecondsMethod omitted.
nlohmann::json spec_for(const std::string& bootstrap, const std::string& topic,
                        const std::string& group, const std::string& method) {
  nlohmann::json spec = {
      {"bootstrapServers", bootstrap}, {"topic", topic}, {"consumerGroup", group}};
  if (!method.empty()) spec["lagSecondsMethod"] = method;
  return spec;
}

std::unique_ptr<QueueSource> make_source(SourceContext& context, const nlohmann::json& spec) {
  auto source = create_kafka_source(spec, {}, context);
  if (!source.ok()) {
    std::fprintf(stderr, "create: %s\n", source.error().message.c_str());
    std::exit(1);
  }
  return std::move(source).value();
}

void must_poll(QueueSource& source, WallTime now) {
  auto snapshot = source.poll(now);
  if (!snapshot.ok()) {
    std::fprintf(stderr, "poll: %s\n", snapshot.error().message.c_str());
    std::exit(1);
  }
}

// A topic with `partitions` partitions of `records` records each, stamped one per second, and a
// group that has consumed `committed` of them on every partition.
void seed_topic(testkit::KafkaMockCluster& kafka, const std::string& topic, int partitions,
                int records, const std::string& group, int64_t committed) {
  kafka.create_topic(topic, partitions);
  std::map<int32_t, int64_t> commits;
  for (int p = 0; p < partitions; ++p) {
    kafka.produce(topic, p, records, kT0 + milliseconds(p));
    commits[p] = committed;
  }
  kafka.commit(group, topic, commits);
}

std::string request_breakdown(const std::map<std::string, int64_t>& counts) {
  std::string text;
  for (const auto& [api, count] : counts) {
    if (count > 0) text += (text.empty() ? "" : " ") + api + "=" + std::to_string(count);
  }
  return text.empty() ? "-" : text;
}

struct PollCost {
  Percentiles latency;
  double requests_per_poll;
  std::string requests;
};

// Polls `source` `polls` times; `between` runs before each poll, outside the timing.
template <typename Between>
PollCost measure(testkit::KafkaMockCluster& kafka, QueueSource& source, int polls,
                 Between between) {
  std::vector<double> samples;
  std::map<std::string, int64_t> totals;
  for (int i = 0; i < polls; ++i) {
    between(i);
    kafka.reset_request_counts();
    const auto started = SteadyClock::now();
    must_poll(source, kT0 + seconds(100 + 10 * i));
    samples.push_back(
        std::chrono::duration<double, std::milli>(SteadyClock::now() - started).count());
    for (const auto& [api, count] : kafka.request_counts()) totals[api] += count;
  }
  int64_t total = 0;
  for (auto& [api, count] : totals) {
    total += count;
    count = (count + polls / 2) / polls;  // per poll, rounded
  }
  return {percentiles(samples), static_cast<double>(total) / polls, request_breakdown(totals)};
}

void latency_section(int polls) {
  constexpr int kPartitions = 1000;
  testkit::KafkaMockCluster kafka(3);
  seed_topic(kafka, "orders", kPartitions, 40, "order-processor", 5);
  std::printf("\n== One lag read, %d-partition topic, 3 brokers, %d polls ==\n", kPartitions,
              polls);
  std::printf("%-44s %9s %9s %10s  %s\n", "method / scenario", "p50 ms", "p99 ms", "req/poll",
              "requests per poll");

  SourceContext context;
  auto report = [](const char* name, const PollCost& cost) {
    std::printf("%-44s %9.2f %9.2f %10.1f  %s\n", name, cost.latency.p50_ms, cost.latency.p99_ms,
                cost.requests_per_poll, cost.requests.c_str());
  };
  {
    auto source = make_source(
        context, spec_for(kafka.bootstrap_servers(), "orders", "order-processor", "interpolate"));
    must_poll(*source, kT0);
    report("interpolate", measure(kafka, *source, polls, [](int) {}));
  }
  // The group moves on every partition between polls: every head record is read again.
  auto move_group = [&](int i) {
    std::map<int32_t, int64_t> commits;
    for (int p = 0; p < kPartitions; ++p) commits[p] = 6 + i % 30;
    kafka.commit("order-processor", "orders", commits);
  };
  for (const std::string method : {"fetch", ""}) {
    const std::string name = method.empty() ? "omitted" : method;
    {
      auto source = make_source(
          context, spec_for(kafka.bootstrap_servers(), "orders", "order-processor", method));
      must_poll(*source, kT0);
      report((name + ", group idle (head records cached)").c_str(),
             measure(kafka, *source, polls, [](int) {}));
    }
    {
      auto source = make_source(
          context, spec_for(kafka.bootstrap_servers(), "orders", "order-processor", method));
      must_poll(*source, kT0);
      report((name + ", group moving on all partitions").c_str(),
             measure(kafka, *source, polls, move_group));
    }
  }
}

void requests_section() {
  std::printf("\n== Broker requests per poll (interpolate; metadata cached) ==\n");
  std::printf("%10s %10s  %s\n", "partitions", "requests", "by API");
  testkit::KafkaMockCluster kafka(3);
  SourceContext context;
  for (int partitions : {10, 100, 1000}) {
    const std::string topic = "topic-" + std::to_string(partitions);
    seed_topic(kafka, topic, partitions, 2, "group", 1);
    auto source =
        make_source(context, spec_for(kafka.bootstrap_servers(), topic, "group", "interpolate"));
    must_poll(*source, kT0);
    must_poll(*source, kT0 + seconds(10));
    kafka.reset_request_counts();
    must_poll(*source, kT0 + seconds(20));
    std::printf("%10d %10lld  %s\n", partitions, static_cast<long long>(kafka.requests_total()),
                request_breakdown(kafka.request_counts()).c_str());
  }
}

void memory_section() {
  constexpr int kSources = 1000;
  constexpr int kUnsharedClients = 20;
  constexpr int kPartitions = 24;
  std::printf("\n== Resident memory, %d-partition topic, 3 brokers ==\n", kPartitions);
  testkit::KafkaMockCluster kafka(3);
  seed_topic(kafka, "orders", kPartitions, 10, "order-processor", 5);
  const long baseline = resident_kib();
  const long baseline_threads = threads();

  SourceContext context;
  std::vector<std::unique_ptr<QueueSource>> sources;
  sources.push_back(make_source(
      context, spec_for(kafka.bootstrap_servers(), "orders", "order-processor", "interpolate")));
  must_poll(*sources.back(), kT0);
  const long one_source = resident_kib();
  const long one_source_threads = threads() - baseline_threads;
  for (int i = 1; i < kSources; ++i) {
    sources.push_back(make_source(
        context, spec_for(kafka.bootstrap_servers(), "orders", "order-processor", "interpolate")));
    must_poll(*sources.back(), kT0);
  }
  for (auto& source : sources) must_poll(*source, kT0 + seconds(10));
  const long thousand_sources = resident_kib();
  const long thousand_sources_threads = threads() - baseline_threads;
  std::printf("%-46s %8.1f MiB  (+%.1f MiB, +%ld threads)\n", "1 source (1 shared client)",
              one_source / 1024.0, (one_source - baseline) / 1024.0, one_source_threads);
  std::printf("%-46s %8.1f MiB  (+%.1f MiB, +%ld threads, %zu client)\n",
              (std::to_string(kSources) + " sources (1 shared client)").c_str(),
              thousand_sources / 1024.0, (thousand_sources - baseline) / 1024.0,
              thousand_sources_threads, context.kafka_clients().size());
  std::printf("%-46s %8.1f KiB\n", "  per extra source",
              static_cast<double>(thousand_sources - one_source) / (kSources - 1));
  sources.clear();
  std::printf("%-46s %8zu clients, %d live sources\n", "  after deleting them",
              context.kafka_clients().size(), context.live_sources());

  // For comparison: what each monitor would cost with its own client (KEDA's model).
  const long before_unshared = resident_kib();
  const long before_unshared_threads = threads();
  std::vector<std::unique_ptr<SourceContext>> contexts;
  for (int i = 0; i < kUnsharedClients; ++i) {
    contexts.push_back(std::make_unique<SourceContext>());
    sources.push_back(make_source(*contexts.back(), spec_for(kafka.bootstrap_servers(), "orders",
                                                             "order-processor", "interpolate")));
    must_poll(*sources.back(), kT0);
  }
  const long unshared = resident_kib();
  const double per_client_kib = static_cast<double>(unshared - before_unshared) / kUnsharedClients;
  const long per_client_threads = (threads() - before_unshared_threads) / kUnsharedClients;
  std::printf("%-46s %8.1f KiB, %ld threads per client -> ~%.0f MiB, %ld threads for %d monitors\n",
              (std::to_string(kUnsharedClients) + " unshared clients").c_str(), per_client_kib,
              per_client_threads, per_client_kib * kSources / 1024.0, per_client_threads * kSources,
              kSources);
  sources.clear();
}

}  // namespace
}  // namespace lagpilot

int main(int argc, char** argv) {
  const int polls = argc > 1 ? std::max(2, std::atoi(argv[1])) : 50;
  spdlog::set_level(spdlog::level::err);  // the mock's protocol quirks warn once per client
  std::printf("bench_kafka_lag: librdkafka mock cluster on loopback, %d polls per figure\n", polls);
  lagpilot::latency_section(polls);
  lagpilot::requests_section();
  lagpilot::memory_section();
  return 0;
}
