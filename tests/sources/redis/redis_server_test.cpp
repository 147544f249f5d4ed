// The Redis Streams source against Debian's real redis-server (7.0), started per test on a free
// loopback port. Backlogs are made by a real producer (XADD with explicit IDs, so that times are
// exact) and real consumers (XREADGROUP + XACK).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "alerts/group_progress.h"
#include "sources/redis/redis_client.h"
#include "sources/redis/redis_source.h"
#include "tests/sources/redis/redis_fixture.h"

namespace lagpilot {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testkit::RedisServer;

// 2027-01-15: explicit IDs near it are "times" to the source.
const WallTime kStart{seconds(1'800'000'000)};

uint64_t ms_of(WallTime t) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count());
}

json spec_for(const RedisServer& redis, const std::string& stream = "orders",
              const std::string& group = "workers") {
  return {{"address", redis.address()}, {"stream", stream}, {"consumerGroup", group}};
}

std::unique_ptr<QueueSource> make_source(RedisStreamsSourceKind& kind, const json& spec,
                                         const SourceCredentials& credentials = {}) {
  auto source = kind.create(spec, credentials);
  EXPECT_TRUE(source.ok()) << source.error().message;
  return source.ok() ? std::move(source).value() : nullptr;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

TEST(RedisStreamsSource, DepthLagSecondsConsumersAndRatesOfAKnownBacklog) {
  RedisServer redis;
  auto admin = redis.client();
  FakeClock clock(kStart);
  RedisStreamsSourceKind kind({}, clock);
  const uint64_t t0 = ms_of(kStart);
  // 100 entries, 100 ms apart, the first 60 s old.
  auto first = admin.produce("orders", 100, t0 - 60'000, 100);
  admin.ok({"XGROUP", "CREATE", "orders", "workers", "0"});
  auto source = make_source(kind, spec_for(redis));
  ASSERT_NE(source, nullptr);

  auto poll1 = source->poll(clock.now());
  ASSERT_TRUE(poll1.ok()) << poll1.error().message;
  EXPECT_EQ(poll1->consumer_lag, 100);
  EXPECT_EQ(poll1->queue_depth, 100);
  ASSERT_TRUE(poll1->lag_seconds.has_value());
  EXPECT_DOUBLE_EQ(*poll1->lag_seconds, 60.0);
  EXPECT_EQ(poll1->lag_seconds_method, "stream-id");
  EXPECT_EQ(poll1->consumers, 0);
  EXPECT_FALSE(poll1->ingress_rate.has_value()) << "no rate from one poll";
  EXPECT_FALSE(poll1->egress_rate.has_value());
  EXPECT_FALSE(poll1->max_useful_consumers.has_value());
  EXPECT_EQ(poll1->partitions, 0);

  // Two consumers take 30 and 10; the first acknowledges 20 of its 30.
  auto taken1 = admin.consume("orders", "workers", "c1", 30);
  ASSERT_EQ(taken1.size(), 30u);
  auto taken2 = admin.consume("orders", "workers", "c2", 10);
  ASSERT_EQ(taken2.size(), 10u);
  EXPECT_EQ(admin.ack("orders", "workers", {taken1.begin(), taken1.begin() + 20}), 20);
  clock.advance(seconds(10));
  auto poll2 = source->poll(clock.now());
  ASSERT_TRUE(poll2.ok()) << poll2.error().message;
  EXPECT_EQ(poll2->consumer_lag, 60 + 20) << "60 undelivered + 20 pending";
  EXPECT_EQ(poll2->queue_depth, 80);
  // The oldest pending entry is the 21st: 60 s - 2 s old at the first poll, 10 s ago.
  EXPECT_DOUBLE_EQ(poll2->lag_seconds.value_or(-1), 68.0);
  EXPECT_EQ(poll2->consumers, 2);
  ASSERT_TRUE(poll2->progress_position.has_value());
  EXPECT_EQ(*poll2->progress_position, 20) << "entries-read 40 - pending 20";
  EXPECT_DOUBLE_EQ(poll2->ingress_rate.value_or(-1), 0.0);

  // 50 more arrive; the consumers take 40 more and acknowledge everything they hold.
  admin.produce("orders", 50, t0, 100);
  auto taken3 = admin.consume("orders", "workers", "c1", 40);
  ASSERT_EQ(taken3.size(), 40u);
  std::vector<std::string> held(taken1.begin() + 20, taken1.end());
  held.insert(held.end(), taken2.begin(), taken2.end());
  held.insert(held.end(), taken3.begin(), taken3.end());
  EXPECT_EQ(admin.ack("orders", "workers", held), 60);
  clock.advance(seconds(10));
  auto poll3 = source->poll(clock.now());
  ASSERT_TRUE(poll3.ok()) << poll3.error().message;
  EXPECT_EQ(poll3->consumer_lag, 150 - 80);
  // The next undelivered entry is the 81st of the first batch: 60 - 8 + 20 s old.
  EXPECT_DOUBLE_EQ(poll3->lag_seconds.value_or(-1), 72.0);
  EXPECT_DOUBLE_EQ(poll3->ingress_rate.value_or(-1), 5.0) << "50 entries in 10 s";
  EXPECT_DOUBLE_EQ(poll3->egress_rate.value_or(-1), 6.0) << "60 acknowledged in 10 s";
  EXPECT_EQ(poll3->progress_position, 80);

  // Drained: no lag, 0 seconds.
  auto rest = admin.consume("orders", "workers", "c2", 1000);
  ASSERT_EQ(rest.size(), 70u);
  admin.ack("orders", "workers", rest);
  clock.advance(seconds(5));
  auto poll4 = source->poll(clock.now());
  ASSERT_TRUE(poll4.ok()) << poll4.error().message;
  EXPECT_EQ(poll4->consumer_lag, 0);
  EXPECT_DOUBLE_EQ(poll4->lag_seconds.value_or(-1), 0.0);
  EXPECT_DOUBLE_EQ(poll4->egress_rate.value_or(-1), 14.0);
}

TEST(RedisStreamsSource, RealTimeIdsGiveTheAgeOfTheOldestEntry) {
  RedisServer redis;
  auto admin = redis.client();
  RedisStreamsSourceKind kind;  // the system clock: IDs are Redis's own time
  admin.ok({"XGROUP", "CREATE", "orders", "workers", "$", "MKSTREAM"});
  const auto before = std::chrono::system_clock::now();
  for (int i = 0; i < 3; ++i) admin.ok({"XADD", "orders", "*", "n", std::to_string(i)});
  auto source = make_source(kind, spec_for(redis));
  const auto now = std::chrono::system_clock::now() + seconds(2);
  auto snapshot = source->poll(now);
  ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
  EXPECT_EQ(snapshot->consumer_lag, 3);
  ASSERT_TRUE(snapshot->lag_seconds.has_value());
  const double upper = std::chrono::duration<double>(now - before).count();
  EXPECT_GE(*snapshot->lag_seconds, 2.0 - 0.01);
  EXPECT_LE(*snapshot->lag_seconds, upper + 0.01);
}

TEST(RedisStreamsSource, NilLagIsCountedNeverMadeUp) {
  RedisServer redis;
  auto admin = redis.client();
  FakeClock clock(kStart);
  const uint64_t t0 = ms_of(kStart);

  // A group created at $ that has not read since entries came: Redis gives no lag.
  admin.produce("fresh", 3, t0 - 20'000, 1);
  admin.ok({"XGROUP", "CREATE", "fresh", "workers", "$"});
  admin.produce("fresh", 5, t0 - 10'000, 1000);
  RedisStreamsSourceKind kind({}, clock);
  auto fresh = make_source(kind, spec_for(redis, "fresh"));
  auto counted = fresh->poll(clock.now());
  ASSERT_TRUE(counted.ok()) << counted.error().message;
  EXPECT_EQ(counted->consumer_lag, 5);
  EXPECT_EQ(counted->lag_seconds_method, "stream-id+counted-lag");
  EXPECT_DOUBLE_EQ(counted->lag_seconds.value_or(-1), 10.0);
  EXPECT_FALSE(counted->progress_position.has_value()) << "entries-read is nil";

  // XDEL of an entry the group has not read: Redis gives no lag either.
  auto ids = admin.produce("orders", 10, t0 - 30'000, 1000);
  admin.ok({"XGROUP", "CREATE", "orders", "workers", "0"});
  ASSERT_EQ(admin.consume("orders", "workers", "c1", 2).size(), 2u);
  admin.ok({"XDEL", "orders", ids[5]});
  auto groups = admin.ok({"XINFO", "GROUPS", "orders"});
  ASSERT_EQ(groups.elements.size(), 1u);
  ASSERT_EQ(groups.elements[0].elements[10].text, "lag");
  EXPECT_EQ(groups.elements[0].elements[11].type, testkit::RedisValue::Type::kNil)
      << "Redis 7.0 reports lag nil after XDEL of an undelivered entry";
  auto deleted = make_source(kind, spec_for(redis));
  auto after_xdel = deleted->poll(clock.now());
  ASSERT_TRUE(after_xdel.ok()) << after_xdel.error().message;
  EXPECT_EQ(after_xdel->consumer_lag, 7 + 2) << "7 undelivered + 2 pending";
  EXPECT_DOUBLE_EQ(after_xdel->lag_seconds.value_or(-1), 30.0) << "the oldest pending";

  // Over the count limit forward, the entries up to last-delivered-id are counted instead.
  RedisStreamsSourceKind small({.lag_count_limit = 3}, clock);
  auto backward = make_source(small, spec_for(redis));
  auto from_start = backward->poll(clock.now());
  ASSERT_TRUE(from_start.ok()) << from_start.error().message;
  EXPECT_EQ(from_start->consumer_lag, 9);
  // Over the limit on both sides: an error, not a number.
  RedisStreamsSourceKind tiny({.lag_count_limit = 1}, clock);
  auto unknown = make_source(tiny, spec_for(redis))->poll(clock.now());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "LagUnknown");
  EXPECT_NE(unknown.error().message.find("redis " + redis.address()), std::string::npos);
}

TEST(RedisStreamsSource, MissingStreamGroupOrWrongKeyTypeAreClearErrors) {
  RedisServer redis;
  auto admin = redis.client();
  RedisStreamsSourceKind kind;
  auto no_stream = make_source(kind, spec_for(redis, "nope"))->poll(kind.clock().now());
  ASSERT_FALSE(no_stream.ok());
  EXPECT_EQ(no_stream.error().code, "StreamNotFound");
  EXPECT_EQ(no_stream.error().message,
            "redis " + redis.address() + ": stream nope does not exist (db 0)");

  admin.ok({"XADD", "orders", "*", "n", "1"});
  auto no_group = make_source(kind, spec_for(redis, "orders", "ghosts"))->poll(kind.clock().now());
  ASSERT_FALSE(no_group.ok());
  EXPECT_EQ(no_group.error().code, "GroupNotFound");
  EXPECT_EQ(no_group.error().message,
            "redis " + redis.address() + ": consumer group ghosts does not exist on stream orders");

  admin.ok({"SET", "plain", "x"});
  auto wrong_type = make_source(kind, spec_for(redis, "plain"))->poll(kind.clock().now());
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.error().message,
            "redis " + redis.address() + ": key plain is not a stream (WRONGTYPE)");

  // The wrong database: db 1 has no such stream.
  json db1 = spec_for(redis);
  db1["db"] = 1;
  auto other_db = make_source(kind, db1)->poll(kind.clock().now());
  ASSERT_FALSE(other_db.ok());
  EXPECT_EQ(other_db.error().message,
            "redis " + redis.address() + ": stream orders does not exist (db 1)");
}

TEST(RedisStreamsSource, PasswordsAndAclUsers) {
  RedisServer redis(
      {.password = "default-secret-pw", .acl_user = "app", .acl_password = "app-secret-pw"});
  auto admin = redis.client();
  admin.ok({"XGROUP", "CREATE", "orders", "workers", "$", "MKSTREAM"});
  admin.ok({"XADD", "orders", "*", "n", "1"});
  RedisStreamsSourceKind kind;
  const json spec = spec_for(redis);

  auto anonymous = make_source(kind, spec)->poll(kind.clock().now());
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.error().code, "SourceAccessDenied");
  EXPECT_NE(anonymous.error().message.find("redis " + redis.address()), std::string::npos);
  EXPECT_NE(anonymous.error().message.find("NOAUTH"), std::string::npos)
      << anonymous.error().message;

  auto wrong =
      make_source(kind, spec, {{"password", "not-the-password"}})->poll(kind.clock().now());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "SourceAccessDenied");
  EXPECT_EQ(wrong.error().message,
            "redis " + redis.address() +
                ": authentication failed: WRONGPASS invalid username-password pair or user is "
                "disabled. (check the password in spec.source.redisStreams.authSecretRef)");
  EXPECT_EQ(wrong.error().message.find("not-the-password"), std::string::npos);

  auto right =
      make_source(kind, spec, {{"password", "default-secret-pw"}})->poll(kind.clock().now());
  ASSERT_TRUE(right.ok()) << right.error().message;
  EXPECT_EQ(right->consumer_lag, 1);

  auto user = make_source(kind, spec, {{"username", "app"}, {"password", "app-secret-pw"}})
                  ->poll(kind.clock().now());
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ(user->consumer_lag, 1);
  auto wrong_user =
      make_source(kind, spec, {{"username", "app"}, {"password", "default-secret-pw"}})
          ->poll(kind.clock().now());
  ASSERT_FALSE(wrong_user.ok());
  EXPECT_EQ(wrong_user.error().code, "SourceAccessDenied");
  EXPECT_NE(wrong_user.error().message.find("as user app"), std::string::npos);
  EXPECT_EQ(wrong_user.error().message.find("default-secret-pw"), std::string::npos);
}

TEST(RedisStreamsSource, SourcesOfOneServerShareOneConnection) {
  RedisServer redis;
  auto admin = redis.client();
  for (const char* stream : {"orders", "payments"}) {
    admin.ok({"XGROUP", "CREATE", stream, "workers", "$", "MKSTREAM"});
  }
  RedisStreamsSourceKind kind;
  auto orders = make_source(kind, spec_for(redis, "orders"));
  auto payments = make_source(kind, spec_for(redis, "payments"));
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(orders->poll(kind.clock().now()).ok());
    ASSERT_TRUE(payments->poll(kind.clock().now()).ok());
  }
  EXPECT_EQ(admin.clients_named("lagpilot"), 1);
  EXPECT_EQ(kind.clients().size(), 1u);

  // Requests per poll, counted by the server: XINFO STREAM + XINFO GROUPS + XPENDING in one
  // pipeline, and one XRANGE only for a stream with undelivered entries.
  admin.ok({"XADD", "orders", "*", "n", "1"});
  admin.ok({"CONFIG", "RESETSTAT"});
  for (int round = 0; round < 4; ++round) {
    ASSERT_TRUE(orders->poll(kind.clock().now()).ok());
    ASSERT_TRUE(payments->poll(kind.clock().now()).ok());
  }
  const std::string stats = admin.ok({"INFO", "commandstats"}).text;
  auto calls = [&](const std::string& command) {
    const auto at = stats.find("cmdstat_" + command + ":calls=");
    if (at == std::string::npos) return 0L;
    return std::stol(stats.substr(at + command.size() + 15));
  };
  EXPECT_EQ(calls("xinfo|stream"), 8);
  EXPECT_EQ(calls("xinfo|groups"), 8);
  EXPECT_EQ(calls("xpending"), 8);
  EXPECT_EQ(calls("xrange"), 4) << "only orders has an undelivered entry";
  EXPECT_EQ(&static_cast<RedisStreamsSource&>(*orders).client(),
            &static_cast<RedisStreamsSource&>(*payments).client());

  // Another database is another connection.
  json db1 = spec_for(redis, "orders");
  db1["db"] = 1;
  auto other = make_source(kind, db1);
  EXPECT_FALSE(other->poll(kind.clock().now()).ok());  // no stream in db 1
  EXPECT_EQ(admin.clients_named("lagpilot"), 2);
  EXPECT_EQ(kind.clients().size(), 2u);

  // The last source of a connection closes it.
  orders.reset();
  payments.reset();
  other.reset();
  EXPECT_EQ(kind.clients().size(), 0u);
  EXPECT_EQ(kind.live_sources(), 0);
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (admin.clients_named("lagpilot") > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));  // waiting for the server to see the close
  }
  EXPECT_EQ(admin.clients_named("lagpilot"), 0);
}

