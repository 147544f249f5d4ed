// The librabbitmq side of the RabbitMQ source: the only translation unit that includes it.
#include "sources/rabbitmq/amqp_client.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

namespace lagpilot {

std::string AmqpConnectionSettings::describe() const {
  return std::string(tls ? "amqps://" : "amqp://") + server() + " vhost=" + vhost +
         " user=" + username;
}

std::string AmqpConnectionSettings::server() const { return host + ":" + std::to_string(port); }

namespace {

constexpr amqp_channel_t kChannel = 1;
// Debian's bundle of the system's trusted CAs, used when the Secret has no ca.crt.
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

timeval to_timeval(Duration left) {
  const auto micros =
      std::max<int64_t>(1000, std::chrono::duration_cast<std::chrono::microseconds>(left).count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(micros / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(micros % 1'000'000);
  return tv;
}

std::string bytes_text(amqp_bytes_t bytes) {
  return std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

bool tls_status(int status) {
  return status == AMQP_STATUS_SSL_ERROR || status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED ||
         status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED ||
         status == AMQP_STATUS_SSL_CONNECTION_FAILED;
}

// A failure of one request, and whether the server answered it (for the outage gate).
struct Failure {
  Error error;
  bool answered = false;
};

}  // namespace

struct AmqpClient::Impl {
  Impl(AmqpConnectionSettings s, std::shared_ptr<OutageGate> g, const Clock& c)
      : settings(std::move(s)), gate(std::move(g)), clock(c) {}
  ~Impl() { close(); }

  AmqpConnectionSettings settings;
  std::shared_ptr<OutageGate> gate;
  const Clock& clock;
  std::timed_mutex mutex;  // one request on the connection at a time
  amqp_connection_state_t connection = nullptr;
  bool channel_open = false;
  int connections_opened = 0;

  Duration time_left(MonotonicTime deadline) const {
    return std::max(Duration::zero(), Duration(deadline - clock.monotonic_now()));
  }

  Error error(const std::string& code, const std::string& problem) const {
    return Error{code, "rabbitmq " + settings.describe() + ": " + problem};
  }

  Failure unreachable(const std::string& problem) const {
    return Failure{error("SourceUnreachable", problem), false};
  }

  // A library failure (no AMQP answer); the connection is then unusable.
  Failure library_failure(const std::string& during, int status) {
    close();
    std::string problem = during + ": " + amqp_error_string2(status);
    if (status == AMQP_STATUS_TIMEOUT) problem = during + ": no answer within the poll timeout";
    if (tls_status(status)) {
      problem +=
          " (TLS: is tls right for this port, and is the server certificate signed by ca.crt "
          "in authSecretRef or a system CA and issued for host " +
          settings.host + "?)";
    } else if (!settings.tls &&
               (status == AMQP_STATUS_CONNECTION_CLOSED || status == AMQP_STATUS_SOCKET_CLOSED ||
                status == AMQP_STATUS_BAD_AMQP_DATA ||
                (status == AMQP_STATUS_SOCKET_ERROR && during == "login"))) {
      problem += " (is this an AMQP 0-9-1 port? a TLS port needs tls: true)";
    }
    return unreachable(problem);
  }

  // The server closed the channel or the connection: an answer.
  Failure server_failure(const std::string& during, const amqp_rpc_reply_t& reply,
                         const std::string& queue) {
    int code = 0;
    std::string text;
    if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      const auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
      code = m->reply_code;
      text = bytes_text(m->reply_text);
      amqp_channel_close_ok_t close_ok{};
      amqp_send_method(connection, kChannel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
      channel_open = false;
    } else if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      const auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
      code = m->reply_code;
      text = bytes_text(m->reply_text);
      amqp_connection_close_ok_t close_ok{};
      amqp_send_method(connection, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
      close();
    } else {
      close();
      return Failure{error("SourceError", during + ": unexpected method " +
                                              std::to_string(reply.reply.id) + " from the server"),
                     true};
    }
    const std::string said = " (" + std::to_string(code) + " " + text + ")";
    if (code == 404) {
      return Failure{error("QueueNotFound",
                           "queue " + queue + " does not exist in vhost " + settings.vhost + said),
                     true};
    }
    if (code == 403 || code == 530) {
      return Failure{error("AuthenticationFailed",
                           during + ": refused" + said +
                               "; check username and password in authSecretRef and the user's "
                               "permissions on vhost " +
                               settings.vhost),
                     true};
    }
    return Failure{error("SourceError", during + ": the server closed the channel" + said), true};
  }

  void close() {
    if (!connection) return;
    amqp_destroy_connection(connection);  // closes the socket without a handshake
    connection = nullptr;
    channel_open = false;
  }

  // Points the TLS socket at the CA bundle: ca.crt from the Secret, else the system's.
  std::optional<Failure> set_ca(amqp_socket_t* socket) {
    if (settings.ca_pem.empty()) {
      if (amqp_ssl_socket_set_cacert(socket, kSystemCaBundle) != AMQP_STATUS_OK) {
        return unreachable(std::string("cannot load the system CA bundle ") + kSystemCaBundle);
      }
      return std::nullopt;
    }
    // librabbitmq 0.11 reads CAs from a file only: a private temporary file, removed at once.
    std::string path =
        (std::filesystem::temp_directory_path() / "lagpilot-amqp-ca-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    if (fd < 0) return unreachable("cannot write ca.crt to a temporary file");
    const ssize_t written = ::write(fd, settings.ca_pem.data(), settings.ca_pem.size());
    ::close(fd);
    const int status = written == static_cast<ssize_t>(settings.ca_pem.size())
                           ? amqp_ssl_socket_set_cacert(socket, path.c_str())
                           : AMQP_STATUS_SSL_ERROR;
    ::unlink(path.c_str());
    if (status != AMQP_STATUS_OK) {
      return Failure{error("InvalidCredentials", "ca.crt in authSecretRef is not a PEM CA bundle"),
                     true};
    }
    return std::nullopt;
  }

  std::optional<Failure> connect(MonotonicTime deadline) {
    close();
    connection = amqp_new_connection();
    ++connections_opened;
    amqp_socket_t* socket =
        settings.tls ? amqp_ssl_socket_new(connection) : amqp_tcp_socket_new(connection);
    if (!socket) {
      close();
      return unreachable("cannot create a socket");
    }
    if (settings.tls) {
      amqp_ssl_socket_set_verify_peer(socket, 1);
      amqp_ssl_socket_set_verify_hostname(socket, 1);
      if (auto failed = set_ca(socket)) {
        close();
        return failed;
      }
    }
    timeval tv = to_timeval(time_left(deadline));
    int status = amqp_socket_open_noblock(socket, settings.host.c_str(), settings.port, &tv);
    if (status != AMQP_STATUS_OK) return library_failure("connect", status);
    tv = to_timeval(time_left(deadline));
    amqp_set_handshake_timeout(connection, &tv);
    amqp_set_rpc_timeout(connection, &tv);
    amqp_rpc_reply_t reply =
        amqp_login(connection, settings.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                   settings.username.c_str(), settings.password.c_str());
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      return library_failure("login", reply.library_error);
    }
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
      return server_failure("login", reply, "");
    }
    return std::nullopt;
  }

  std::optional<Failure> open_channel(MonotonicTime deadline) {
    timeval tv = to_timeval(time_left(deadline));
    amqp_set_rpc_timeout(connection, &tv);
    amqp_channel_open(connection, kChannel);
    amqp_rpc_reply_t reply = amqp_get_rpc_reply(connection);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      return library_failure("channel.open", reply.library_error);
    }
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
      return server_failure("channel.open", reply, "");
    }
    channel_open = true;
    return std::nullopt;
  }

