// spec.source.redisStreams parsing, credentials and registration: no server needed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sources/builtin_sources.h"
#include "sources/redis/redis_client.h"
#include "sources/redis/redis_source.h"

namespace lagpilot {
namespace {

using nlohmann::json;

json valid_spec() {
  return {{"address", "redis.queues:6379"}, {"stream", "orders"}, {"consumerGroup", "workers"}};
}

std::string spec_error(const json& spec) {
  auto parsed = RedisStreamsSpec::parse(spec);
  if (parsed.ok()) return "ok";
  EXPECT_EQ(parsed.error().code, "InvalidSpec");
  return parsed.error().message;
}

TEST(RedisStreamsSpec, ParsesEveryField) {
  json spec = valid_spec();
  spec["db"] = 3;
  spec["authSecretRef"] = {{"name", "redis-auth"}};
  spec["tls"] = {{"enabled", false}};
  auto parsed = RedisStreamsSpec::parse(spec);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->host, "redis.queues");
  EXPECT_EQ(parsed->port, 6379);
  EXPECT_EQ(parsed->stream, "orders");
  EXPECT_EQ(parsed->consumer_group, "workers");
  EXPECT_EQ(parsed->db, 3);
  EXPECT_EQ(parsed->auth_secret, "redis-auth");

  json v6 = valid_spec();
  v6["address"] = "[::1]:7000";
  auto ipv6 = RedisStreamsSpec::parse(v6);
  ASSERT_TRUE(ipv6.ok()) << ipv6.error().message;
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->port, 7000);
  EXPECT_EQ(RedisStreamsSpec::parse(valid_spec())->db, 0);
}

TEST(RedisStreamsSpec, ErrorsNameTheField) {
  for (const char* field : {"address", "stream", "consumerGroup"}) {
    json missing = valid_spec();
    missing.erase(field);
    EXPECT_EQ(spec_error(missing), std::string("spec.source.redisStreams.") + field + ": required");
    json empty = valid_spec();
    empty[field] = "";
    EXPECT_EQ(spec_error(empty), std::string("spec.source.redisStreams.") + field + ": required");
    json wrong_type = valid_spec();
    wrong_type[field] = 6379;
    EXPECT_EQ(spec_error(wrong_type),
              std::string("spec.source.redisStreams.") + field + ": must be a string");
  }
  for (const char* address : {"redis", "redis:", ":6379", "redis:0", "redis:65536", "redis:63x9",
                              "a:b:6379", "[::1]6379"}) {
    json bad = valid_spec();
    bad["address"] = address;
    EXPECT_EQ(spec_error(bad).rfind("spec.source.redisStreams.address: ", 0), 0u) << address;
    EXPECT_NE(spec_error(bad).find(address), std::string::npos) << spec_error(bad);
  }
  json scheme = valid_spec();
  scheme["address"] = "redis://redis:6379";
  EXPECT_EQ(spec_error(scheme),
            "spec.source.redisStreams.address: must be host:port (no scheme), not "
            "\"redis://redis:6379\"");
  for (const json& db : {json(-1), json(1.5), json("0")}) {
    json bad = valid_spec();
    bad["db"] = db;
    EXPECT_EQ(spec_error(bad), "spec.source.redisStreams.db: must be an integer >= 0") << db;
  }
  json ref = valid_spec();
  ref["authSecretRef"] = json::object();
  EXPECT_EQ(spec_error(ref), "spec.source.redisStreams.authSecretRef.name: required");
  EXPECT_EQ(spec_error(json::array()), "spec.source.redisStreams: must be an object");
}

TEST(RedisStreamsSpec, TlsIsRefusedWithTheReason) {
  json tls = valid_spec();
  tls["tls"] = {{"enabled", true}};
  const std::string error = spec_error(tls);
  EXPECT_EQ(error.rfind("spec.source.redisStreams.tls.enabled: TLS is not supported", 0), 0u)
      << error;
  EXPECT_NE(error.find("hiredis 0.14.1"), std::string::npos) << error;
  json rediss = valid_spec();
  rediss["address"] = "rediss://redis:6380";
  EXPECT_EQ(spec_error(rediss).rfind("spec.source.redisStreams.address: TLS is not supported", 0),
            0u);
  json type = valid_spec();
  type["tls"] = {{"enabled", "yes"}};
  EXPECT_EQ(spec_error(type), "spec.source.redisStreams.tls.enabled: must be a boolean");
}

