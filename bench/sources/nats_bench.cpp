// bench_sources --kind nats: Debian's nats-server with JetStream (tests/sources/nats/
// nats_fixture.h), one stream and durable pull consumer per monitor, requests counted by the
// server: the account's JetStream API total ($JS.API.INFO).
#include <nats/nats.h>

#include <stdexcept>

#include "bench/sources/bench_server.h"
#include "tests/sources/nats/jetstream_test_client.h"
#include "tests/sources/nats/nats_fixture.h"

namespace lagpilot::bench {
namespace {

constexpr int kMessages = 10;
constexpr int kFetched = 3;  // delivered to a worker...
constexpr int kAcked = 2;    // ...and these acknowledged

void check(natsStatus status, const std::string& what) {
  if (status != NATS_OK) {
    throw std::runtime_error("nats bench: " + what + ": " + natsStatus_GetText(status));
  }
}

class NatsBench final : public BenchServer {
 public:
  explicit NatsBench(int queues) {
    {
      testkit::JetStreamClient producer(server_.url());
      for (int q = 0; q < queues; ++q) {
        producer.add_stream(stream_name(q), subject(q));
        producer.add_pull_consumer(stream_name(q), "worker");
        producer.publish(subject(q), kMessages);
        producer.fetch_and_ack(stream_name(q), "worker", subject(q), kFetched, kAcked);
      }
    }
    check(natsConnection_ConnectTo(&connection_, server_.url().c_str()), "connect");
    check(natsConnection_JetStream(&jetstream_, connection_, nullptr), "JetStream context");
    const std::string url = server_.url();
    variants_.push_back(
        {"consumer info (+ message read)", [url](int queue) {
           return nlohmann::json{
               {"natsJetStream",
                {{"servers", {url}}, {"stream", stream_name(queue)}, {"consumer", "worker"}}}};
         }});
  }
  ~NatsBench() override {
    jsCtx_Destroy(jetstream_);
    natsConnection_Destroy(connection_);
  }
  NatsBench(const NatsBench&) = delete;
  NatsBench& operator=(const NatsBench&) = delete;

  std::string describe() const override {
    return "nats-server 2.9.10 (Debian) with JetStream, " + server_.url();
  }
  std::string backlog() const override {
    return "a stream per monitor with " + std::to_string(kMessages) +
           " messages and a durable pull consumer that fetched " + std::to_string(kFetched) +
           " and acknowledged " + std::to_string(kAcked);
  }
  const std::vector<SpecVariant>& variants() const override { return variants_; }
  RequestCounts requests() override {
    jsAccountInfo* info = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    check(js_GetAccountInfo(&info, jetstream_, nullptr, &error), "account info");
    const auto total = static_cast<int64_t>(info->API.Total);
    jsAccountInfo_Destroy(info);
    return {{"JetStream API", total}};
  }
  std::string counted_by() const override {
    return "nats-server (the account's JetStream API request total, $JS.API.INFO)";
  }
  pid_t server_pid() const override { return server_.pid(); }

 private:
  static std::string stream_name(int queue) { return "ORDERS_" + std::to_string(queue); }
  static std::string subject(int queue) { return "orders." + std::to_string(queue); }

  testkit::NatsServer server_;
  natsConnection* connection_ = nullptr;
  jsCtx* jetstream_ = nullptr;
  std::vector<SpecVariant> variants_;
};

}  // namespace

std::unique_ptr<BenchServer> start_nats_bench(int queues) {
  return std::make_unique<NatsBench>(queues);
}

}  // namespace lagpilot::bench