TEST(RedisStreamsSource, ADownServerFailsFastAndRecovers) {
  RedisServer redis;
  {
    auto admin = redis.client();
    for (const char* stream : {"orders", "payments"}) {
      admin.ok({"XGROUP", "CREATE", stream, "workers", "$", "MKSTREAM"});
      admin.ok({"XADD", stream, "*", "n", "1"});
    }
  }
  SystemClock clock;
  RedisStreamsSourceKind kind({.poll_timeout = seconds(1)}, clock);
  auto orders = make_source(kind, spec_for(redis, "orders"));
  auto payments = make_source(kind, spec_for(redis, "payments"));
  ASSERT_TRUE(orders->poll(clock.now()).ok());
  ASSERT_TRUE(payments->poll(clock.now()).ok());

  // A frozen server: the first poll waits for the poll timeout, no longer.
  redis.pause();
  auto started = std::chrono::steady_clock::now();
  auto frozen = orders->poll(clock.now());
  const double waited = elapsed_ms(started);
  ASSERT_FALSE(frozen.ok());
  EXPECT_EQ(frozen.error().code, "SourceUnreachable");
  EXPECT_EQ(frozen.error().message,
            "redis " + redis.address() + ": no answer within the poll timeout");
  EXPECT_GE(waited, 900);
  EXPECT_LT(waited, 2500);
  // Killed while a poll waits on it (the probe), then the other monitor fails at once.
  auto in_flight = std::async(std::launch::async, [&] { return orders->poll(clock.now()); });
  redis.kill();
  started = std::chrono::steady_clock::now();
  auto killed = in_flight.get();
  EXPECT_LT(elapsed_ms(started), 1500);
  ASSERT_FALSE(killed.ok());
  EXPECT_EQ(killed.error().code, "SourceUnreachable");
  started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    auto fast = payments->poll(clock.now());
    ASSERT_FALSE(fast.ok());
    EXPECT_EQ(fast.error().code, "SourceUnreachable");
    EXPECT_NE(fast.error().message.find("redis " + redis.address()), std::string::npos);
  }
  EXPECT_LT(elapsed_ms(started), 1000) << "five polls of a down server";

  // Back (empty: no persistence). The first poll reconnects; the stream is gone, then refilled.
  redis.restart();
  auto empty = orders->poll(clock.now());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "StreamNotFound");
  auto admin = redis.client();
  admin.ok({"XGROUP", "CREATE", "payments", "workers", "0", "MKSTREAM"});
  for (int i = 0; i < 4; ++i) admin.ok({"XADD", "payments", "*", "n", "1"});
  auto recovered = payments->poll(clock.now());
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->consumer_lag, 4);
  EXPECT_EQ(admin.clients_named("lagpilot"), 1);
  EXPECT_GE(static_cast<RedisStreamsSource&>(*payments).client().connects(), 2);
}