TEST(RedisConnectionSettings, ReadsPasswordAndUserAndNamesKeysNeverValues) {
  auto none = RedisConnectionSettings::from("r", 6379, 0, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->password.empty());
  auto user =
      RedisConnectionSettings::from("r", 6379, 2, {{"username", "app"}, {"password", "pw"}});
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->username, "app");
  EXPECT_EQ(user->password, "pw");
  EXPECT_EQ(user->describe(), "r:6379 db=2 user=app");

  auto missing = RedisConnectionSettings::from("r", 6379, 0, {{"username", "app-secret-user"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "InvalidCredentials");
  EXPECT_EQ(missing.error().message,
            "spec.source.redisStreams.authSecretRef: Secret key password: missing or empty");
  auto ca = RedisConnectionSettings::from("r", 6379, 0, {{"password", "pw"}, {"ca.crt", "PEM"}});
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().message.find("Secret key ca.crt: TLS is not supported"), std::string::npos);
  auto multiline = RedisConnectionSettings::from("r", 6379, 0, {{"password", "p\nw"}});
  ASSERT_FALSE(multiline.ok());
  EXPECT_EQ(multiline.error().message.find("p\nw"), std::string::npos);
}

TEST(RedisStreamsKind, IsRegisteredChecksItsMemberAndNamesItsSecret) {
  SourceRegistry registry = builtin_sources();
  json bad = valid_spec();
  bad.erase("stream");
  auto selected = registry.select_source(json{{"redisStreams", bad}});
  ASSERT_TRUE(selected.ok()) << selected.error().message;
  EXPECT_EQ(selected->spec_path, "spec.source.redisStreams");
  auto checked = selected->kind->check(selected->spec);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message, "spec.source.redisStreams.stream: required");

  json with_secret = valid_spec();
  with_secret["authSecretRef"] = {{"name", "redis-auth"}};
  auto good = selected->kind->check(with_secret);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_EQ(good->labels, (std::map<std::string, std::string>{{"stream", "orders"}}));
  ASSERT_TRUE(good->credentials.has_value());
  EXPECT_EQ(good->credentials->name, "redis-auth");
  EXPECT_EQ(good->credentials->field, "spec.source.redisStreams.authSecretRef");
  ASSERT_EQ(good->credentials->destinations.size(), 1u);
  EXPECT_EQ(good->credentials->destinations[0].field, "spec.source.redisStreams.address");
  EXPECT_EQ(good->credentials->destinations[0].address, "redis.queues:6379");

  // Creating connects to nothing yet: it never blocks, and deleting brings the count back.
  auto source = selected->kind->create(with_secret, {{"password", "pw"}});
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->describe(),
            "redisStreams stream=orders group=workers address=redis.queues:6379 db=0");
  EXPECT_EQ(selected->kind->live_sources(), 1);
  source->reset();
  EXPECT_EQ(selected->kind->live_sources(), 0);
  auto no_password = selected->kind->create(with_secret, {{"username", "app"}});
  ASSERT_FALSE(no_password.ok());
  EXPECT_EQ(no_password.error().code, "InvalidCredentials");
}

TEST(StreamId, ParsesAndOrders) {
  EXPECT_EQ(StreamId::parse("1700000000000-3"), (StreamId{1700000000000ULL, 3}));
  EXPECT_EQ(StreamId::parse("5"), (StreamId{5, 0}));
  EXPECT_FALSE(StreamId::parse("").has_value());
  EXPECT_FALSE(StreamId::parse("12-").has_value());
  EXPECT_FALSE(StreamId::parse("x-1").has_value());
  EXPECT_LT((StreamId{1, 9}), (StreamId{2, 0}));
  EXPECT_EQ((StreamId{7, 1}).to_string(), "7-1");
}

}  // namespace
}  // namespace lagpilot
