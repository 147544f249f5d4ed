#pragma once
// A real Redis server (Debian's redis-server, scripts/install-deps) on loopback for tests: a free
// 127.0.0.1 port, no persistence, a temporary directory; stopped by its pid (SIGKILL to the pid it
// started, never by name), and never outliving a crashed test (PR_SET_PDEATHSIG). Also a small
// hiredis client for what the tests do as producers and consumers (XADD, XREADGROUP, XACK...).
// Self-contained; failures throw std::runtime_error with the server's log.
//
//   lagpilot::testkit::RedisServer redis;                       // no auth
//   lagpilot::testkit::RedisServer secured({.password = "s3cret",
//                                           .acl_user = "app", .acl_password = "app-pass"});
//   auto admin = redis.client();  admin.command({"XADD", "orders", "*", "n", "1"});
#include <hiredis/hiredis.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/server_process.h"

namespace lagpilot::testkit {

// A reply, copied out of hiredis.
struct RedisValue {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError } type = Type::kNil;
  std::string text;
  long long integer = 0;
  std::vector<RedisValue> elements;

  bool is_error() const { return type == Type::kError; }
};

class RedisConnection {
 public:
  RedisConnection(int port, const std::string& user = "", const std::string& password = "") {
    timeval tv{5, 0};
    context_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (context_ == nullptr || context_->err != 0) {
      std::string why = context_ ? context_->errstr : "out of memory";
      if (context_) redisFree(context_);
      context_ = nullptr;
      throw std::runtime_error("connect to redis 127.0.0.1:" + std::to_string(port) + ": " + why);
    }
    redisSetTimeout(context_, tv);
    if (!password.empty()) {
      auto auth = user.empty() ? command({"AUTH", password}) : command({"AUTH", user, password});
      if (auth.is_error()) throw std::runtime_error("AUTH: " + auth.text);
    }
  }
  ~RedisConnection() {
    if (context_ != nullptr) redisFree(context_);
  }
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  RedisConnection(RedisConnection&& other) noexcept : context_(other.context_) {
    other.context_ = nullptr;
  }

  // One command; throws on a broken connection, returns error replies as values.
  RedisValue command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (reply == nullptr) throw std::runtime_error(std::string("redis: ") + context_->errstr);
    RedisValue value = copy(reply);
    freeReplyObject(reply);
    return value;
  }
  // A command that must succeed (no error reply).
  RedisValue ok(const std::vector<std::string>& args) {
    RedisValue value = command(args);
    if (value.is_error()) throw std::runtime_error(args.front() + ": " + value.text);
    return value;
  }

  // XADD with an explicit ID "<ms>-0"; returns the ID.
  std::string add_at(const std::string& stream, uint64_t ms, const std::string& seq = "0") {
    return ok({"XADD", stream, std::to_string(ms) + "-" + seq, "n", "1"}).text;
  }
  // `count` entries with IDs first_ms, first_ms + step_ms, ...; returns their IDs.
  std::vector<std::string> produce(const std::string& stream, int count, uint64_t first_ms,
                                   uint64_t step_ms) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) ids.push_back(add_at(stream, first_ms + i * step_ms));
    return ids;
  }
  // XREADGROUP of up to `count` new entries as `consumer`; returns their IDs.
  std::vector<std::string> consume(const std::string& stream, const std::string& group,
                                   const std::string& consumer, int count) {
    RedisValue reply = ok({"XREADGROUP", "GROUP", group, consumer, "COUNT", std::to_string(count),
                           "STREAMS", stream, ">"});
    std::vector<std::string> ids;
    if (reply.type != RedisValue::Type::kArray || reply.elements.empty()) return ids;
    for (const auto& entry : reply.elements[0].elements[1].elements) {
      ids.push_back(entry.elements[0].text);
    }
    return ids;
  }
  long long ack(const std::string& stream, const std::string& group,
                const std::vector<std::string>& ids) {
    std::vector<std::string> args = {"XACK", stream, group};
    args.insert(args.end(), ids.begin(), ids.end());
    return ok(args).integer;
  }
  // Connections whose CLIENT SETNAME is `name`.
  int clients_named(const std::string& name) {
    std::istringstream lines(ok({"CLIENT", "LIST"}).text);
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
      if (line.find(" name=" + name + " ") != std::string::npos) ++count;
    }
    return count;
  }

 private:
  static RedisValue copy(const redisReply* reply) {
    RedisValue value;
    switch (reply->type) {
      case REDIS_REPLY_STRING:
        value.type = RedisValue::Type::kString;
        break;
      case REDIS_REPLY_ARRAY:
        value.type = RedisValue::Type::kArray;
        break;
      case REDIS_REPLY_INTEGER:
        value.type = RedisValue::Type::kInteger;
        break;
      case REDIS_REPLY_STATUS:
        value.type = RedisValue::Type::kStatus;
        break;
      case REDIS_REPLY_ERROR:
        value.type = RedisValue::Type::kError;
        break;
      default:
        value.type = RedisValue::Type::kNil;
    }
    if (reply->str != nullptr) value.text.assign(reply->str, reply->len);
    value.integer = reply->integer;
    for (std::size_t i = 0; i < reply->elements; ++i) {
      value.elements.push_back(copy(reply->element[i]));
    }
    return value;
  }

  redisContext* context_ = nullptr;
};