// A loopback server of another kind: answers whatever it is sent with an HTTP 400, as a web
// server on the configured port would.
class HttpLikeServer {
 public:
  HttpLikeServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      while (true) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;  // closed
        char buffer[512];
        if (::recv(client, buffer, sizeof(buffer), 0) > 0) {
          const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
          ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
        }
        ::close(client);
      }
    });
  }
  ~HttpLikeServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(RedisStreamsSource, AConnectionTheServerClosedIsOpenedAgainInTheSamePoll) {
  RedisServer redis;
  auto admin = redis.client();
  admin.ok({"XGROUP", "CREATE", "orders", "workers", "$", "MKSTREAM"});
  admin.ok({"XADD", "orders", "*", "n", "1"});
  RedisStreamsSourceKind kind;
  auto source = make_source(kind, spec_for(redis));
  const auto& client = static_cast<RedisStreamsSource&>(*source).client();
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(source->poll(kind.clock().now()).ok());
    // As Redis's idle `timeout` would: the server closes lagpilot's connection between polls.
    EXPECT_EQ(admin.ok({"CLIENT", "KILL", "USER", "default", "SKIPME", "yes"}).integer, 1);
  }
  auto after = source->poll(kind.clock().now());
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->consumer_lag, 1);
  EXPECT_EQ(client.connects(), 4);
}

