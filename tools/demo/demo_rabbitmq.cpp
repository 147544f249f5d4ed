// --source rabbitmq: Debian's rabbitmq-server, classic queue "orders". Producer: basic.publish
// through the default exchange with the timestamp property (so the management API knows the age of
// the head message: lagSeconds). Consumers: basic.consume with manual acknowledgements and a
// prefetch of kPrefetch; each batch is acknowledged (basic.ack, multiple) before the next is
// taken. A consumer that leaves closes its channel: deliveries it had not processed go back to
// the queue (and are counted when a consumer processes them).
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <chrono>
#include <memory>
#include <string>

#include "tools/demo/demo_backend.h"
#include "tools/demo/demo_servers.h"
#include "tools/demo/queue_fleet.h"

namespace lagpilot::demo {
namespace {

constexpr const char* kQueue = "orders";
constexpr int kPrefetch = 20;

// One AMQP connection with channel 1 open, as guest (RabbitMQ accepts it from loopback).
class AmqpClient {
 public:
  static Result<std::unique_ptr<AmqpClient>> connect(int port) {
    std::unique_ptr<AmqpClient> client(new AmqpClient());
    amqp_socket_t* socket = amqp_tcp_socket_new(client->connection_);
    timeval timeout{10, 0};
    if (socket == nullptr ||
        amqp_socket_open_noblock(socket, "127.0.0.1", port, &timeout) != AMQP_STATUS_OK) {
      return Error{"Amqp", "connect to 127.0.0.1:" + std::to_string(port) + " failed"};
    }
    amqp_set_rpc_timeout(client->connection_, &timeout);
    if (auto ok = check(amqp_login(client->connection_, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                                   "guest", "guest"),
                        "login");
        !ok) {
      return ok.error();
    }
    amqp_channel_open(client->connection_, 1);
    if (auto ok = check(amqp_get_rpc_reply(client->connection_), "channel.open"); !ok) {
      return ok.error();
    }
    client->open_ = true;
    return client;
  }
  ~AmqpClient() {
    if (open_) {
      amqp_channel_close(connection_, 1, AMQP_REPLY_SUCCESS);
      amqp_connection_close(connection_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(connection_);
  }
  AmqpClient(const AmqpClient&) = delete;
  AmqpClient& operator=(const AmqpClient&) = delete;

  amqp_connection_state_t connection() { return connection_; }
  Status last_reply(const std::string& what) {
    return check(amqp_get_rpc_reply(connection_), what);
  }
  void broken() { open_ = false; }

 private:
  AmqpClient() : connection_(amqp_new_connection()) {}

  static Status check(const amqp_rpc_reply_t& reply, const std::string& what) {
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return Ok{};
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      return Error{"Amqp", what + ": " + amqp_error_string2(reply.library_error)};
    }
    return Error{"Amqp", what + ": refused by the server (reply type " +
                             std::to_string(reply.reply_type) + ")"};
  }

  amqp_connection_state_t connection_;
  bool open_ = false;
};

class AmqpConsumer final : public QueueConsumer {
 public:
  explicit AmqpConsumer(std::unique_ptr<AmqpClient> client) : client_(std::move(client)) {}

  Status subscribe() {
    amqp_basic_qos(client_->connection(), 1, 0, kPrefetch, 0);
    if (auto ok = client_->last_reply("basic.qos"); !ok) return ok;
    amqp_basic_consume(client_->connection(), 1, amqp_cstring_bytes(kQueue), amqp_empty_bytes, 0,
                       /*no_ack=*/0, 0, amqp_empty_table);
    return client_->last_reply("basic.consume orders");
  }

  Result<int> consume(int max, std::chrono::milliseconds wait) override {
    int taken = 0;
    std::uint64_t last_tag = 0;
    while (taken < max) {
      amqp_maybe_release_buffers(client_->connection());
      // The first message may take `wait`; the rest of the batch only what is here already.
      const auto ms = taken == 0 ? wait.count() : 0;
      timeval timeout{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>(ms % 1000 * 1000)};
      amqp_envelope_t envelope;
      const amqp_rpc_reply_t reply =
          amqp_consume_message(client_->connection(), &envelope, &timeout, 0);
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
          reply.library_error == AMQP_STATUS_TIMEOUT) {
        break;
      }
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        client_->broken();
        return Error{"Amqp", "basic.consume: the connection or channel closed"};
      }
      last_tag = envelope.delivery_tag;
      amqp_destroy_envelope(&envelope);
      ++taken;
    }
    if (taken > 0 && amqp_basic_ack(client_->connection(), 1, last_tag, /*multiple=*/1) != 0) {
      client_->broken();
      return Error{"Amqp", "basic.ack failed"};
    }
    return taken;
  }

