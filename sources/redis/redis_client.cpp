#include "sources/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <utility>
#include <vector>

#include "util/outage_gate.h"

namespace lagpilot {
namespace {

// The client's one outage-gate key: a Redis server is up or down as a whole.
constexpr const char* kServerKey = "server";
// CLIENT SETNAME: operators (and the tests) see lagpilot's connections in CLIENT LIST.
constexpr const char* kClientName = "lagpilot";

struct ReplyDeleter {
  void operator()(redisReply* reply) const {
    if (reply != nullptr) freeReplyObject(reply);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* context) const {
    if (context != nullptr) redisFree(context);
  }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;

using Command = std::vector<std::string>;

timeval to_timeval(Duration duration) {
  const auto us = std::max<int64_t>(
      1000, std::chrono::duration_cast<std::chrono::microseconds>(duration).count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(us / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return tv;
}

std::string reply_text(const redisReply* reply) {
  if (reply == nullptr || reply->str == nullptr) return "";
  return std::string(reply->str, reply->len);
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// Redis's error replies that mean "who you are may not do this".
bool is_access_error(const std::string& error) {
  return starts_with(error, "NOAUTH") || starts_with(error, "WRONGPASS") ||
         starts_with(error, "NOPERM") || starts_with(error, "ERR AUTH") ||
         starts_with(error, "ERR invalid password");
}

// The flat [key, value, key, value...] arrays of XINFO, by key.
std::map<std::string, const redisReply*> fields_of(const redisReply* reply) {
  std::map<std::string, const redisReply*> fields;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return fields;
  for (std::size_t i = 0; i + 1 < reply->elements; i += 2) {
    fields[reply_text(reply->element[i])] = reply->element[i + 1];
  }
  return fields;
}

std::optional<int64_t> integer_field(const std::map<std::string, const redisReply*>& fields,
                                     const std::string& name) {
  auto found = fields.find(name);
  if (found == fields.end() || found->second->type != REDIS_REPLY_INTEGER) return std::nullopt;
  return static_cast<int64_t>(found->second->integer);
}

std::string string_field(const std::map<std::string, const redisReply*>& fields,
                         const std::string& name) {
  auto found = fields.find(name);
  if (found == fields.end()) return "";
  return reply_text(found->second);
}

// Blocks SIGPIPE for the calling thread while it lives, and discards one raised meanwhile: hiredis
// 0.14 writes with write(2), and a write to a connection the server closed would otherwise kill the
// process (SIGPIPE is sent to the thread that wrote). Not process-wide: the operator's own
// handling of signals stays as it is.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeBlocked() {
    if (!was_pending_) {
      const timespec no_wait{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &no_wait) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t pipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

// The smallest ID greater than `id` (XRANGE's exclusive "(" needs Redis 6.2; this works on any).
StreamId successor(StreamId id) {
  if (id.seq == UINT64_MAX) return StreamId{id.ms + 1, 0};
  return StreamId{id.ms, id.seq + 1};
}

// The IDs of an XRANGE reply, in order.
std::vector<StreamId> entry_ids(const redisReply* reply) {
  std::vector<StreamId> ids;
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return ids;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* entry = reply->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 1) continue;
    if (auto id = StreamId::parse(reply_text(entry->element[0]))) ids.push_back(*id);
  }
  return ids;
}

}  // namespace

std::optional<StreamId> StreamId::parse(const std::string& text) {
  const auto dash = text.find('-');
  StreamId id;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const char* ms_end = dash == std::string::npos ? end : text.data() + dash;
  auto [ms_at, ms_error] = std::from_chars(begin, ms_end, id.ms);
  if (ms_error != std::errc() || ms_at != ms_end || ms_end == begin) return std::nullopt;
  if (dash != std::string::npos) {
    auto [seq_at, seq_error] = std::from_chars(ms_end + 1, end, id.seq);
    if (seq_error != std::errc() || seq_at != end || ms_end + 1 == end) return std::nullopt;
  }
  return id;
}

std::string StreamId::to_string() const { return std::to_string(ms) + "-" + std::to_string(seq); }

Result<RedisConnectionSettings> RedisConnectionSettings::from(
    const std::string& host, int port, int db, const SourceCredentials& credentials) {
  RedisConnectionSettings settings;
  settings.host = host;
  settings.port = port;
  settings.db = db;
  const std::string where = "spec.source.redisStreams.authSecretRef: Secret key ";
  for (const char* tls_key : {"ca.crt", "tls.crt", "tls.key"}) {
    if (credentials.count(tls_key) > 0) {
      return Error{"InvalidCredentials",
                   where + tls_key +
                       ": TLS is not supported (lagpilot's Redis client, hiredis 0.14, has none)"};
    }
  }
  auto password = credentials.find("password");
  auto username = credentials.find("username");
  if (!credentials.empty() && (password == credentials.end() || password->second.empty())) {
    return Error{"InvalidCredentials", where + "password: missing or empty"};
  }
  if (password != credentials.end()) settings.password = password->second;
  if (username != credentials.end()) settings.username = username->second;
  for (const std::string* value : {&settings.password, &settings.username}) {
    if (value->find_first_of("\r\n") != std::string::npos) {
      return Error{"InvalidCredentials",
                   where + (value == &settings.password ? "password" : "username") +
                       ": must be a single line"};
    }
  }
  return settings;
}

std::string RedisConnectionSettings::address() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string RedisConnectionSettings::describe() const {
  std::string text = address() + " db=" + std::to_string(db);
  if (!username.empty()) text += " user=" + username;
  return text;
}

// ---------------------------------------------------------------------------------------------
// RedisClient

struct RedisClient::Impl {
  Impl(const Clock& client_clock, RedisOptions client_options, RedisConnectionSettings settings)
      : clock(client_clock),
        options(client_options),
        settings(std::move(settings)),
        server("redis " + this->settings.address()) {}

  const Clock& clock;
  RedisOptions options;
  RedisConnectionSettings settings;
  std::string server;  // "redis host:port", the start of every message

  // Held for a whole read; a read waits for it no longer than its own deadline.
  std::timed_mutex mutex;
  Context context;
  bool last_failure_timed_out = false;  // of the last connection_error()
  std::atomic<int> connects{0};
  // While the server does not answer, the polls of every monitor on it but one fail at once.
  OutageGate outage;

  Duration time_left(MonotonicTime deadline) const {
    return std::max(Duration::zero(), Duration(deadline - clock.monotonic_now()));
  }

  // An error of the connection (I/O, closed, timeout, protocol). The connection is dropped: the
  // next read connects again.
  Error connection_error(const std::string& what) {
    const int err = context ? context->err : REDIS_ERR_OTHER;
    const std::string detail = context ? std::string(context->errstr) : "no connection";
    const bool timed_out =
        err == REDIS_ERR_IO && (detail.find("temporarily unavailable") != std::string::npos ||
                                detail.find("timed out") != std::string::npos);
    last_failure_timed_out = timed_out;
    context.reset();
    if (err == REDIS_ERR_PROTOCOL) {
      // Something answered, in another protocol: the wrong port or a server of another kind.
      return Error{"SourceError", server + ": " + what + ": " + detail +
                                      " (is this a Redis server? check spec.source.redisStreams."
                                      "address; TLS listeners are not supported)"};
    }
    // Not about one stream: during an outage these are every monitor's message on the server.
    if (timed_out)
      return Error{"SourceUnreachable", server + ": no answer within the poll timeout"};
    if (err == REDIS_ERR_EOF) {
      return Error{"SourceUnreachable", server + ": the server closed the connection"};
    }
    return Error{"SourceUnreachable",
                 server + ": " + (what == "connect" ? "connect: " : "") + detail};
  }

  // Sends `commands` as one pipeline and reads every reply. Error replies are returned as replies;
  // only a failed connection is an error.
  Result<std::vector<Reply>> round_trip(const std::vector<Command>& commands,
                                        MonotonicTime deadline, const std::string& what) {
    const Duration left = time_left(deadline);
    last_failure_timed_out = true;
    if (left <= Duration::zero()) {
      context.reset();  // replies may still be on the way: never read them as the next answers
      return Error{"SourceUnreachable", server + ": no answer within the poll timeout"};
    }
    last_failure_timed_out = false;
    const SigpipeBlocked no_sigpipe;  // hiredis writes with write(2), not send(MSG_NOSIGNAL)
    if (redisSetTimeout(context.get(), to_timeval(left)) != REDIS_OK) {
      return connection_error(what);
    }
    for (const Command& command : commands) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (const std::string& arg : command) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
      }
      if (redisAppendCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(),
                                 lengths.data()) != REDIS_OK) {
        return connection_error(what);
      }
    }
    std::vector<Reply> replies;
    for (std::size_t i = 0; i < commands.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context.get(), &raw) != REDIS_OK) return connection_error(what);
      replies.emplace_back(static_cast<redisReply*>(raw));
    }
    return replies;
  }

  // An error reply of Redis to `what`, classified.
  Error reply_error(const std::string& what, const std::string& error) {
    if (is_access_error(error)) {
      return Error{"SourceAccessDenied",
                   server + ": " + what + ": " + error +
                       (settings.username.empty() ? "" : " (user " + settings.username + ")")};
    }
    return Error{"SourceError", server + ": " + what + ": " + error};
  }

  Status connect(MonotonicTime deadline);
  Result<StreamGroupReading> read(const std::string& stream, const std::string& group,
                                  MonotonicTime deadline);
  Result<StreamGroupReading> read_locked(const std::string& stream, const std::string& group,
                                         MonotonicTime deadline);
};

