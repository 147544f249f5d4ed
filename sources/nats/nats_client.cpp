#include "sources/nats/nats_client.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "util/outage_gate.h"

namespace lagpilot {
namespace {

constexpr const char* kUnreachable = "SourceUnreachable";

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

Error invalid_credentials(const std::string& problem) {
  return Error{"InvalidCredentials", "spec.source.natsJetStream.authSecretRef: " + problem};
}

// The text between the line holding `begin_marker` and the line holding `end_marker`, trimmed;
// empty when absent. The marker lines of a .creds file carry a varying number of dashes.
std::string armored_block(const std::string& text, const std::string& begin_marker,
                          const std::string& end_marker) {
  const auto begin = text.find(begin_marker);
  if (begin == std::string::npos) return "";
  const auto body = text.find('\n', begin);
  if (body == std::string::npos) return "";
  const auto end = text.find(end_marker, body);
  if (end == std::string::npos) return "";
  const auto end_line = text.rfind('\n', end);
  return trim(text.substr(
      body + 1, end_line == std::string::npos || end_line < body ? 0 : end_line - body - 1));
}

int64_t milliseconds_left(const Clock& clock, MonotonicTime deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.monotonic_now())
          .count();
  return std::clamp<int64_t>(left, 1, 3'600'000);
}

std::string status_text(natsStatus status) {
  std::string text = natsStatus_GetText(status);
  // The thread's last error adds the server's words (e.g. "Authorization Violation").
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && last == status && *detail != '\0') {
    std::string extra = detail;
    // "(conn.c:1234): nats: ..." : keep the words, not the source position.
    if (auto colon = extra.find("): "); extra.rfind('(', 0) == 0 && colon != std::string::npos) {
      extra = extra.substr(colon + 3);
    }
    if (extra != text) text += ": " + extra;
  }
  return text;
}

bool is_unreachable(natsStatus status) {
  switch (status) {
    case NATS_TIMEOUT:
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_ADDRESS_MISSING:
    case NATS_SYS_ERROR:
      return true;
    default:
      return false;
  }
}

template <typename T>
bool answered(const Result<T>& result) {
  return result.ok() || result.error().code != kUnreachable;
}

// libnats' callbacks for a credentials file held in memory (libnats 3.4 reads .creds only from
// files): the user JWT, and the server's nonce signed with the user's NKey seed.
natsStatus user_jwt_callback(char** user_jwt, char** /*custom_error*/, void* closure) {
  const auto* settings = static_cast<const NatsConnectionSettings*>(closure);
  *user_jwt = strdup(settings->user_jwt.c_str());
  return *user_jwt == nullptr ? NATS_NO_MEMORY : NATS_OK;
}

natsStatus signature_callback(char** /*custom_error*/, unsigned char** signature, int* length,
                              const char* nonce, void* closure) {
  const auto* settings = static_cast<const NatsConnectionSettings*>(closure);
  return nats_Sign(settings->user_seed.c_str(), nonce, signature, length);
}