  // Connects when needed, then one passive queue.declare.
  Result<AmqpQueueCounts, Failure> declare(const std::string& queue, MonotonicTime deadline) {
    if (!connection) {
      if (auto failed = connect(deadline)) return *failed;
    }
    if (!channel_open) {
      if (auto failed = open_channel(deadline)) return *failed;
    }
    timeval tv = to_timeval(time_left(deadline));
    amqp_set_rpc_timeout(connection, &tv);
    const auto* ok = amqp_queue_declare(connection, kChannel, amqp_cstring_bytes(queue.c_str()),
                                        /*passive=*/1, 0, 0, 0, amqp_empty_table);
    amqp_rpc_reply_t reply = amqp_get_rpc_reply(connection);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      return library_failure("queue.declare", reply.library_error);
    }
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION) {
      return server_failure("queue.declare", reply, queue);
    }
    if (!ok) return unreachable("queue.declare: no answer");
    AmqpQueueCounts counts{static_cast<int64_t>(ok->message_count),
                           static_cast<int>(ok->consumer_count)};
    amqp_maybe_release_buffers(connection);
    return counts;
  }

  Result<AmqpQueueCounts, Failure> request(const std::string& queue, MonotonicTime deadline) {
    std::unique_lock lock(mutex, std::defer_lock);
    if (!lock.try_lock_for(time_left(deadline))) {
      return unreachable("no answer within the poll timeout (the shared connection is busy)");
    }
    const bool reused = connection != nullptr;
    auto result = declare(queue, deadline);
    // A connection the server dropped since the last poll (a restart) fails its first write:
    // one retry on a fresh connection, within the same deadline.
    if (!result.ok() && !result.error().answered && reused && !connection &&
        time_left(deadline) > Duration::zero()) {
      result = declare(queue, deadline);
    }
    return result;
  }
};