Status RedisClient::Impl::connect(MonotonicTime deadline) {
  const Duration left = time_left(deadline);
  if (left <= Duration::zero()) {
    return Error{"SourceUnreachable", server + ": connect: no answer within the poll timeout"};
  }
  context.reset(redisConnectWithTimeout(settings.host.c_str(), settings.port, to_timeval(left)));
  if (!context) return Error{"SourceUnreachable", server + ": connect: out of memory"};
  if (context->err != 0) return connection_error("connect");
  ++connects;

  std::vector<Command> setup;
  if (!settings.password.empty()) {
    setup.push_back(settings.username.empty()
                        ? Command{"AUTH", settings.password}
                        : Command{"AUTH", settings.username, settings.password});
  }
  if (settings.db != 0) setup.push_back({"SELECT", std::to_string(settings.db)});
  setup.push_back({"CLIENT", "SETNAME", kClientName});
  auto replies = round_trip(setup, deadline, "connect");
  if (!replies) return replies.error();
  std::size_t at = 0;
  if (!settings.password.empty()) {
    const redisReply* auth = (*replies)[at++].get();
    if (auth->type == REDIS_REPLY_ERROR) {
      context.reset();
      return Error{"SourceAccessDenied",
                   server + ": authentication" +
                       (settings.username.empty() ? "" : " as user " + settings.username) +
                       " failed: " + reply_text(auth) +
                       " (check the password in spec.source.redisStreams.authSecretRef)"};
    }
  }
  if (settings.db != 0) {
    const redisReply* select = (*replies)[at++].get();
    if (select->type == REDIS_REPLY_ERROR) {
      context.reset();
      return reply_error("SELECT " + std::to_string(settings.db), reply_text(select));
    }
  }
  // CLIENT SETNAME's answer does not matter (an ACL user may lack the right to it); NOAUTH here
  // shows up again on the first read.
  return ok_status();
}

