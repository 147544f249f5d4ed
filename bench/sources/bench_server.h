#pragma once
// One kind's real server for bench_sources: started on a free loopback port with the tests'
// fixture (tests/sources/<kind>/), N queues with a backlog, the spec.source of the monitor that
// reads queue i, and the server's own count of the requests it answered. Each kind is one .cpp in
// this folder, so that its client library's headers (hiredis, librabbitmq, libnats, prometheus-cpp)
// stay there.
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lagpilot::bench {

// Requests a server has answered so far, by what it names them (a command, an API, a handler).
using RequestCounts = std::map<std::string, int64_t>;

// A way to configure the monitors of one kind, e.g. "depthQuery" and "depthQuery +
// lagSecondsQuery".
struct SpecVariant {
  std::string name;
  // spec.source for the monitor reading queue `queue` (0 <= queue < the server's queues), e.g.
  // {"redisStreams": {...}}.
  std::function<nlohmann::json(int queue)> spec_for;
};

class BenchServer {
 public:
  virtual ~BenchServer() = default;
  // e.g. "redis-server 7.0.15 (Debian), 127.0.0.1:40123"
  virtual std::string describe() const = 0;
  // What the backlog of each queue is, e.g. "20 entries, 5 pending, 15 undelivered".
  virtual std::string backlog() const = 0;
  // The variants the single-monitor figures are measured for; the N-monitor run uses the last.
  virtual const std::vector<SpecVariant>& variants() const = 0;
  // The server's counters now. Reading them may count itself: bench_sources subtracts what two
  // readings in a row differ by.
  virtual RequestCounts requests() = 0;
  // The values of the monitors' authSecretRef Secret (empty: none).
  virtual std::map<std::string, std::string> credentials() const { return {}; }
  // Who counts, e.g. "Redis INFO commandstats (calls)".
  virtual std::string counted_by() const = 0;
  // The server's pid, for its RSS; -1 when the fixture does not tell.
  virtual pid_t server_pid() const = 0;
};

// Each starts the server and creates `queues` queues with a backlog; throws std::runtime_error.
std::unique_ptr<BenchServer> start_redis_bench(int queues);
std::unique_ptr<BenchServer> start_rabbitmq_bench(int queues);
std::unique_ptr<BenchServer> start_nats_bench(int queues);
std::unique_ptr<BenchServer> start_prometheus_bench(int queues);

}  // namespace lagpilot::bench
