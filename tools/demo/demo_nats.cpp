// --source nats: Debian's nats-server with JetStream, stream ORDERS (subject "orders") and the
// durable pull consumer "order-processor" (explicit acks). Producer: js_PublishAsync, each 10 ms
// tick's publishes confirmed by the server (js_PublishAsyncComplete) before the next. Consumers: a
// pull subscription bound to the durable consumer each, fetching up to n messages (20 ms) and
// acknowledging each (+ACK, flushed per batch) before fetching again.
//
// One NATS connection for the whole backend (producer and consumers share it; libnats connections
// are thread-safe, each user has its own JetStream context or subscription). libnats tears down
// library-wide: the operator's natsJetStream kind does that when it is destroyed, so the demo
// closes this connection (stop_clients) before the operator's sources go.
#include <nats/nats.h>

#include <chrono>
#include <memory>
#include <string>

#include "tools/demo/demo_backend.h"
#include "tools/demo/demo_servers.h"
#include "tools/demo/queue_fleet.h"

namespace lagpilot::demo {
namespace {

constexpr const char* kStream = "ORDERS";
constexpr const char* kSubject = "orders";
constexpr const char* kConsumer = "order-processor";
// A fetched message not acknowledged (a consumer that stopped mid-fetch) is redelivered after this.
constexpr std::int64_t kAckWaitNanoseconds = 5'000'000'000;

Status check(natsStatus status, const std::string& what) {
  if (status == NATS_OK) return Ok{};
  return Error{"Nats", what + ": " + natsStatus_GetText(status)};
}

class NatsConsumer final : public QueueConsumer {
 public:
  NatsConsumer(natsConnection* connection, jsCtx* js, natsSubscription* subscription)
      : connection_(connection), js_(js), subscription_(subscription) {}
  ~NatsConsumer() override {
    natsSubscription_Destroy(subscription_);  // the durable consumer stays: it is not ours
    jsCtx_Destroy(js_);
  }

  Result<int> consume(int max, std::chrono::milliseconds wait) override {
    natsMsgList list{};
    jsErrCode error = static_cast<jsErrCode>(0);
    const natsStatus fetched =
        natsSubscription_Fetch(&list, subscription_, max, wait.count(), &error);
    if (fetched == NATS_TIMEOUT) return 0;
    if (fetched != NATS_OK) return check(fetched, "fetch").error();
    Status acked = Ok{};
    for (int i = 0; i < list.Count && acked; ++i) {
      acked = check(natsMsg_Ack(list.Msgs[i], nullptr), "ack");
    }
    const int count = list.Count;
    natsMsgList_Destroy(&list);
    if (!acked) return acked.error();
    if (auto flushed = check(natsConnection_FlushTimeout(connection_, 5000), "flush acks");
        !flushed) {
      return flushed.error();
    }
    return count;
  }

 private:
  natsConnection* connection_;
  jsCtx* js_;
  natsSubscription* subscription_;
};

class NatsBackend final : public FleetBackend {
 public:
  NatsBackend(std::unique_ptr<LocalServer> server, const BackendSettings& settings)
      : server_(std::move(server)), settings_(settings) {}
  ~NatsBackend() override {
    // First: the base's producer thread sends through js_ (FleetBackend).
    NatsBackend::stop_clients();
    server_->stop();
  }