Result<StreamGroupReading> RedisClient::Impl::read(const std::string& stream,
                                                   const std::string& group,
                                                   MonotonicTime deadline) {
  auto pass = outage.enter(kServerKey, "SourceUnreachable");
  if (!pass) return pass.error();
  Result<StreamGroupReading> result = Error{"SourceUnreachable", ""};
  std::unique_lock lock(mutex, std::defer_lock);
  if (!lock.try_lock_for(time_left(deadline))) {
    result = Error{"SourceUnreachable",
                   server + ": another poll held the connection until the poll deadline"};
  } else if (!pass->probe && outage.down(kServerKey)) {
    // The server went down while this poll waited for the connection: fail with the outage's
    // message below rather than wait again.
    result = Error{"SourceUnreachable", server + ": down"};
  } else {
    result = read_locked(stream, group, deadline);
  }
  const bool answered = result.ok() || result.error().code != "SourceUnreachable";
  std::string message =
      outage.leave(*pass, kServerKey, answered, answered ? "" : result.error().message);
  if (!answered) result = Error{result.error().code, std::move(message)};
  return result;
}

Result<StreamGroupReading> RedisClient::Impl::read_locked(const std::string& stream,
                                                          const std::string& group,
                                                          MonotonicTime deadline) {
  const bool reused = static_cast<bool>(context);
  if (!context) {
    auto connected = connect(deadline);
    if (!connected) return connected.error();
  }
  const std::string on_stream = "stream " + stream;
  const std::vector<Command> first = {
      {"XINFO", "STREAM", stream}, {"XINFO", "GROUPS", stream}, {"XPENDING", stream, group}};
  auto replies = round_trip(first, deadline, on_stream);
  if (!replies && reused && !last_failure_timed_out) {
    // The kept connection was closed (the server restarted, or closed it as idle: Redis's
    // `timeout`): connect again once, within the same deadline.
    if (auto connected = connect(deadline); !connected) return connected.error();
    replies = round_trip(first, deadline, on_stream);
  }
  if (!replies) return replies.error();
  const redisReply* info = (*replies)[0].get();
  const redisReply* groups = (*replies)[1].get();
  const redisReply* pending = (*replies)[2].get();

  if (info->type == REDIS_REPLY_ERROR) {
    const std::string error = reply_text(info);
    if (error == "ERR no such key") {
      return Error{"StreamNotFound", server + ": stream " + stream + " does not exist (db " +
                                         std::to_string(settings.db) + ")"};
    }
    if (starts_with(error, "WRONGTYPE")) {
      return Error{"SourceError", server + ": key " + stream + " is not a stream (WRONGTYPE)"};
    }
    return reply_error("XINFO STREAM " + stream, error);
  }
  if (groups->type == REDIS_REPLY_ERROR) {
    return reply_error("XINFO GROUPS " + stream, reply_text(groups));
  }
  const auto stream_fields = fields_of(info);
  StreamGroupReading reading;
  reading.length = integer_field(stream_fields, "length").value_or(0);
  reading.entries_added = integer_field(stream_fields, "entries-added");

  std::optional<std::map<std::string, const redisReply*>> group_fields;
  if (groups->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < groups->elements; ++i) {
      auto fields = fields_of(groups->element[i]);
      if (string_field(fields, "name") == group) {
        group_fields = std::move(fields);
        break;
      }
    }
  }
  if (!group_fields) {
    return Error{"GroupNotFound",
                 server + ": consumer group " + group + " does not exist on stream " + stream};
  }
  reading.consumers = static_cast<int>(integer_field(*group_fields, "consumers").value_or(0));
  reading.entries_read = integer_field(*group_fields, "entries-read");
  const std::optional<int64_t> lag = integer_field(*group_fields, "lag");
  const auto last_delivered = StreamId::parse(string_field(*group_fields, "last-delivered-id"));
  if (!last_delivered) {
    return Error{"SourceError", server + ": group " + group + " on stream " + stream +
                                    ": unreadable last-delivered-id"};
  }

  // XPENDING summary: [count, smallest id, greatest id, [[consumer, count]...]].
  if (pending->type == REDIS_REPLY_ERROR) {
    return reply_error("XPENDING " + stream + " " + group, reply_text(pending));
  }
  if (pending->type == REDIS_REPLY_ARRAY && pending->elements >= 2 &&
      pending->element[0]->type == REDIS_REPLY_INTEGER) {
    reading.pending = pending->element[0]->integer;
    if (reading.pending > 0)
      reading.oldest_pending = StreamId::parse(reply_text(pending->element[1]));
  }

  const StreamId first_after = successor(*last_delivered);
  if (lag) {
    reading.undelivered = std::max<int64_t>(0, *lag);
    if (reading.undelivered == 0) return reading;
    auto next = round_trip({{"XRANGE", stream, first_after.to_string(), "+", "COUNT", "1"}},
                           deadline, on_stream);
    if (!next) return next.error();
    const auto ids = entry_ids((*next)[0].get());
    if (!ids.empty()) reading.first_undelivered = ids.front();
    return reading;
  }

  // Redis gives no lag: count the entries after last-delivered-id, forward, up to the limit...
  reading.undelivered_counted = true;
  const int64_t limit = std::max<int64_t>(1, options.lag_count_limit);
  auto forward = round_trip(
      {{"XRANGE", stream, first_after.to_string(), "+", "COUNT", std::to_string(limit + 1)}},
      deadline, on_stream);
  if (!forward) return forward.error();
  const auto after = entry_ids((*forward)[0].get());
  if (!after.empty()) reading.first_undelivered = after.front();
  if (static_cast<int64_t>(after.size()) <= limit) {
    reading.undelivered = static_cast<int64_t>(after.size());
    return reading;
  }
  // ... or, past it, the stream's length minus the entries up to last-delivered-id.
  auto backward = round_trip(
      {{"XRANGE", stream, "-", last_delivered->to_string(), "COUNT", std::to_string(limit + 1)}},
      deadline, on_stream);
  if (!backward) return backward.error();
  const auto before = entry_ids((*backward)[0].get());
  if (static_cast<int64_t>(before.size()) <= limit) {
    reading.undelivered =
        std::max<int64_t>(limit + 1, reading.length - static_cast<int64_t>(before.size()));
    return reading;
  }
  return Error{"LagUnknown",
               server + ": group " + group + " on stream " + stream +
                   ": Redis reports no lag (entries deleted with XDEL, or a group created at $ "
                   "that has not read since) and more than " +
                   std::to_string(limit) + " entries lie on each side of its last-delivered-id"};
}

