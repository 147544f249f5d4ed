#pragma once
// A real AMQP publisher and consumer for the RabbitMQ tests (librabbitmq): declares queues,
// publishes messages (with or without a timestamp property), consumes and acknowledges them.
// Failures throw std::runtime_error.
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

namespace lagpilot::testkit {

class AmqpTestClient {
 public:
  AmqpTestClient(int port, const std::string& user, const std::string& password,
                 const std::string& vhost = "/") {
    connection_ = amqp_new_connection();
    amqp_socket_t* socket = amqp_tcp_socket_new(connection_);
    timeval tv{10, 0};
    if (amqp_socket_open_noblock(socket, "127.0.0.1", port, &tv) != AMQP_STATUS_OK) {
      throw std::runtime_error("test client: cannot connect to 127.0.0.1:" + std::to_string(port));
    }
    amqp_set_rpc_timeout(connection_, &tv);
    check(amqp_login(connection_, vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, user.c_str(),
                     password.c_str()),
          "login");
    amqp_channel_open(connection_, 1);
    check(amqp_get_rpc_reply(connection_), "channel.open");
  }
  ~AmqpTestClient() {
    amqp_channel_close(connection_, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(connection_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(connection_);
  }
  AmqpTestClient(const AmqpTestClient&) = delete;
  AmqpTestClient& operator=(const AmqpTestClient&) = delete;

  // A durable queue; `single_active_consumer` sets x-single-active-consumer, `quorum`
  // x-queue-type quorum.
  void declare(const std::string& queue, bool single_active_consumer = false, bool quorum = false) {
    amqp_table_entry_t entries[2];
    amqp_table_t arguments = amqp_empty_table;
    arguments.entries = entries;
    if (single_active_consumer) {
      entries[arguments.num_entries].key = amqp_cstring_bytes("x-single-active-consumer");
      entries[arguments.num_entries].value.kind = AMQP_FIELD_KIND_BOOLEAN;
      entries[arguments.num_entries].value.value.boolean = 1;
      ++arguments.num_entries;
    }
    if (quorum) {
      entries[arguments.num_entries].key = amqp_cstring_bytes("x-queue-type");
      entries[arguments.num_entries].value.kind = AMQP_FIELD_KIND_UTF8;
      entries[arguments.num_entries].value.value.bytes = amqp_cstring_bytes("quorum");
      ++arguments.num_entries;
    }
    amqp_queue_declare(connection_, 1, amqp_cstring_bytes(queue.c_str()), 0, /*durable=*/1, 0, 0,
                       arguments);
    check(amqp_get_rpc_reply(connection_), "queue.declare " + queue);
  }

  void purge(const std::string& queue) {
    amqp_queue_purge(connection_, 1, amqp_cstring_bytes(queue.c_str()));
    check(amqp_get_rpc_reply(connection_), "queue.purge " + queue);
  }

  // `count` persistent messages to `queue` through the default exchange; with `timestamp`, each
  // carries that timestamp property (seconds).
  void publish(const std::string& queue, int count,
               std::optional<std::chrono::system_clock::time_point> timestamp = std::nullopt) {
    for (int i = 0; i < count; ++i) {
      amqp_basic_properties_t properties{};
      properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
      properties.delivery_mode = 2;
      if (timestamp) {
        properties._flags |= AMQP_BASIC_TIMESTAMP_FLAG;
        properties.timestamp = static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(timestamp->time_since_epoch())
                .count());
      }
      const std::string body = "message " + std::to_string(i);
      if (amqp_basic_publish(connection_, 1, amqp_empty_bytes, amqp_cstring_bytes(queue.c_str()), 0,
                             0, &properties, amqp_cstring_bytes(body.c_str())) != 0) {
        throw std::runtime_error("test client: publish failed");
      }
    }
    // A round trip so that the server has taken every message before this returns.
    amqp_queue_declare(connection_, 1, amqp_cstring_bytes(queue.c_str()), 1, 0, 0, 0,
                       amqp_empty_table);
    check(amqp_get_rpc_reply(connection_), "queue.declare (passive) " + queue);
  }

  // Messages ready in `queue` now (passive queue.declare).
  int64_t ready(const std::string& queue) {
    const auto* ok = amqp_queue_declare(connection_, 1, amqp_cstring_bytes(queue.c_str()), 1, 0, 0,
                                        0, amqp_empty_table);
    check(amqp_get_rpc_reply(connection_), "queue.declare (passive) " + queue);
    return ok ? static_cast<int64_t>(ok->message_count) : -1;
  }

  // Subscribes to `queue` with basic.consume (manual acks) and a prefetch of `prefetch`: from
  // now on this client is one of the queue's consumers.
  void subscribe(const std::string& queue, int prefetch) {
    amqp_basic_qos(connection_, 1, 0, static_cast<uint16_t>(prefetch), 0);
    check(amqp_get_rpc_reply(connection_), "basic.qos");
    amqp_basic_consume(connection_, 1, amqp_cstring_bytes(queue.c_str()), amqp_empty_bytes, 0,
                       /*no_ack=*/0, 0, amqp_empty_table);
    check(amqp_get_rpc_reply(connection_), "basic.consume " + queue);
  }

  // Receives `count` deliveries of the subscription and acknowledges each (unless `ack` is
  // false: they stay unacknowledged). Returns how many arrived within `timeout` each.
  int consume(int count, bool ack = true,
              std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    int received = 0;
    while (received < count) {
      amqp_maybe_release_buffers(connection_);
      amqp_envelope_t envelope;
      timeval tv{static_cast<time_t>(timeout.count() / 1000),
                 static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
      amqp_rpc_reply_t reply = amqp_consume_message(connection_, &envelope, &tv, 0);
      if (reply.reply_type != AMQP_RESPONSE_NORMAL) break;
      if (ack) amqp_basic_ack(connection_, 1, envelope.delivery_tag, 0);
      amqp_destroy_envelope(&envelope);
      ++received;
    }
    return received;
  }

 private:
  void check(const amqp_rpc_reply_t& reply, const std::string& what) {
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
      throw std::runtime_error("test client: " + what + " failed (reply type " +
                               std::to_string(reply.reply_type) + ")");
    }
  }

  amqp_connection_state_t connection_ = nullptr;
};

}  // namespace lagpilot::testkit