struct RedisServerOptions {
  std::string password{};  // --requirepass (the default user's password)
  std::string acl_user{};  // an ACL user with every right, password acl_password
  std::string acl_password{};
};

class RedisServer {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";

  explicit RedisServer(RedisServerOptions options = {})
      : options_(std::move(options)), dir_("/tmp/lagpilot-redis-") {
    if (access(kBinary, X_OK) != 0) {
      throw std::runtime_error(std::string(kBinary) +
                               " not found: install Debian's redis-server (scripts/install-deps)");
    }
    // The port is picked free and released before Redis binds it: retry on the rare race.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      start_process();
      if (wait_ready()) return;
      stop_process();
    }
    throw std::runtime_error("redis-server did not become ready; log:\n" + log());
  }
  ~RedisServer() { stop_process(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return read_text_file(dir_ / "redis.log"); }
  // A client with admin rights (the default user, with the password when there is one).
  RedisConnection client() const { return RedisConnection(port_, "", options_.password); }

  // Freezes / thaws the server (a server that accepts connections and answers nothing).
  void pause() {
    // kill() returns before the process stops: wait until /proc says it has (state T), so that no
    // request sent after pause() is answered.
    if (!stop_and_wait_until_stopped(pid_, std::chrono::seconds(10))) {
      throw std::runtime_error("redis-server did not stop on SIGSTOP");
    }
  }
  void resume() { ::kill(pid_, SIGCONT); }
  // Kills the server now (SIGKILL to its pid): data is lost (no persistence).
  void kill() { stop_process(); }
  // Starts it again on the same port, empty.
  void restart() {
    stop_process();
    start_process();
    if (!wait_ready()) throw std::runtime_error("redis-server did not restart; log:\n" + log());
  }

 private:
  void start_process() {
    std::vector<std::string> args = {kBinary,
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir_.path().string(),
                                     "--daemonize",
                                     "no",
                                     "--loglevel",
                                     "warning"};
    if (!options_.password.empty()) {
      args.insert(args.end(), {"--requirepass", options_.password});
    }
    if (!options_.acl_user.empty()) {
      args.insert(args.end(), {"--user", options_.acl_user, "on", ">" + options_.acl_password, "~*",
                               "&*", "+@all"});
    }
    pid_ = spawn_server_process(std::move(args), (dir_ / "redis.log").string());
  }

  // Polls PING until it answers (or the process exits), with a deadline.
  bool wait_ready() {
    return wait_until_ready(pid_, std::chrono::seconds(20), std::chrono::milliseconds(20), [this] {
      try {
        RedisConnection probe = client();
        return probe.command({"PING"}).text == "PONG";
      } catch (const std::exception&) {
        return false;
      }
    });
  }

  void stop_process() { kill_and_reap(pid_); }

  RedisServerOptions options_;
  TemporaryDirectory dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace lagpilot::testkit