  // Connects and creates the stream and the durable pull consumer.
  Status set_up() {
    natsOptions* options = nullptr;
    if (auto ok = check(natsOptions_Create(&options), "options"); !ok) return ok;
    natsOptions_SetURL(options, url().c_str());
    natsOptions_SetTimeout(options, 5000);
    natsOptions_SetName(options, "lagpilot-demo");
    const natsStatus connected = natsConnection_Connect(&connection_, options);
    natsOptions_Destroy(options);
    if (auto ok = check(connected, "connect to " + url()); !ok) return ok;
    if (auto ok = check(natsConnection_JetStream(&js_, connection_, nullptr), "JetStream"); !ok)
      return ok;

    jsStreamConfig stream;
    jsStreamConfig_Init(&stream);
    stream.Name = kStream;
    const char* subjects[] = {kSubject};
    stream.Subjects = subjects;
    stream.SubjectsLen = 1;
    stream.Storage = js_MemoryStorage;
    jsStreamInfo* stream_info = nullptr;
    jsErrCode error = static_cast<jsErrCode>(0);
    if (auto ok = check(js_AddStream(&stream_info, js_, &stream, nullptr, &error),
                        std::string("add stream ") + kStream);
        !ok)
      return ok;
    jsStreamInfo_Destroy(stream_info);

    jsConsumerConfig consumer;
    jsConsumerConfig_Init(&consumer);
    consumer.Durable = kConsumer;
    consumer.AckPolicy = js_AckExplicit;
    consumer.DeliverPolicy = js_DeliverAll;
    consumer.AckWait = kAckWaitNanoseconds;
    jsConsumerInfo* consumer_info = nullptr;
    if (auto ok = check(js_AddConsumer(&consumer_info, js_, kStream, &consumer, nullptr, &error),
                        std::string("add consumer ") + kConsumer);
        !ok)
      return ok;
    jsConsumerInfo_Destroy(consumer_info);

    natsConnection* connection = connection_;
    make_fleet(
        [connection](int) -> Result<std::unique_ptr<QueueConsumer>> {
          jsCtx* js = nullptr;
          if (auto ok = check(natsConnection_JetStream(&js, connection, nullptr), "JetStream"); !ok)
            return ok.error();
          jsSubOptions options;
          jsSubOptions_Init(&options);
          options.Stream = kStream;
          options.Consumer = kConsumer;
          natsSubscription* subscription = nullptr;
          jsErrCode error = static_cast<jsErrCode>(0);
          const natsStatus subscribed =
              js_PullSubscribe(&subscription, js, kSubject, kConsumer, nullptr, &options, &error);
          if (subscribed != NATS_OK) {
            jsCtx_Destroy(js);
            return check(subscribed, std::string("pull subscribe ") + kConsumer).error();
          }
          return std::unique_ptr<QueueConsumer>(
              std::make_unique<NatsConsumer>(connection, js, subscription));
        },
        settings_.per_replica_rate);
    return Ok{};
  }

  std::string description() const override {
    return "nats-server -js at " + url() + " (pid " + std::to_string(server_->pid()) +
           "), stream " + kStream + " (subject " + kSubject + "), pull consumer " + kConsumer;
  }
  std::string server_name() const override { return server_->name(); }
  std::string source_yaml() const override {
    return std::string("    natsJetStream:\n") + "      servers: [\"" + url() +
           "\"]\n      stream: " + kStream + "\n      consumer: " + kConsumer + "\n";
  }
  std::string consumer_description() const override {
    return "one JetStream pull subscriber of consumer order-processor per ready replica (fetch, "
           "ack)";
  }
  BackendTraits traits() const override {
    BackendTraits traits;
    traits.partitions = settings_.max_replicas;  // a stream has none: no cap below maxReplicas
    traits.commit_interval = 0;                  // every fetch is acknowledged at once
    traits.group_members_visible = false;        // pull consumers: unknown (docs/sources/nats.md)
    return traits;
  }

  Status start_producer(const LoadPattern& pattern, std::uint64_t) override {
    start_paced_producer(
        pattern,
        [this](std::int64_t index) -> Status {
          const std::string data = "order-" + std::to_string(index);
          return check(
              js_PublishAsync(js_, kSubject, data.data(), static_cast<int>(data.size()), nullptr),
              "publish");
        },
        [this]() -> Status {
          jsPubOptions options;
          jsPubOptions_Init(&options);
          options.MaxWait = 5000;
          return check(js_PublishAsyncComplete(js_, &options), "publish acks");
        });
    return Ok{};
  }
  void stop_clients() override {
    stop_producer_and_fleet();
    if (js_ != nullptr) jsCtx_Destroy(js_);
    js_ = nullptr;
    if (connection_ != nullptr) natsConnection_Destroy(connection_);
    connection_ = nullptr;
  }

 private:
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(server_->port()); }

  std::unique_ptr<LocalServer> server_;
  BackendSettings settings_;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;  // the producer's
};

}  // namespace

Result<std::unique_ptr<DemoBackend>> start_nats_backend(const BackendSettings& settings) {
  auto server = LocalServer::start_nats(settings.work_dir);
  if (!server) return server.error();
  auto backend = std::make_unique<NatsBackend>(std::move(*server), settings);
  if (auto ready = backend->set_up(); !ready) return ready.error();
  return std::unique_ptr<DemoBackend>(std::move(backend));
}

}  // namespace lagpilot::demo
