// What a monitor costs on each real queue server, measured as bench_kafka_lag does for Kafka. For
// each kind, Debian's real server on a free loopback port (the tests' fixtures), N queues with a
// backlog, and N monitors' sources made through the real source registry (builtin_sources()):
//   - one monitor: poll latency p50/p99 and requests per poll, as the server counts them
//     (RabbitMQ has no such counter: see rabbitmq_bench.cpp);
//   - memory per monitor: this process's RSS before and after creating the N sources, and after
//     polling each once;
//   - N monitors on one server, polled as the operator polls them: each every --interval seconds
//     at its slot (controllers/poll_schedule.h: a phase hashed from its key), by --workers threads
//     taking the earliest due monitor. Punctuality is how late each poll started against its slot
//     (p50/p99/max); also poll time, requests per poll and the RSS of this process and the server.
// Prints figures; asserts nothing about time.
//
//   bench_sources [--kind redis|rabbitmq|nats|prometheus|all] [--monitors 1000] [--workers 8]
//                 [--seconds 30] [--interval 10] [--polls 200]
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/sources/bench_server.h"
#include "controllers/poll_schedule.h"
#include "sources/builtin_sources.h"

namespace lagpilot::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> kinds;
  int monitors = 1000;
  int workers = 8;  // the operator's default (--workers)
  int seconds = 30;
  int interval_seconds = 10;
  int polls = 200;
};

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

double ms_since(Steady::time_point start) {
  return std::chrono::duration<double, std::milli>(Steady::now() - start).count();
}