AmqpClient::AmqpClient(AmqpConnectionSettings settings, std::shared_ptr<OutageGate> gate,
                       const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(gate), clock)) {}

AmqpClient::~AmqpClient() = default;

const AmqpConnectionSettings& AmqpClient::settings() const { return impl_->settings; }

int AmqpClient::connections_opened() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connections_opened;
}

Result<AmqpQueueCounts> AmqpClient::queue_counts(const std::string& queue, MonotonicTime deadline) {
  // Through the server's outage gate: while the server does not answer, one request at a time
  // waits for it and the others fail at once with the message of the failure that found it down.
  const std::string key = impl_->settings.server();
  auto pass = impl_->gate->enter(key, "SourceUnreachable");
  if (!pass) return pass.error();
  Result<AmqpQueueCounts, Failure> raw = [&]() -> Result<AmqpQueueCounts, Failure> {
    try {
      return impl_->request(queue, deadline);
    } catch (const std::exception& e) {
      return impl_->unreachable(std::string("request failed: ") + e.what());
    }
  }();
  const bool answered = raw.ok() || raw.error().answered;
  std::string message =
      impl_->gate->leave(*pass, key, answered, answered ? "" : raw.error().error.message);
  if (raw.ok()) return *raw;
  if (!answered) return Error{raw.error().error.code, std::move(message)};
  return raw.error().error;
}

std::shared_ptr<AmqpClient> AmqpClientPool::acquire(const AmqpConnectionSettings& settings) {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  std::erase_if(gates_, [](const auto& entry) { return entry.second.expired(); });
  if (auto existing = clients_[settings].lock()) return existing;
  auto gate = gates_[settings.server()].lock();
  if (!gate) {
    gate = std::make_shared<OutageGate>();
    gates_[settings.server()] = gate;
  }
  auto client = std::make_shared<AmqpClient>(settings, gate, clock_);
  clients_[settings] = client;
  return client;
}

std::size_t AmqpClientPool::size() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      clients_.begin(), clients_.end(), [](const auto& entry) { return !entry.second.expired(); }));
}

}  // namespace lagpilot