// One open connection and its JetStream context; closed when the last user lets go.
class Connection {
 public:
  static Result<std::shared_ptr<Connection>> open(const NatsConnectionSettings& settings,
                                                  const std::string& description,
                                                  int64_t timeout_ms) {
    natsOptions* options = nullptr;
    natsStatus status = natsOptions_Create(&options);
    auto fail = [&](const std::string& what) -> Error {
      Error error{is_unreachable(status) ? kUnreachable : error_code(status),
                  description + ": " + what + ": " + status_text(status)};
      natsOptions_Destroy(options);
      return error;
    };
    if (status != NATS_OK) return fail("options");
    std::vector<const char*> urls;
    for (const auto& server : settings.servers) urls.push_back(server.c_str());
    status = natsOptions_SetServers(options, urls.data(), static_cast<int>(urls.size()));
    if (status == NATS_OK) status = natsOptions_SetTimeout(options, timeout_ms);
    // No reconnect: a lost connection closes at once and the next poll opens a new one through
    // the outage gate, so nothing waits on libnats' reconnect loop.
    if (status == NATS_OK) status = natsOptions_SetAllowReconnect(options, false);
    if (status == NATS_OK) status = natsOptions_SetFailRequestsOnDisconnect(options, true);
    if (status == NATS_OK) status = natsOptions_SetName(options, "lagpilot");
    // A connection whose server went silent (no FIN: a dead host, a dropped NAT entry) is closed
    // after three unanswered pings, 30 s, instead of libnats' default 2 minutes x 2.
    if (status == NATS_OK) status = natsOptions_SetPingInterval(options, 10'000);
    if (status == NATS_OK) status = natsOptions_SetMaxPingsOut(options, 3);
    if (status == NATS_OK && settings.tls) {
      status = natsOptions_SetSecure(options, true);
      if (status == NATS_OK && !settings.ca_pem.empty()) {
        status = natsOptions_SetCATrustedCertificates(options, settings.ca_pem.c_str());
      }
      // libnats verifies the chain and the URL's host (a DNS name against the certificate's DNS
      // names, an IP address against its IP addresses) for every server it connects to.
    }
    if (status == NATS_OK && !settings.token.empty()) {
      status = natsOptions_SetToken(options, settings.token.c_str());
    }
    if (status == NATS_OK && !settings.username.empty()) {
      status =
          natsOptions_SetUserInfo(options, settings.username.c_str(), settings.password.c_str());
    }
    if (status == NATS_OK && !settings.user_jwt.empty()) {
      status = natsOptions_SetUserCredentialsCallbacks(
          options, user_jwt_callback, const_cast<NatsConnectionSettings*>(&settings),
          signature_callback, const_cast<NatsConnectionSettings*>(&settings));
    }
    if (status != NATS_OK) return fail("options");

    natsConnection* nc = nullptr;
    status = natsConnection_Connect(&nc, options);
    if (status != NATS_OK) return fail("connect");
    natsOptions_Destroy(options);
    jsCtx* js = nullptr;
    status = natsConnection_JetStream(&js, nc, nullptr);
    if (status != NATS_OK) {
      Error error{error_code(status), description + ": JetStream context: " + status_text(status)};
      natsConnection_Destroy(nc);
      return error;
    }
    return std::make_shared<Connection>(nc, js);
  }

  Connection(natsConnection* nc, jsCtx* js) : nc_(nc), js_(js) {}
  ~Connection() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool closed() const { return natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED; }
  natsConnection* nc() const { return nc_; }
  jsCtx* js() const { return js_; }

  static std::string error_code(natsStatus status) {
    if (is_unreachable(status)) return kUnreachable;
    switch (status) {
      case NATS_NOT_PERMITTED:
      case NATS_CONNECTION_AUTH_FAILED:
        return "SourceAccessDenied";
      case NATS_SSL_ERROR:
      case NATS_SECURE_CONNECTION_WANTED:
      case NATS_SECURE_CONNECTION_REQUIRED:
        return "SourceTLSError";
      default:
        return "SourceError";
    }
  }

 private:
  natsConnection* nc_;
  jsCtx* js_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// NatsConnectionSettings

Result<NatsConnectionSettings> NatsConnectionSettings::from(const std::vector<std::string>& servers,
                                                            bool tls,
                                                            const SourceCredentials& credentials) {
  NatsConnectionSettings settings;
  std::set<std::string> unique;
  for (const auto& server : servers) unique.insert(trim(server));
  settings.servers.assign(unique.begin(), unique.end());
  settings.tls = tls || std::any_of(unique.begin(), unique.end(), [](const std::string& server) {
                   return server.rfind("tls://", 0) == 0;
                 });
  auto value = [&](const std::string& key) -> std::string {
    auto found = credentials.find(key);
    return found == credentials.end() ? "" : found->second;
  };
  settings.token = trim(value("token"));
  settings.username = value("username");
  settings.password = value("password");
  settings.ca_pem = value("ca.crt");
  const std::string creds = value("creds");

  const int methods = (settings.token.empty() ? 0 : 1) +
                      (settings.username.empty() && settings.password.empty() ? 0 : 1) +
                      (creds.empty() ? 0 : 1);
  if (methods > 1) {
    return invalid_credentials("set one of the keys token, username and password, or creds");
  }
  if (settings.username.empty() != settings.password.empty()) {
    return invalid_credentials(settings.username.empty()
                                   ? "key username is required with password"
                                   : "key password is required with username");
  }
  if (!creds.empty()) {
    settings.user_jwt = armored_block(creds, "BEGIN NATS USER JWT", "END NATS USER JWT");
    settings.user_seed = armored_block(creds, "BEGIN USER NKEY SEED", "END USER NKEY SEED");
    if (settings.user_jwt.empty()) {
      return invalid_credentials("key creds: no user JWT (-----BEGIN NATS USER JWT-----) in it");
    }
    if (settings.user_seed.rfind("SU", 0) != 0) {
      return invalid_credentials(
          "key creds: no user NKey seed (-----BEGIN USER NKEY SEED----- SU...) in it");
    }
  }
  if (!settings.ca_pem.empty()) {
    if (settings.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return invalid_credentials("key ca.crt: not a PEM certificate");
    }
    settings.tls = true;
  }
  return settings;
}

std::string NatsConnectionSettings::describe() const {
  std::ostringstream text;
  text << "servers=";
  for (std::size_t i = 0; i < servers.size(); ++i) text << (i ? "," : "") << servers[i];
  text << " auth="
       << (!token.empty()      ? "token"
           : !username.empty() ? "user"
           : !user_jwt.empty() ? "creds"
                               : "none");
  text << " tls=" << (tls ? (ca_pem.empty() ? "system-ca" : "ca.crt") : "off");
  return text.str();
}

// ---------------------------------------------------------------------------------------------
// NatsClient

struct NatsClient::Impl {
  Impl(NatsConnectionSettings connection_settings, NatsOptions nats_options, const Clock& c)
      : settings(std::move(connection_settings)),
        options(nats_options),
        clock(c),
        description("nats " + settings.describe()) {}

  ~Impl() {
    std::lock_guard lock(connection_mutex);
    connection.reset();
  }

  const NatsConnectionSettings settings;
  const NatsOptions options;
  const Clock& clock;
  const std::string description;

  // Connecting: one at a time; the others wait for it (up to their deadline) and use its result.
  std::timed_mutex connect_mutex;
  std::mutex connection_mutex;  // guards `connection` and `connect_count`
  std::shared_ptr<Connection> connection;
  int connect_count = 0;

  // Connecting to a server that does not answer (refused, no answer before the deadline): one
  // poll at a time tries, the other monitors of the server fail at once.
  OutageGate server_outage;
  // Requests about a stream that got no answer (the stream's leader is away; the connection
  // broke mid-request): by stream, so that one unanswered stream does not fail the others.
  OutageGate stream_outage;

  std::shared_ptr<Connection> current() {
    std::lock_guard lock(connection_mutex);
    if (connection && !connection->closed()) return connection;
    return nullptr;
  }

  Result<std::shared_ptr<Connection>> connected(MonotonicTime deadline) {
    if (auto open = current()) return open;
    return server_outage.call(
        "", kUnreachable, [&] { return connect(deadline); },
        [](const auto& result) { return answered(result); });
  }

  Result<std::shared_ptr<Connection>> connect(MonotonicTime deadline) {
    std::unique_lock lock(connect_mutex, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::milliseconds(milliseconds_left(clock, deadline)))) {
      return Error{kUnreachable, description + ": connect: no answer within the poll timeout"};
    }
    if (auto open = current()) return open;  // another caller connected meanwhile
    std::shared_ptr<Connection> retired;     // a closed connection, destroyed outside the lock
    {
      std::lock_guard guard(connection_mutex);
      retired = std::move(connection);
    }
    retired.reset();
    auto opened = Connection::open(settings, description, milliseconds_left(clock, deadline));
    if (!opened) return opened.error();
    std::lock_guard guard(connection_mutex);
    connection = *opened;
    ++connect_count;
    spdlog::info("nats client={} connected", description);
    return connection;
  }

  // Runs `request(connection, timeout_ms)` about `stream` through the gates.
  template <typename Request>
  auto gated(const std::string& stream, MonotonicTime deadline, Request&& request)
      -> decltype(request(std::declval<Connection&>(), int64_t{})) {
    return stream_outage.call(
        stream, kUnreachable,
        [&]() -> decltype(request(std::declval<Connection&>(), int64_t{})) {
          auto open = connected(deadline);
          if (!open) return open.error();
          return request(**open, milliseconds_left(clock, deadline));
        },
        [](const auto& result) { return answered(result); });
  }
};

NatsClient::NatsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NatsClient::~NatsClient() = default;

const NatsConnectionSettings& NatsClient::settings() const { return impl_->settings; }

const std::string& NatsClient::description() const { return impl_->description; }

int NatsClient::connects() const {
  std::lock_guard lock(impl_->connection_mutex);
  return impl_->connect_count;
}

Result<NatsConsumerState> NatsClient::consumer_info(const std::string& stream,
                                                    const std::string& consumer,
                                                    MonotonicTime deadline) {
  const std::string& description = impl_->description;
  return impl_->gated(
      stream, deadline,
      [&](Connection& connection, int64_t timeout_ms) -> Result<NatsConsumerState> {
        jsOptions options;
        jsOptions_Init(&options);
        options.Wait = timeout_ms;
        jsConsumerInfo* info = nullptr;
        jsErrCode js_error = static_cast<jsErrCode>(0);
        const natsStatus status = js_GetConsumerInfo(&info, connection.js(), stream.c_str(),
                                                     consumer.c_str(), &options, &js_error);
        const std::string what = description + ": consumer " + consumer + " of stream " + stream;
        if (status != NATS_OK) {
          if (js_error == JSStreamNotFoundErr) {
            return Error{"StreamNotFound", description + ": stream " + stream + " not found"};
          }
          if (js_error == JSConsumerNotFoundErr || status == NATS_NOT_FOUND) {
            return Error{"ConsumerNotFound", what + ": not found (a durable consumer name?)"};
          }
          if (status == NATS_NO_RESPONDERS) {
            return Error{"SourceError", description + ": JetStream is not enabled on the server"};
          }
          return Error{Connection::error_code(status), what + ": " + status_text(status)};
        }
        NatsConsumerState state;
        state.delivered_stream_seq = info->Delivered.Stream;
        state.ack_floor_stream_seq = info->AckFloor.Stream;
        state.ack_floor_consumer_seq = info->AckFloor.Consumer;
        state.num_pending = info->NumPending;
        state.num_ack_pending = info->NumAckPending;
        state.num_waiting = info->NumWaiting;
        state.push_bound = info->PushBound;
        if (info->Config != nullptr) {
          const jsConsumerConfig& config = *info->Config;
          state.push = config.DeliverSubject != nullptr && *config.DeliverSubject != '\0';
          if (config.DeliverGroup != nullptr) state.deliver_group = config.DeliverGroup;
          if (config.FilterSubject != nullptr) state.filter_subject = config.FilterSubject;
        }
        jsConsumerInfo_Destroy(info);
        return state;
      });
}

Result<std::optional<NatsStoredMessage>> NatsClient::first_message_from(
    const std::string& stream, uint64_t sequence, const std::string& subject_filter,
    MonotonicTime deadline) {
  using Reading = Result<std::optional<NatsStoredMessage>>;
  const std::string& description = impl_->description;
  return impl_->gated(stream, deadline, [&](Connection& connection, int64_t timeout_ms) -> Reading {
    // The stream's get-message API with next_by_subj: the first message at or after `sequence`
    // on the subject, so a deleted or expired message gives the next one.
    const std::string subject = "$JS.API.STREAM.MSG.GET." + stream;
    const std::string body =
        nlohmann::json{{"seq", sequence},
                       {"next_by_subj", subject_filter.empty() ? ">" : subject_filter}}
            .dump();
    natsMsg* reply = nullptr;
    const natsStatus status =
        natsConnection_Request(&reply, connection.nc(), subject.c_str(), body.data(),
                               static_cast<int>(body.size()), timeout_ms);
    const std::string what =
        description + ": message " + std::to_string(sequence) + " of stream " + stream;
    if (status == NATS_NO_RESPONDERS) {
      return Error{"SourceError", description + ": JetStream is not enabled on the server"};
    }
    if (status != NATS_OK) {
      return Error{Connection::error_code(status), what + ": " + status_text(status)};
    }
    const std::string text(natsMsg_GetData(reply),
                           static_cast<std::size_t>(natsMsg_GetDataLength(reply)));
    natsMsg_Destroy(reply);
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
      return Error{"SourceError", what + ": the server's answer is not JSON"};
    }
    if (auto error = json.find("error"); error != json.end() && error->is_object()) {
      const int code = error->value("err_code", 0);
      if (code == JSNoMessageFoundErr) return std::optional<NatsStoredMessage>{};
      if (code == JSStreamNotFoundErr) {
        return Error{"StreamNotFound", description + ": stream " + stream + " not found"};
      }
      return Error{"SourceError", what + ": " + error->value("description", "error")};
    }
    const auto message = json.find("message");
    if (message == json.end() || !message->is_object() || !(*message)["seq"].is_number() ||
        !(*message)["time"].is_string()) {
      return Error{"SourceError", what + ": no message in the server's answer"};
    }
    auto time = parse_rfc3339((*message)["time"].get<std::string>());
    if (!time) return Error{"SourceError", what + ": unreadable time"};
    return std::optional<NatsStoredMessage>{
        NatsStoredMessage{(*message)["seq"].get<uint64_t>(), *time}};
  });
}

// ---------------------------------------------------------------------------------------------
// NatsClientPool

NatsClientPool::NatsClientPool(NatsOptions options, Clock& clock)
    : options_(options), clock_(clock) {}

NatsClientPool::~NatsClientPool() = default;

std::shared_ptr<NatsClient> NatsClientPool::acquire(const NatsConnectionSettings& settings) {
  std::lock_guard lock(mutex_);
  auto& slot = clients_[settings];
  if (auto client = slot.lock()) return client;
  auto client = std::shared_ptr<NatsClient>(
      new NatsClient(std::make_unique<NatsClient::Impl>(settings, options_, clock_)));
  slot = client;
  used_ = true;
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  return client;
}

std::size_t NatsClientPool::size() const {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  return clients_.size();
}

bool NatsClientPool::used() const {
  std::lock_guard lock(mutex_);
  return used_;
}

void close_nats_library(Duration timeout) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
  const natsStatus status = nats_CloseAndWait(std::max<int64_t>(1, ms));
  if (status != NATS_OK && status != NATS_NOT_INITIALIZED) {
    spdlog::warn("nats library did not close within {} ms: {}", ms, natsStatus_GetText(status));
  }
}

}  // namespace lagpilot
