// --source redis: Debian's redis-server, stream "orders", consumer group "order-processor".
// Producer: XADD with server-made IDs (so lagSeconds is the age from the server's clock),
// pipelined per 10 ms tick. Consumers: XREADGROUP ... COUNT n BLOCK 20 STREAMS orders >, then XACK
// of what they read; a consumer that leaves has acknowledged everything and deletes itself from
// the group (XGROUP DELCONSUMER), so the group's consumer count is the running consumers.
#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "tools/demo/demo_backend.h"
#include "tools/demo/demo_servers.h"
#include "tools/demo/queue_fleet.h"

namespace lagpilot::demo {
namespace {

constexpr const char* kStream = "orders";
constexpr const char* kGroup = "order-processor";

struct ReplyFree {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// One hiredis connection to 127.0.0.1:port (5 s timeouts).
class RedisClient {
 public:
  static Result<std::unique_ptr<RedisClient>> connect(int port) {
    timeval timeout{5, 0};
    redisContext* context = redisConnectWithTimeout("127.0.0.1", port, timeout);
    if (context == nullptr) return Error{"Redis", "connect: out of memory"};
    if (context->err != 0) {
      Error error{"Redis", "connect to 127.0.0.1:" + std::to_string(port) + ": " + context->errstr};
      redisFree(context);
      return error;
    }
    redisSetTimeout(context, timeout);
    return std::unique_ptr<RedisClient>(new RedisClient(context));
  }
  ~RedisClient() { redisFree(context_); }
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command; an error reply is an error too.
  Result<Reply> command(const std::vector<std::string>& args) {
    if (auto appended = append(args); !appended) return appended.error();
    return reply(args.front());
  }
  // Pipelining: append now, read the replies (in order) later.
  Status append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      return Error{"Redis", args.front() + ": " + context_->errstr};
    }
    return Ok{};
  }
  Result<Reply> reply(const std::string& what) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return Error{"Redis", what + ": " + context_->errstr};
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      return Error{"Redis", what + ": " + std::string(reply->str, reply->len)};
    }
    return reply;
  }

 private:
  explicit RedisClient(redisContext* context) : context_(context) {}
  redisContext* context_;
};

class RedisConsumer final : public QueueConsumer {
 public:
  RedisConsumer(std::unique_ptr<RedisClient> client, std::string name)
      : client_(std::move(client)), name_(std::move(name)) {}
  ~RedisConsumer() override {
    (void)client_->command({"XGROUP", "DELCONSUMER", kStream, kGroup, name_});
  }

  Result<int> consume(int max, std::chrono::milliseconds wait) override {
    auto read =
        client_->command({"XREADGROUP", "GROUP", kGroup, name_, "COUNT", std::to_string(max),
                          "BLOCK", std::to_string(wait.count()), "STREAMS", kStream, ">"});
    if (!read) return read.error();
    const redisReply* reply = read->get();
    // Nil on a timeout; else [[stream, [[id, fields], ...]]].
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) return 0;
    const redisReply* entries = reply->element[0]->element[1];
    if (entries->elements == 0) return 0;
    std::vector<std::string> ack = {"XACK", kStream, kGroup};
    for (std::size_t i = 0; i < entries->elements; ++i) {
      const redisReply* id = entries->element[i]->element[0];
      ack.emplace_back(id->str, id->len);
    }
    if (auto acked = client_->command(ack); !acked) return acked.error();
    return static_cast<int>(entries->elements);
  }

 private:
  std::unique_ptr<RedisClient> client_;
  std::string name_;
};

class RedisBackend final : public FleetBackend {
 public:
  RedisBackend(std::unique_ptr<LocalServer> server, const BackendSettings& settings)
      : server_(std::move(server)), settings_(settings) {
    const int port = server_->port();
    make_fleet(
        [port](int id) -> Result<std::unique_ptr<QueueConsumer>> {
          auto client = RedisClient::connect(port);
          if (!client) return client.error();
          const std::string name = "order-consumer-" + std::to_string(id);
          (void)(*client)->command({"CLIENT", "SETNAME", name});
          return std::unique_ptr<QueueConsumer>(
              std::make_unique<RedisConsumer>(std::move(*client), name));
        },
        settings_.per_replica_rate);
  }
  ~RedisBackend() override {
    // First: the base's producer thread uses producer_client_ and appended_ (FleetBackend).
    RedisBackend::stop_clients();
    server_->stop();
  }

  std::string description() const override {
    return "redis-server at 127.0.0.1:" + std::to_string(server_->port()) + " (pid " +
           std::to_string(server_->pid()) + "), stream " + kStream + ", group " + kGroup;
  }
  std::string server_name() const override { return server_->name(); }
  std::string source_yaml() const override {
    return std::string("    redisStreams:\n") +
           "      address: \"127.0.0.1:" + std::to_string(server_->port()) +
           "\"\n      stream: " + kStream + "\n      consumerGroup: " + kGroup + "\n";
  }
  std::string consumer_description() const override {
    return "one Redis consumer of group order-processor per ready replica (XREADGROUP, XACK)";
  }
  BackendTraits traits() const override {
    BackendTraits traits;
    traits.partitions = settings_.max_replicas;  // a stream has none: no cap below maxReplicas
    traits.commit_interval = 0;                  // every read is acknowledged at once
    traits.group_members_visible = true;         // XINFO GROUPS consumers
    return traits;
  }

  Status start_producer(const LoadPattern& pattern, std::uint64_t) override {
    auto client = RedisClient::connect(server_->port());
    if (!client) return client.error();
    producer_client_ = std::move(*client);
    start_paced_producer(
        pattern,
        [this](std::int64_t index) {
          const Status appended = producer_client_->append(
              {"XADD", kStream, "*", "order", "order-" + std::to_string(index)});
          if (appended) ++appended_;
          return appended;
        },
        [this]() -> Status {
          for (; appended_ > 0; --appended_) {
            if (auto added = producer_client_->reply("XADD"); !added) {
              appended_ = 0;
              return added.error();
            }
          }
          return Ok{};
        });
    return Ok{};
  }
  void stop_clients() override {
    stop_producer_and_fleet();
    producer_client_.reset();
  }

  Status create_group() {
    auto client = RedisClient::connect(server_->port());
    if (!client) return client.error();
    auto created = (*client)->command({"XGROUP", "CREATE", kStream, kGroup, "$", "MKSTREAM"});
    if (!created) return created.error();
    return Ok{};
  }

 private:
  std::unique_ptr<LocalServer> server_;
  BackendSettings settings_;
  std::unique_ptr<RedisClient> producer_client_;  // the producer thread's only
  int appended_ = 0;                              // XADDs whose replies are not read yet
};

}  // namespace

Result<std::unique_ptr<DemoBackend>> start_redis_backend(const BackendSettings& settings) {
  auto server = LocalServer::start_redis(settings.work_dir);
  if (!server) return server.error();
  auto backend = std::make_unique<RedisBackend>(std::move(*server), settings);
  if (auto created = backend->create_group(); !created) {
    return Error{"Redis", "stream orders, group order-processor: " + created.error().message};
  }
  return std::unique_ptr<DemoBackend>(std::move(backend));
}

}  // namespace lagpilot::demo