RedisClient::RedisClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisClient::~RedisClient() = default;

const RedisConnectionSettings& RedisClient::settings() const { return impl_->settings; }

Result<StreamGroupReading> RedisClient::read_group(const std::string& stream,
                                                   const std::string& group,
                                                   MonotonicTime deadline) {
  return impl_->read(stream, group, deadline);
}

int RedisClient::connects() const { return impl_->connects.load(); }

// ---------------------------------------------------------------------------------------------
// RedisClientPool

RedisClientPool::RedisClientPool(RedisOptions options, Clock& clock)
    : options_(options), clock_(clock) {}

RedisClientPool::~RedisClientPool() = default;

std::shared_ptr<RedisClient> RedisClientPool::acquire(const RedisConnectionSettings& settings) {
  std::lock_guard lock(mutex_);
  auto& slot = clients_[settings];
  if (auto client = slot.lock()) return client;
  std::erase_if(clients_, [&](const auto& entry) {
    return entry.second.expired() && &entry.second != &slot;
  });
  auto client = std::shared_ptr<RedisClient>(
      new RedisClient(std::make_unique<RedisClient::Impl>(clock_, options_, settings)));
  slot = client;
  spdlog::info("redis client={} opened ({} clients)", settings.describe(), clients_.size());
  return client;
}

std::size_t RedisClientPool::size() const {
  std::lock_guard lock(mutex_);
  std::erase_if(clients_, [](const auto& entry) { return entry.second.expired(); });
  return clients_.size();
}

}  // namespace lagpilot