 private:
  std::unique_ptr<AmqpClient> client_;
};

class RabbitMqBackend final : public FleetBackend {
 public:
  RabbitMqBackend(std::unique_ptr<LocalServer> server, const BackendSettings& settings)
      : server_(std::move(server)), settings_(settings) {
    const int port = server_->port();
    make_fleet(
        [port](int) -> Result<std::unique_ptr<QueueConsumer>> {
          auto client = AmqpClient::connect(port);
          if (!client) return client.error();
          auto consumer = std::make_unique<AmqpConsumer>(std::move(*client));
          if (auto subscribed = consumer->subscribe(); !subscribed) return subscribed.error();
          return std::unique_ptr<QueueConsumer>(std::move(consumer));
        },
        settings_.per_replica_rate);
  }
  ~RabbitMqBackend() override {
    // First: the base's producer thread sends through producer_client_ (FleetBackend).
    RabbitMqBackend::stop_clients();
    server_->stop();
  }

  std::string description() const override {
    return "rabbitmq-server at 127.0.0.1:" + std::to_string(server_->port()) + " (pid " +
           std::to_string(server_->pid()) + ", its epmd pid " +
           std::to_string(server_->helper_pid()) + ", management API on port " +
           std::to_string(server_->management_port()) + "), queue " + kQueue;
  }
  std::string server_name() const override { return server_->name(); }
  std::string source_yaml() const override {
    return std::string("    rabbitmq:\n") +
           "      host: 127.0.0.1\n      port: " + std::to_string(server_->port()) +
           "\n      queue: " + kQueue + "\n      managementUrl: \"http://127.0.0.1:" +
           std::to_string(server_->management_port()) + "\"\n";
  }
  std::string consumer_description() const override {
    return "one AMQP consumer of queue orders per ready replica (basic.consume, prefetch " +
           std::to_string(kPrefetch) + ", basic.ack)";
  }
  BackendTraits traits() const override {
    BackendTraits traits;
    traits.partitions = settings_.max_replicas;  // a queue has none: no cap below maxReplicas
    traits.commit_interval = 0;                  // every batch is acknowledged at once
    traits.group_members_visible = true;         // queue.declare's consumer_count
    return traits;
  }

  Status start_producer(const LoadPattern& pattern, std::uint64_t) override {
    auto client = AmqpClient::connect(server_->port());
    if (!client) return client.error();
    producer_client_ = std::move(*client);
    start_paced_producer(
        pattern,
        [this](std::int64_t index) -> Status {
          amqp_basic_properties_t properties{};
          properties._flags = AMQP_BASIC_TIMESTAMP_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
          properties.delivery_mode = 1;  // transient: the demo's queue needs no disk
          properties.timestamp =
              static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
          const std::string body = "order-" + std::to_string(index);
          if (amqp_basic_publish(producer_client_->connection(), 1, amqp_empty_bytes,
                                 amqp_cstring_bytes(kQueue), 0, 0, &properties,
                                 amqp_cstring_bytes(body.c_str())) != AMQP_STATUS_OK) {
            return Error{"Amqp", "basic.publish failed"};
          }
          return Ok{};
        },
        []() -> Status { return Ok{}; });
    return Ok{};
  }
  void stop_clients() override {
    stop_producer_and_fleet();
    producer_client_.reset();
  }

  Status declare_queue() {
    auto client = AmqpClient::connect(server_->port());
    if (!client) return client.error();
    amqp_queue_declare((*client)->connection(), 1, amqp_cstring_bytes(kQueue), 0, /*durable=*/0, 0,
                       0, amqp_empty_table);
    return (*client)->last_reply("queue.declare orders");
  }

 private:
  std::unique_ptr<LocalServer> server_;
  BackendSettings settings_;
  std::unique_ptr<AmqpClient> producer_client_;  // the producer thread's only
};

}  // namespace

Result<std::unique_ptr<DemoBackend>> start_rabbitmq_backend(const BackendSettings& settings) {
  auto server = LocalServer::start_rabbitmq(settings.work_dir);
  if (!server) return server.error();
  auto backend = std::make_unique<RabbitMqBackend>(std::move(*server), settings);
  if (auto declared = backend->declare_queue(); !declared) return declared.error();
  return std::unique_ptr<DemoBackend>(std::move(backend));
}

}  // namespace lagpilot::demo