long status_field(const std::string& path, const std::string& field) {
  std::ifstream status(path);
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

long own_rss_kib() {
  malloc_trim(0);
  return status_field("/proc/self/status", "VmRSS");
}

long own_threads() { return status_field("/proc/self/status", "Threads"); }

std::string server_rss(pid_t pid) {
  if (pid <= 0) return "not known";
  const long kib = status_field("/proc/" + std::to_string(pid) + "/status", "VmRSS");
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", kib / 1024.0);
  return text;
}

// What `server` answered between two readings, less what reading its counters costs.
class RequestCounter {
 public:
  explicit RequestCounter(BenchServer& server) : server_(server) {
    const RequestCounts first = server_.requests();
    const RequestCounts second = server_.requests();
    overhead_ = difference(first, second);
  }
  void start() { before_ = server_.requests(); }
  // Requests since start(), by name.
  RequestCounts stop() {
    RequestCounts counted = difference(before_, server_.requests());
    for (const auto& [name, count] : overhead_) counted[name] -= count;
    return counted;
  }

  static int64_t total(const RequestCounts& counts) {
    int64_t sum = 0;
    for (const auto& [name, count] : counts) sum += count;
    return sum;
  }
  // "xinfo|stream=1.00 xpending=1.00" per poll, names with no requests left out.
  static std::string per_poll(const RequestCounts& counts, int64_t polls) {
    std::string text;
    for (const auto& [name, count] : counts) {
      if (count == 0) continue;
      char figure[32];
      std::snprintf(figure, sizeof(figure), "%.2f",
                    static_cast<double>(count) / static_cast<double>(polls));
      text += (text.empty() ? "" : " ") + name + "=" + figure;
    }
    return text.empty() ? "-" : text;
  }

 private:
  static RequestCounts difference(const RequestCounts& before, const RequestCounts& after) {
    RequestCounts counts;
    for (const auto& [name, count] : after) {
      auto found = before.find(name);
      counts[name] = count - (found == before.end() ? 0 : found->second);
    }
    return counts;
  }

  BenchServer& server_;
  RequestCounts overhead_;
  RequestCounts before_;
};

std::unique_ptr<QueueSource> create_source(SourceRegistry& registry, const BenchServer& server,
                                           const nlohmann::json& source_spec) {
  auto selected = registry.select_source(source_spec);
  if (!selected.ok()) throw std::runtime_error(selected.error().message);
  // As the controller does: check the spec, then create the source with the Secret's values.
  auto checked = selected->kind->check(selected->spec);
  if (!checked.ok()) throw std::runtime_error(checked.error().message);
  auto source = selected->kind->create(selected->spec, server.credentials());
  if (!source.ok()) throw std::runtime_error(source.error().message);
  return std::move(source).value();
}

// Prints the first few failed polls of a section; `printed` counts them.
void print_failure(const Result<QueueSnapshot>& polled, int& printed) {
  if (!polled.ok() && printed++ < 5) {
    std::fprintf(stderr, "poll failed: %s\n", polled.error().message.c_str());
  }
}

// What the first poll read, to show the backlog is real.
void print_snapshot(const std::string& name, const Result<QueueSnapshot>& polled) {
  if (!polled.ok()) {
    std::printf("%-40s poll failed: %s\n", name.c_str(), polled.error().message.c_str());
    return;
  }
  char lag_seconds[64] = "unknown";
  if (polled->lag_seconds) {
    std::snprintf(lag_seconds, sizeof(lag_seconds), "%.1f (%s)", *polled->lag_seconds,
                  polled->lag_seconds_method.c_str());
  }
  std::printf("%-40s depth %lld, lag %lld, lagSeconds %s, consumers %s\n", name.c_str(),
              static_cast<long long>(polled->queue_depth),
              static_cast<long long>(polled->consumer_lag), lag_seconds,
              polled->consumers ? std::to_string(*polled->consumers).c_str() : "unknown");
}

void single_monitor(SourceRegistry& registry, BenchServer& server, int polls) {
  std::printf("\n-- one monitor, %d polls after a first one (warm connection) --\n", polls);
  std::printf("%-40s %8s %8s %9s  %s\n", "spec", "p50 ms", "p99 ms", "req/poll",
              "requests per poll by name");
  RequestCounter counter(server);
  int printed = 0;
  for (const auto& variant : server.variants()) {
    auto source = create_source(registry, server, variant.spec_for(0));
    print_snapshot(variant.name + ", 1st poll", source->poll(std::chrono::system_clock::now()));
    std::vector<double> samples;
    int failed = 0;
    counter.start();
    for (int i = 0; i < polls; ++i) {
      const auto started = Steady::now();
      auto polled = source->poll(std::chrono::system_clock::now());
      samples.push_back(ms_since(started));
      if (!polled.ok()) ++failed;
      print_failure(polled, printed);
    }
    const RequestCounts counted = counter.stop();
    std::printf("%-40s %8.2f %8.2f %9.2f  %s%s\n", variant.name.c_str(), percentile(samples, 0.5),
                percentile(samples, 0.99),
                static_cast<double>(RequestCounter::total(counted)) / polls,
                RequestCounter::per_poll(counted, polls).c_str(),
                failed ? (" (" + std::to_string(failed) + " failed)").c_str() : "");
  }
  std::printf("requests counted by %s\n", server.counted_by().c_str());
}

// Creates the monitors' sources, then polls each once; prints the RSS growth of each step.
std::vector<std::unique_ptr<QueueSource>> create_monitors(SourceRegistry& registry,
                                                          BenchServer& server, int monitors) {
  const SpecVariant& variant = server.variants().back();
  std::printf("\n-- memory: %d monitors (%s) on one server --\n", monitors, variant.name.c_str());
  const long before = own_rss_kib();
  const long threads_before = own_threads();
  std::vector<std::unique_ptr<QueueSource>> sources;
  for (int m = 0; m < monitors; ++m) {
    sources.push_back(create_source(registry, server, variant.spec_for(m)));
  }
  const long created = own_rss_kib();
  const auto started = Steady::now();
  int failed = 0;
  int printed = 0;
  for (auto& source : sources) {
    auto polled = source->poll(std::chrono::system_clock::now());
    if (!polled.ok()) ++failed;
    print_failure(polled, printed);
  }
  const double first_round_s = ms_since(started) / 1000;
  const long polled = own_rss_kib();
  std::printf(
      "RSS before %.1f MiB; after creating them +%ld KiB (%.2f KiB per monitor); after "
      "polling each once +%ld KiB (%.2f KiB per monitor, +%ld threads)\n",
      before / 1024.0, created - before, static_cast<double>(created - before) / monitors,
      polled - before, static_cast<double>(polled - before) / monitors,
      own_threads() - threads_before);
  std::printf("first polls, one after another: %.2f s (%d failed); %d live sources\n",
              first_round_s, failed, registry.live_sources());
  return sources;
}

// One scheduled poll: the monitor and the time it is due.
struct DuePoll {
  Steady::time_point due;
  std::size_t monitor;
  bool operator>(const DuePoll& other) const { return due > other.due; }
};

struct ScheduleFigures {
  std::vector<double> lateness_ms;
  std::vector<double> poll_ms;
  int failed = 0;
  int printed = 0;  // failures printed
};

// Polls every monitor at its slots for `run_for`, with `workers` threads taking the earliest due
// monitor, as the operator's workers take requeued monitors.
ScheduleFigures run_schedule(std::vector<std::unique_ptr<QueueSource>>& sources,
                             const std::string& kind, const Options& options) {
  const auto interval = std::chrono::seconds(options.interval_seconds);
  const auto start = Steady::now();
  const auto end = start + std::chrono::seconds(options.seconds);
  const auto wall_now = std::chrono::system_clock::now();
  std::priority_queue<DuePoll, std::vector<DuePoll>, std::greater<>> queue;
  for (std::size_t m = 0; m < sources.size(); ++m) {
    const std::string key = "bench/" + kind + "-" + std::to_string(m);
    queue.push({start + controllers::next_poll_delay(key, interval, wall_now), m});
  }
  std::mutex mutex;
  std::condition_variable changed;
  ScheduleFigures figures;
  auto work = [&] {
    std::unique_lock lock(mutex);
    while (true) {
      if (queue.empty() || queue.top().due >= end) return;
      const auto due = queue.top().due;
      if (Steady::now() < due) {
        changed.wait_until(lock, due);
        continue;
      }
      const DuePoll next = queue.top();
      queue.pop();
      lock.unlock();
      const auto started = Steady::now();
      auto polled = sources[next.monitor]->poll(std::chrono::system_clock::now());
      const double poll_ms = ms_since(started);
      lock.lock();
      figures.lateness_ms.push_back(
          std::chrono::duration<double, std::milli>(started - next.due).count());
      figures.poll_ms.push_back(poll_ms);
      if (!polled.ok()) ++figures.failed;
      print_failure(polled, figures.printed);
      queue.push({next.due + interval, next.monitor});
      changed.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < options.workers; ++w) threads.emplace_back(work);
  for (auto& thread : threads) thread.join();
  return figures;
}

void many_monitors(std::vector<std::unique_ptr<QueueSource>>& sources, BenchServer& server,
                   const std::string& kind, const Options& options) {
  std::printf(
      "\n-- %zu monitors on one server, each polled every %d s at its slot, %d workers, "
      "%d s --\n",
      sources.size(), options.interval_seconds, options.workers, options.seconds);
  RequestCounter counter(server);
  counter.start();
  const ScheduleFigures figures = run_schedule(sources, kind, options);
  const RequestCounts counted = counter.stop();
  const auto polls = static_cast<int64_t>(figures.poll_ms.size());
  std::printf(
      "%lld polls (%d failed); lateness against the slot p50 %.2f ms, p99 %.2f ms, max "
      "%.2f ms\n",
      static_cast<long long>(polls), figures.failed, percentile(figures.lateness_ms, 0.5),
      percentile(figures.lateness_ms, 0.99), percentile(figures.lateness_ms, 1.0));
  std::printf("poll time p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", percentile(figures.poll_ms, 0.5),
              percentile(figures.poll_ms, 0.99), percentile(figures.poll_ms, 1.0));
  std::printf("requests per poll %.2f (%s)\n",
              polls ? static_cast<double>(RequestCounter::total(counted)) / polls : 0.0,
              RequestCounter::per_poll(counted, std::max<int64_t>(polls, 1)).c_str());
  std::printf("RSS: this process %.1f MiB, %ld threads; the server %s\n", own_rss_kib() / 1024.0,
              own_threads(), server_rss(server.server_pid()).c_str());
  print_snapshot("monitor 0, after the run",
                 sources.front()->poll(std::chrono::system_clock::now()));
}

std::unique_ptr<BenchServer> start_server(const std::string& kind, int queues) {
  if (kind == "redis") return start_redis_bench(queues);
  if (kind == "rabbitmq") return start_rabbitmq_bench(queues);
  if (kind == "nats") return start_nats_bench(queues);
  return start_prometheus_bench(queues);
}

void bench_kind(const std::string& kind, const Options& options) {
  const auto began = Steady::now();
  // The registry outlives the server's own clients (libnats is torn down with the NATS kind).
  SourceRegistry registry = builtin_sources();
  std::printf("\n==== %s ====\n", kind.c_str());
  std::fflush(stdout);
  auto server = start_server(kind, options.monitors);
  std::printf("%s; %d queues: %s (ready after %.1f s)\n", server->describe().c_str(),
              options.monitors, server->backlog().c_str(), ms_since(began) / 1000);
  single_monitor(registry, *server, options.polls);
  auto sources = create_monitors(registry, *server, options.monitors);
  many_monitors(sources, *server, kind, options);
  const auto stopping = Steady::now();
  sources.clear();
  const double closing_s = ms_since(stopping) / 1000;
  server.reset();
  std::printf("(%s: %.0f s in all; closing the sources %.1f s, stopping the server %.1f s)\n",
              kind.c_str(), ms_since(began) / 1000, closing_s,
              ms_since(stopping) / 1000 - closing_s);
  std::fflush(stdout);
}

int usage(const char* problem) {
  std::fprintf(stderr,
               "bench_sources: %s\nusage: bench_sources [--kind redis|rabbitmq|nats|prometheus|"
               "all] [--monitors N] [--workers W] [--seconds S] [--interval S] [--polls P]\n",
               problem);
  return 2;
}

}  // namespace
}  // namespace lagpilot::bench