TEST(RedisStreamsSource, AServerOfAnotherKindIsAClearErrorNotAHang) {
  HttpLikeServer http;
  RedisStreamsSourceKind kind;
  auto source = make_source(
      kind, {{"address", http.address()}, {"stream", "orders"}, {"consumerGroup", "workers"}});
  const auto started = std::chrono::steady_clock::now();
  auto polled = source->poll(kind.clock().now());
  EXPECT_LT(elapsed_ms(started), 2000);
  ASSERT_FALSE(polled.ok());
  EXPECT_EQ(polled.error().code, "SourceError");
  EXPECT_NE(polled.error().message.find("redis " + http.address()), std::string::npos);
  EXPECT_NE(polled.error().message.find("is this a Redis server?"), std::string::npos)
      << polled.error().message;
}

TEST(RedisStreamsSource, ProgressShowsStallsAndRewinds) {
  RedisServer redis;
  auto admin = redis.client();
  FakeClock clock(kStart);
  RedisStreamsSourceKind kind({}, clock);
  admin.produce("orders", 100, ms_of(kStart) - 100'000, 10);
  admin.ok({"XGROUP", "CREATE", "orders", "workers", "0"});
  auto source = make_source(kind, spec_for(redis));
  alerts::GroupProgressTracker tracker;
  auto observe = [&](const QueueSnapshot& s) {
    return tracker.observe(
        {s.time, s.progress_position, s.egress_rate, static_cast<double>(s.consumer_lag),
         s.consumers ? std::optional<double>(*s.consumers) : std::nullopt, 1.0, s.ingress_rate});
  };
  // Consumers read and acknowledge 30, then hold 10 without acknowledging: no progress.
  admin.ack("orders", "workers", admin.consume("orders", "workers", "c1", 30));
  admin.consume("orders", "workers", "c1", 10);
  for (int i = 0; i < 5; ++i) {
    auto snapshot = source->poll(clock.now());
    ASSERT_TRUE(snapshot.ok()) << snapshot.error().message;
    EXPECT_EQ(snapshot->progress_position, 30);
    observe(*snapshot);
    clock.advance(seconds(60));
  }
  EXPECT_TRUE(tracker.current().stalled) << "lag 70, consumers present, nothing acknowledged";

  // XGROUP SETID back to the start: progress moves back, a rewind.
  admin.ok({"XGROUP", "SETID", "orders", "workers", "0", "ENTRIESREAD", "0"});
  auto rewound = source->poll(clock.now());
  ASSERT_TRUE(rewound.ok()) << rewound.error().message;
  EXPECT_EQ(rewound->progress_position, 0 - 10) << "entries-read 0 - 10 still pending";
  EXPECT_TRUE(observe(*rewound).rewinding);
  EXPECT_EQ(tracker.current().last_rewind_messages, 40);
}

}  // namespace
}  // namespace lagpilot
