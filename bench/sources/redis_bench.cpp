// bench_sources --kind redis: Debian's redis-server (tests/sources/redis/redis_fixture.h), one
// stream and consumer group per monitor, requests counted by Redis (INFO commandstats).
#include <sstream>

#include "bench/sources/bench_server.h"
#include "tests/sources/redis/redis_fixture.h"

namespace lagpilot::bench {
namespace {

constexpr int kEntries = 20;
constexpr int kDelivered = 5;  // read by a consumer, not acknowledged: pending

class RedisBench final : public BenchServer {
 public:
  explicit RedisBench(int queues) : admin_(server_.client()) {
    for (int q = 0; q < queues; ++q) {
      const std::string stream = stream_name(q);
      admin_.ok({"XGROUP", "CREATE", stream, "workers", "0", "MKSTREAM"});
      for (int e = 0; e < kEntries; ++e) admin_.ok({"XADD", stream, "*", "n", std::to_string(e)});
      admin_.consume(stream, "workers", "worker-1", kDelivered);
    }
    const std::string address = server_.address();
    variants_.push_back({"XINFO + XPENDING + XRANGE", [address](int queue) {
                           return nlohmann::json{{"redisStreams",
                                                  {{"address", address},
                                                   {"stream", stream_name(queue)},
                                                   {"consumerGroup", "workers"}}}};
                         }});
    std::istringstream info(admin_.ok({"INFO", "server"}).text);
    for (std::string line; std::getline(info, line);) {
      if (line.rfind("redis_version:", 0) == 0) version_ = line.substr(14, line.find('\r') - 14);
    }
  }

  std::string describe() const override {
    return "redis-server " + version_ + " (Debian), " + server_.address();
  }
  std::string backlog() const override {
    return "a stream of " + std::to_string(kEntries) + " entries per monitor, " +
           std::to_string(kDelivered) + " pending, " + std::to_string(kEntries - kDelivered) +
           " undelivered";
  }
  const std::vector<SpecVariant>& variants() const override { return variants_; }

  // "cmdstat_xinfo|stream:calls=12,usec=..." per command.
  RequestCounts requests() override {
    RequestCounts counts;
    std::istringstream lines(admin_.ok({"INFO", "commandstats"}).text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("cmdstat_", 0) != 0) continue;
      const auto colon = line.find(':');
      const auto calls = line.find("calls=");
      if (colon == std::string::npos || calls == std::string::npos) continue;
      counts[line.substr(8, colon - 8)] = std::stoll(line.substr(calls + 6));
    }
    return counts;
  }
  std::string counted_by() const override { return "Redis (INFO commandstats, calls)"; }
  pid_t server_pid() const override { return server_.pid(); }

 private:
  static std::string stream_name(int queue) { return "orders-" + std::to_string(queue); }

  testkit::RedisServer server_;
  testkit::RedisConnection admin_;
  std::vector<SpecVariant> variants_;
  std::string version_ = "?";
};

}  // namespace

std::unique_ptr<BenchServer> start_redis_bench(int queues) {
  return std::make_unique<RedisBench>(queues);
}

}  // namespace lagpilot::bench