int main(int argc, char** argv) {
  using lagpilot::bench::usage;
  lagpilot::bench::Options options;
  std::string kind = "all";
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage(("missing value after " + flag).c_str());
    const std::string value = argv[++i];
    auto positive = [&](int& field) {
      field = std::atoi(value.c_str());
      return field > 0;
    };
    if (flag == "--kind") {
      kind = value;
    } else if (!((flag == "--monitors" && positive(options.monitors)) ||
                 (flag == "--workers" && positive(options.workers)) ||
                 (flag == "--seconds" && positive(options.seconds)) ||
                 (flag == "--interval" && positive(options.interval_seconds)) ||
                 (flag == "--polls" && positive(options.polls)))) {
      return usage((flag + " " + value + ": unknown flag or not a positive number").c_str());
    }
  }
  if (kind == "all") {
    options.kinds = {"redis", "rabbitmq", "nats", "prometheus"};
  } else if (kind == "redis" || kind == "rabbitmq" || kind == "nats" || kind == "prometheus") {
    options.kinds = {kind};
  } else {
    return usage(("--kind " + kind + ": not redis, rabbitmq, nats, prometheus or all").c_str());
  }
  spdlog::set_level(spdlog::level::warn);
  std::printf("bench_sources: %d monitors per server, %d workers, poll interval %d s\n",
              options.monitors, options.workers, options.interval_seconds);
  try {
    for (const auto& each : options.kinds) lagpilot::bench::bench_kind(each, options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_sources: %s\n", error.what());
    return 1;
  }
  return 0;
}
